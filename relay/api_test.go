package relay_test

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/store"
	"github.com/ferry-relay/ferry/torproxy"
	"github.com/ferry-relay/ferry/torproxy/dnstest"
)

var _ relay.Node = (*chain.Node)(nil)

// downNode is a node that cannot be reached: the seam where the API is
// tested without a chain.
type downNode struct{}

var errDown = errors.New("connection refused")

func (downNode) BlockCount(context.Context) (int64, error)            { return 0, errDown }
func (downNode) BestBlockHash(context.Context) (chain.Hash, error)    { return chain.Hash{}, errDown }
func (downNode) BlockHash(context.Context, int64) (chain.Hash, error) { return chain.Hash{}, errDown }
func (downNode) RawBlock(context.Context, chain.Hash) ([]byte, error) { return nil, errDown }
func (downNode) WaitForNewBlock(context.Context, time.Duration) error { return errDown }
func (downNode) SendRawTransaction(context.Context, []byte) (chain.Hash, error) {
	return chain.Hash{}, errDown
}
func (downNode) EstimateFeeRate(context.Context, int) (int64, error)        { return 0, errDown }
func (downNode) MinFeeRate(context.Context) (int64, error)                  { return 0, errDown }
func (downNode) RawMempool(context.Context) ([]chain.Hash, error)           { return nil, errDown }
func (downNode) RawTransaction(context.Context, chain.Hash) ([]byte, error) { return nil, errDown }

const testSeed = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

// newAPI returns a test server for a Litecoin regtest service over a fresh
// store, and the store.
func newAPI(t *testing.T) (*httptest.Server, *store.DB) {
	t.Helper()
	dns := dnstest.NewServer(t)
	dns.Set("shop.example", netip.MustParseAddr("93.184.216.34")) // never dialed here
	cfg := relay.DefaultConfig()
	cfg.Callbacks.Outbound = &torproxy.Dialer{Resolver: dns.Resolver()}
	return newAPIWith(t, cfg)
}

// newAPIWith is newAPI with cfg.
func newAPIWith(t testing.TB, cfg relay.Config) (*httptest.Server, *store.DB) {
	t.Helper()
	db := openScanning(t, "ltc")
	coin, _ := chain.Litecoin(chain.Regtest)
	seed, _ := hex.DecodeString(testSeed)
	keys, err := chain.NewKeychain(seed, coin.CoinType())
	if err != nil {
		t.Fatal(err)
	}
	fee, _ := coin.ParseDestination("rltc1qqypqxpq9qcrsszg2pvxq6rs0zqg3yyc5l62ze4")
	svc, err := relay.New(cfg, db, []relay.Chain{{
		Coin: coin, Node: downNode{}, Keys: keys, FeeAddress: fee, MinDeposit: 1_000_000, FallbackFeeRate: 10_000,
	}}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return newServer(t, svc), db
}

func get(t *testing.T, srv *httptest.Server, path string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

const dest = "rltc1qjmxnz78nmc8nq77wuxh25n2es7rzm5c23g5xdr"

func TestReceive(t *testing.T) {
	srv, db := newAPI(t)
	cb := "http://shop.example/callback.php?call=123&secret=NTIz"
	status, ctype, body := get(t, srv, "/api/receive?method=litecoin&address="+dest+"&callback="+url.QueryEscape(cb))
	if status != 200 || ctype != "application/json" {
		t.Fatalf("status %d %s: %s", status, ctype, body)
	}
	// The input address is m/84'/2'/0'/0/0 of the seed, as litecoind's
	// deriveaddresses computes it.
	want := `{"callback_url":"http://shop.example/callback.php?call=123&secret=NTIz",` +
		`"input_address":"rltc1qk8hjy3lf245r7ppr2lfy8zxn8nwrmuas7tq53e",` +
		`"destination":"` + dest + `","fee_percent":"0.01","callback_req":"1"}` + "\n"
	if body != want {
		t.Fatalf("body\n%s\nwant\n%s", body, want)
	}
	a, err := db.Address("ltc", 0)
	if err != nil || a.Address != "rltc1qk8hjy3lf245r7ppr2lfy8zxn8nwrmuas7tq53e" || a.Callback != cb || !a.CallbackReq || a.Destination != dest {
		t.Fatalf("stored %+v, %v", a, err)
	}

	// The next address is the next index; callback_req=0 needs no callback.
	status, _, body = get(t, srv, "/api/receive?method=litecoin&address="+dest+"&callback_req=0")
	if status != 200 || !strings.Contains(body, `"callback_url":""`) || !strings.Contains(body, `"callback_req":"0"`) {
		t.Fatalf("status %d: %s", status, body)
	}
	if n, _ := db.NextIndex("ltc"); n != 2 {
		t.Errorf("NextIndex = %d, want 2", n)
	}
}

func TestReceiveErrors(t *testing.T) {
	srv, db := newAPI(t)
	_, _, first := get(t, srv, "/api/receive?method=litecoin&callback_req=0&address="+dest)
	own := strings.Split(strings.Split(first, `"input_address":"`)[1], `"`)[0]
	cb := url.QueryEscape("https://shop.example/cb")

	tests := []struct {
		name  string
		query string
		msg   string
	}{
		{"no method", "address=" + dest + "&callback=" + cb, "method is required"},
		{"unknown method", "method=dogecoin&address=" + dest + "&callback=" + cb, "unknown method"},
		{"bitcoin off", "method=bitcoin&address=" + dest + "&callback=" + cb, "bitcoin is not enabled"},
		{"no address", "method=litecoin&callback=" + cb, "address is required"},
		{"bad checksum", "method=litecoin&address=rltc1qjmxnz78nmc8nq77wuxh25n2es7rzm5c23g5xdq&callback=" + cb, "malformed address"},
		{"mainnet address", "method=litecoin&address=ltc1qjmxnz78nmc8nq77wuxh25n2es7rzm5c2rkk4wh&callback=" + cb, "litecoin mainnet"},
		{"bitcoin address", "method=litecoin&address=bcrt1q6rz28mcfaxtmd6v789l9rrlrusdprr9pz3cppk&callback=" + cb, "bitcoin regtest"},
		{"mweb address", "method=litecoin&address=tmweb1qqdcmlu2x80xe2j3cramk8aa4pdk5agg89ktda6s8l7r0vfsr45d4qq42zqzhm3ftdegnpqa5zkssrk87wzhcr5syyhejdx9yddjl90eepv2vshd8&callback=" + cb, "MWEB"},
		{"own input address", "method=litecoin&address=" + own + "&callback=" + cb, "own input addresses"},
		{"no callback", "method=litecoin&address=" + dest, "callback is required"},
		{"callback too long", "method=litecoin&address=" + dest + "&callback=" + url.QueryEscape("https://shop.example/"+strings.Repeat("a", 240)), "at most 255"},
		{"callback scheme", "method=litecoin&address=" + dest + "&callback=" + url.QueryEscape("ftp://shop.example/"), "http or https"},
		{"callback without host", "method=litecoin&address=" + dest + "&callback=" + url.QueryEscape("http:///x"), "no host"},
		{"onion callback without Tor", "method=litecoin&address=" + dest + "&callback=" + url.QueryEscape("http://5jfgyy7ctrjavpxvkb5rglwf7gkuo5vox27hxescd3vgsfcg2iwfmxqd.onion/cb"), "needs Tor (--tor-socks)"},
		{"bad callback_req", "method=litecoin&address=" + dest + "&callback=" + cb + "&callback_req=2", "callback_req must be 0 or 1"},
		{"repeated address", "method=litecoin&address=" + dest + "&address=" + dest + "&callback=" + cb, "more than once"},
		{"bad escape", "method=litecoin&address=%zz&callback=" + cb, "malformed query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, ctype, body := get(t, srv, "/api/receive?"+tt.query)
			if status != 500 || !strings.HasPrefix(ctype, "text/plain") {
				t.Errorf("status %d %s", status, ctype)
			}
			if !strings.HasPrefix(body, "Error Generating Receiving Address: ") || !strings.Contains(body, tt.msg) {
				t.Errorf("body %q, want the prefix and %q", body, tt.msg)
			}
		})
	}
	// None of them handed out an address.
	if n, _ := db.NextIndex("ltc"); n != 1 {
		t.Errorf("NextIndex = %d after refused requests, want 1", n)
	}
}

func TestHealthzNodeDown(t *testing.T) {
	srv, _ := newAPI(t)
	status, _, body := get(t, srv, "/healthz")
	if status != http.StatusServiceUnavailable || !strings.Contains(body, `"node_ok":false`) {
		t.Errorf("healthz with the node down: %d %s", status, body)
	}
}

func TestCheckErrors(t *testing.T) {
	srv, _ := newAPI(t)
	_, _, body := get(t, srv, "/api/receive?method=litecoin&callback_req=0&address="+dest)
	in := strings.Split(strings.Split(body, `"input_address":"`)[1], `"`)[0]
	tests := []struct {
		query  string
		status int
		msg    string
	}{
		{"method=dogecoin&address=" + in, 400, "unknown method"},
		{"method=bitcoin&address=" + in, 503, "bitcoin is not enabled"},
		{"method=litecoin&address=nope", 400, "invalid address"},
		{"method=litecoin&address=ltc1qjmxnz78nmc8nq77wuxh25n2es7rzm5c2rkk4wh", 400, "litecoin mainnet"},
		{"method=litecoin&address=" + dest, 404, "not an input address"},
		{"method=litecoin&address=QLhKCGi5ZvnS9amYgdA353vzbdbWYBoxD8", 404, "not an input address"},
		{"method=litecoin&address=" + in + "&address=" + in, 400, "more than once"},
	}
	for _, tt := range tests {
		status, ctype, body := get(t, srv, "/api/check?"+tt.query)
		if status != tt.status || ctype != "application/json" || !strings.Contains(body, tt.msg) {
			t.Errorf("%s: %d %s %s", tt.query, status, ctype, body)
		}
	}
	status, _, body := get(t, srv, "/api/check?method=litecoin&address="+in)
	if status != 200 || !strings.Contains(body, `"status":"waiting"`) || !strings.Contains(body, `"deposits":[]`) {
		t.Errorf("fresh address: %d %s", status, body)
	}
}

// TestTwoCoins serves Litecoin and Bitcoin from one service: each method
// takes its own coin's addresses only, and input addresses come from each
// coin's own derivation path.
func TestTwoCoins(t *testing.T) {
	db := openScanning(t, "ltc", "btc")
	seed, _ := hex.DecodeString(testSeed)
	var chains []relay.Chain
	for _, mk := range []func(chain.Network) (*chain.Coin, error){chain.Litecoin, chain.Bitcoin} {
		coin, _ := mk(chain.Regtest)
		keys, _ := chain.NewKeychain(seed, coin.CoinType())
		fee, err := coin.ParseDestination(map[string]string{"ltc": "rltc1qqypqxpq9qcrsszg2pvxq6rs0zqg3yyc5l62ze4", "btc": "bcrt1qqypqxpq9qcrsszg2pvxq6rs0zqg3yyc5phstwt"}[coin.Ticker()])
		if err != nil {
			t.Fatal(err)
		}
		chains = append(chains, relay.Chain{Coin: coin, Node: downNode{}, Keys: keys, FeeAddress: fee, MinDeposit: 100_000, FallbackFeeRate: 10_000})
	}
	cfg := relay.DefaultConfig()
	cfg.Callbacks.Outbound = &torproxy.Dialer{}
	svc, err := relay.New(cfg, db, chains, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, svc)

	const ltcDest, btcDest = "rltc1qjmxnz78nmc8nq77wuxh25n2es7rzm5c23g5xdr", "bcrt1q6rz28mcfaxtmd6v789l9rrlrusdprr9pz3cppk"
	tests := []struct {
		method, address, want string
	}{
		// m/84'/2'/0'/0/0 and m/84'/1'/0'/0/0 of the seed.
		{"litecoin", ltcDest, `"input_address":"rltc1qk8hjy3lf245r7ppr2lfy8zxn8nwrmuas7tq53e"`},
		{"bitcoin", btcDest, `"input_address":"bcrt1q`},
		{"bitcoin", ltcDest, "this is a litecoin regtest address, not bitcoin regtest"},
		{"litecoin", btcDest, "this is a bitcoin regtest address, not litecoin regtest"},
		{"bitcoin", "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu", "this is a bitcoin mainnet address, not bitcoin regtest"},
		{"bitcoin", "tmweb1qqdcmlu2x80xe2j3cramk8aa4pdk5agg89ktda6s8l7r0vfsr45d4qq42zqzhm3ftdegnpqa5zkssrk87wzhcr5syyhejdx9yddjl90eepv2vshd8", "malformed address"},
	}
	for _, tt := range tests {
		_, _, body := get(t, srv, "/api/receive?callback_req=0&method="+tt.method+"&address="+tt.address)
		if !strings.Contains(body, tt.want) {
			t.Errorf("%s %s: %s, want %q", tt.method, tt.address, body, tt.want)
		}
	}
	_, _, body := get(t, srv, "/healthz")
	if !strings.Contains(body, `"coin":"litecoin"`) || !strings.Contains(body, `"coin":"bitcoin"`) {
		t.Errorf("healthz: %s", body)
	}
}

// openScanning opens a store in which the coins' scans have started, as if
// their nodes had been reached: the API hands out addresses only then.
func openScanning(tb testing.TB, tickers ...string) *store.DB {
	tb.Helper()
	db, err := store.Open(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	for _, tk := range tickers {
		if err := db.Start(tk, 100, [32]byte{1}, [32]byte{2}); err != nil {
			tb.Fatal(err)
		}
	}
	return db
}

// TestReceiveBeforeFirstScan refuses addresses while a coin's node has
// never been reached: a payment to one could land in a block before the
// first scan's starting point.
func TestReceiveBeforeFirstScan(t *testing.T) {
	db, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	coin, _ := chain.Litecoin(chain.Regtest)
	seed, _ := hex.DecodeString(testSeed)
	keys, _ := chain.NewKeychain(seed, coin.CoinType())
	fee, _ := coin.ParseDestination(dest)
	cfg := relay.DefaultConfig()
	cfg.Callbacks.Outbound = &torproxy.Dialer{}
	svc, err := relay.New(cfg, db, []relay.Chain{{Coin: coin, Node: downNode{}, Keys: keys, FeeAddress: fee, MinDeposit: 1, FallbackFeeRate: 1000}}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, svc)
	status, _, body := get(t, srv, "/api/receive?method=litecoin&callback_req=0&address="+dest)
	if status != 500 || !strings.Contains(body, "litecoin is starting") {
		t.Errorf("before the first scan: %d %s", status, body)
	}
	if n, _ := db.NextIndex("ltc"); n != 0 {
		t.Errorf("%d addresses handed out", n)
	}
}
