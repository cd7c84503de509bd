package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/ferry-relay/ferry/api"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/relay/relaytest"
	"github.com/ferry-relay/ferry/store"
	"github.com/ferry-relay/ferry/torproxy"
	"github.com/ferry-relay/ferry/torproxy/dnstest"
)

// newAPI returns a test server for a Litecoin regtest engine whose node is
// down, over a fresh store in which the scan has started; and the store.
func newAPI(t *testing.T) (*httptest.Server, *store.DB) {
	t.Helper()
	dns := dnstest.NewServer(t)
	dns.Set("shop.example", netip.MustParseAddr("93.184.216.34")) // never dialed here
	return newAPIWith(t, api.DefaultConfig(), &torproxy.Dialer{Resolver: dns.Resolver()})
}

// newAPIWith is newAPI with cfg and hosts.
func newAPIWith(t testing.TB, cfg api.Config, hosts relay.HostChecker) (*httptest.Server, *store.DB) {
	t.Helper()
	env := relaytest.NewEngine(t, relaytest.Options{Hosts: hosts, Started: true, Down: true})
	return newServer(t, api.New(cfg, env.Engine, nil)), env.Store
}

// newServer serves s's API for the test.
func newServer(t testing.TB, s *api.Server) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv
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

// TestReceiveErrors asks /api/receive every wrong thing, in both dialects:
// the seed's methods answer 500 text/plain beginning "Error Generating
// Receiving Address", the later ones JSON with status "error" and a message.
// No refused request hands out an address.
func TestReceiveErrors(t *testing.T) {
	srv, db := newAPI(t)
	_, _, first := get(t, srv, "/api/receive?method=litecoin&callback_req=0&address="+dest)
	own := strings.Split(strings.Split(first, `"input_address":"`)[1], `"`)[0]
	cb := url.QueryEscape("https://shop.example/cb")

	// {M} is the method: litecoin in the seed dialect, ltc in the later.
	tests := []struct {
		name  string
		query string
		msg   string
		// only limits a case to one dialect ("seed", "later").
		only string
	}{
		{"no method", "address=" + dest + "&callback=" + cb, "method is required", "seed"},
		{"unknown method", "method=dogecoin&address=" + dest + "&callback=" + cb, "unknown method", "seed"},
		{"bitcoin off", "method=bitcoin&address=" + dest + "&callback=" + cb, "bitcoin is not enabled", "seed"},
		{"btc off", "method=btc&address=" + dest + "&callback=" + cb, "bitcoin is not enabled", "later"},
		{"zcash", "method=zec&address=" + dest + "&callback=" + cb, "method zec is not supported", "later"},
		{"bitcoin cash", "method=bch&address=" + dest, "method bch is not supported", "later"},
		{"monero", "method=xmr&address=" + dest, "method xmr is not supported", "later"},
		{"no address", "method={M}&callback=" + cb, "address is required", ""},
		{"bad checksum", "method={M}&address=rltc1qjmxnz78nmc8nq77wuxh25n2es7rzm5c23g5xdq&callback=" + cb, "malformed address", ""},
		{"mainnet address", "method={M}&address=ltc1qjmxnz78nmc8nq77wuxh25n2es7rzm5c2rkk4wh&callback=" + cb, "litecoin mainnet", ""},
		{"bitcoin address", "method={M}&address=bcrt1q6rz28mcfaxtmd6v789l9rrlrusdprr9pz3cppk&callback=" + cb, "bitcoin regtest", ""},
		{"mweb address", "method={M}&address=tmweb1qqdcmlu2x80xe2j3cramk8aa4pdk5agg89ktda6s8l7r0vfsr45d4qq42zqzhm3ftdegnpqa5zkssrk87wzhcr5syyhejdx9yddjl90eepv2vshd8&callback=" + cb, "MWEB", ""},
		{"own input address", "method={M}&address=" + own + "&callback=" + cb, "own input addresses", ""},
		{"no callback", "method={M}&address=" + dest, "callback is required", "seed"},
		{"callback_req=1 without callback", "method={M}&address=" + dest + "&callback_req=1", "callback is required", ""},
		{"callback too long", "method={M}&address=" + dest + "&callback=" + url.QueryEscape("https://shop.example/"+strings.Repeat("a", 240)), "at most 255", ""},
		{"callback too long, encoded twice", "method={M}&address=" + dest + "&callback=" + url.QueryEscape(url.QueryEscape("https://shop.example/"+strings.Repeat("a", 240))), "at most 255", ""},
		{"callback scheme", "method={M}&address=" + dest + "&callback=" + url.QueryEscape("ftp://shop.example/"), "http or https", ""},
		{"callback without host", "method={M}&address=" + dest + "&callback=" + url.QueryEscape("http:///x"), "no host", ""},
		{"loopback callback, encoded twice", "method={M}&address=" + dest + "&callback=" + url.QueryEscape(url.QueryEscape("http://127.0.0.1/cb?id=7")), "callback host refused", ""},
		{"broken second encoding", "method={M}&address=" + dest + "&callback=" + url.QueryEscape("http%3A%2F%2Fshop.example%2F%zz"), "callback URL", ""},
		{"onion callback without Tor", "method={M}&address=" + dest + "&callback=" + url.QueryEscape("http://5jfgyy7ctrjavpxvkb5rglwf7gkuo5vox27hxescd3vgsfcg2iwfmxqd.onion/cb"), "needs Tor (--tor-socks)", ""},
		{"bad callback_req", "method={M}&address=" + dest + "&callback=" + cb + "&callback_req=2", "callback_req must be 0 or 1", ""},
		{"repeated address", "method={M}&address=" + dest + "&address=" + dest + "&callback=" + cb, "more than once", ""},
		{"bad escape", "method={M}&address=%zz&callback=" + cb, "malformed query", "seed"},
	}
	for _, tt := range tests {
		for _, d := range []struct{ name, method string }{{"seed", "litecoin"}, {"later", "ltc"}} {
			if tt.only != "" && tt.only != d.name {
				continue
			}
			t.Run(d.name+"/"+tt.name, func(t *testing.T) {
				status, ctype, body := get(t, srv, "/api/receive?"+strings.ReplaceAll(tt.query, "{M}", d.method))
				if d.name == "seed" {
					if status != 500 || !strings.HasPrefix(ctype, "text/plain") {
						t.Errorf("status %d %s", status, ctype)
					}
					if !strings.HasPrefix(body, "Error Generating Receiving Address: ") || !strings.Contains(body, tt.msg) {
						t.Errorf("body %q, want the prefix and %q", body, tt.msg)
					}
					return
				}
				var e struct{ Status, Message string }
				if err := json.Unmarshal([]byte(body), &e); err != nil || ctype != "application/json" {
					t.Fatalf("%s body %q: %v", ctype, body, err)
				}
				if e.Status != "error" || !strings.Contains(e.Message, tt.msg) || status < 400 {
					t.Errorf("%d %+v, want status error and %q", status, e, tt.msg)
				}
			})
		}
	}
	// None of them handed out an address.
	if n, _ := db.NextIndex("ltc"); n != 1 {
		t.Errorf("NextIndex = %d after refused requests, want 1", n)
	}
}

// TestReceiveLater mints in LitePay's later dialect: status, address and
// fee besides the seed's fields; no callback without one; a callback URL
// encoded twice, as LitePay's PHP class sends it, decoded once more.
func TestReceiveLater(t *testing.T) {
	srv, db := newAPI(t)
	const cbURL = "https://shop.example/cb.php?id=7&secret=s&note=a%26b"
	tests := []struct {
		name, query     string
		callback, cbReq string
	}{
		{"callback encoded once", "callback=" + url.QueryEscape(cbURL), cbURL, "1"},
		{"callback encoded twice", "callback=" + url.QueryEscape(url.QueryEscape(cbURL)), cbURL, "1"},
		{"encoded twice, lower-case escapes", "callback=" + url.QueryEscape(strings.ToLower(url.QueryEscape(cbURL)[:14])+url.QueryEscape(cbURL)[14:]), cbURL, "1"},
		{"no callback", "", "", "0"},
		{"empty callback", "callback=", "", "0"},
		{"callback_req=0 keeps the URL", "callback_req=0&callback=" + url.QueryEscape(url.QueryEscape(cbURL)), cbURL, "0"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, ctype, body := get(t, srv, "/api/receive?method=ltc&address="+dest+"&"+tt.query)
			if status != 200 || ctype != "application/json" {
				t.Fatalf("%d %s: %s", status, ctype, body)
			}
			var r struct {
				Status       string      `json:"status"`
				Address      string      `json:"address"`
				InputAddress string      `json:"input_address"`
				Fee          json.Number `json:"fee"`
				FeePercent   string      `json:"fee_percent"`
				CallbackURL  string      `json:"callback_url"`
				CallbackReq  string      `json:"callback_req"`
				Destination  string      `json:"destination"`
			}
			if err := json.Unmarshal([]byte(body), &r); err != nil {
				t.Fatal(err)
			}
			if r.Status != "success" || r.Address == "" || r.Address != r.InputAddress || r.Fee != "1" || r.FeePercent != "0.01" ||
				r.CallbackURL != tt.callback || r.CallbackReq != tt.cbReq || r.Destination != dest {
				t.Errorf("reply %s", body)
			}
			a, err := db.Address("ltc", uint32(i))
			if err != nil || a.Address != r.Address || a.Callback != tt.callback || a.CallbackReq != (tt.cbReq == "1") {
				t.Errorf("stored %+v, %v", a, err)
			}
		})
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

	// The later dialect: the same errors as status "error" with a message.
	later := []struct{ query, msg string }{
		{"method=zec&address=" + in, "not supported"},
		{"method=btc&address=" + in, "bitcoin is not enabled"},
		{"method=ltc&address=nope", "invalid address"},
		{"method=ltc&address=" + dest, "not an input address"},
		{"method=ltc&address=" + in + "&address=" + in, "more than once"},
		{"method=ltc", "invalid address"},
	}
	for _, tt := range later {
		status, _, body := get(t, srv, "/api/check?"+tt.query)
		var e struct{ Status, Message string }
		if err := json.Unmarshal([]byte(body), &e); err != nil || e.Status != "error" || !strings.Contains(e.Message, tt.msg) || status < 400 {
			t.Errorf("%s: %d %s, want status error and %q", tt.query, status, body, tt.msg)
		}
	}
	want := `{"status":"success","address":"` + in + `","amount":"0","confirmations":0,"txids":[]}` + "\n"
	if status, _, body := get(t, srv, "/api/check?method=ltc&address="+in); status != 200 || body != want {
		t.Errorf("fresh address, later dialect: %d %s, want %s", status, body, want)
	}
}

// TestTwoCoins serves Litecoin and Bitcoin from one service: each method
// takes its own coin's addresses only, and input addresses come from each
// coin's own derivation path.
func TestTwoCoins(t *testing.T) {
	env := relaytest.NewEngine(t, relaytest.Options{Coins: []string{"ltc", "btc"}, Hosts: &torproxy.Dialer{}, Started: true, Down: true})
	srv := newServer(t, api.New(api.DefaultConfig(), env.Engine, nil))

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

// TestReceiveBeforeFirstScan refuses addresses while a coin's node has
// never been reached: a payment to one could land in a block before the
// first scan's starting point.
func TestReceiveBeforeFirstScan(t *testing.T) {
	env := relaytest.NewEngine(t, relaytest.Options{Hosts: &torproxy.Dialer{}, Down: true})
	db := env.Store
	srv := newServer(t, api.New(api.DefaultConfig(), env.Engine, nil))
	status, _, body := get(t, srv, "/api/receive?method=litecoin&callback_req=0&address="+dest)
	if status != 500 || !strings.Contains(body, "litecoin is starting") {
		t.Errorf("before the first scan: %d %s", status, body)
	}
	if n, _ := db.NextIndex("ltc"); n != 0 {
		t.Errorf("%d addresses handed out", n)
	}
}
