package relay_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/chain/regtest"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/store"
	"github.com/ferry-relay/ferry/torproxy"
)

// rejectingNode is a real node whose first broadcasts are refused, as a
// node refuses a transaction under a fee spike: the seam where a failing
// network is simulated.
type rejectingNode struct {
	*chain.Node
	rejections atomic.Int64
}

func (n *rejectingNode) SendRawTransaction(ctx context.Context, raw []byte) (chain.Hash, error) {
	if n.rejections.Add(-1) >= 0 {
		return chain.Hash{}, &chain.RPCError{Method: "sendrawtransaction", Code: -26, Message: "mempool min fee not met, 100 < 141"}
	}
	return n.Node.SendRawTransaction(ctx, raw)
}

// TestRejectedForwardIsRetried runs the service against a real litecoind
// whose node refuses the first broadcast: the reason is logged and kept in
// the store, and the same forward is broadcast again at the next block.
func TestRejectedForwardIsRetried(t *testing.T) {
	ctx := context.Background()
	l := regtest.NewLitecoind(t)
	db, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	coin, _ := chain.Litecoin(chain.Regtest)
	seed, _ := hex.DecodeString(testSeed)
	keys, _ := chain.NewKeychain(seed, coin.CoinType())
	feeAddr, _ := l.NewAddress(ctx)
	fee, _ := coin.ParseDestination(feeAddr)
	node := &rejectingNode{Node: l.Node}
	node.rejections.Store(1)
	logs := &syncWriter{w: &bytes.Buffer{}}
	cfg := relay.DefaultConfig()
	cfg.Callbacks.Outbound = &torproxy.Dialer{}
	svc, err := relay.New(cfg, db, []relay.Chain{{
		Coin: coin, Node: node, Keys: keys, FeeAddress: fee, MinDeposit: 1_000_000, FallbackFeeRate: 10_000,
	}}, zerolog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	svc.Prepare(ctx) // the first scan's starting point, as ferry sets it before serving
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.Run(rctx) }()
	defer func() { cancel(); <-done }()

	// Mint through the API, pay, confirm.
	srv := newServer(t, svc)
	dest, _ := l.NewAddress(ctx)
	in := mint(t, srv, dest)
	txid, err := l.Pay(ctx, in, 5_000_000)
	if err != nil {
		t.Fatal(err)
	}
	waitHeight(t, l, svc, mineOne(t, l))

	// The first broadcast was refused; the reason is in the store.
	var vout uint32
	tx, _ := l.Tx(ctx, txid)
	for _, o := range tx.Vout {
		if o.ScriptPubKey.AddressText() == in {
			vout = o.N
		}
	}
	op := store.OutPoint{TxID: txid, Vout: vout}
	var f *store.Forward
	waitUntil(t, "a forward attempt", func() bool { f, _ = db.Forward("ltc", op); return f != nil && f.Attempts > 0 })
	if f.Accepted || f.LastError != "mempool min fee not met, 100 < 141" {
		t.Fatalf("after the refusal: accepted=%v, last error %q", f.Accepted, f.LastError)
	}
	if pool, _ := l.Mempool(ctx); len(pool) != 0 {
		t.Fatalf("mempool holds %d transactions after the refusal", len(pool))
	}
	if !logs.Contains("mempool min fee not met") {
		t.Error("the node's reason was not logged")
	}

	// The next block brings the same forward again, and the node takes it.
	waitHeight(t, l, svc, mineOne(t, l))
	waitUntil(t, "the forward accepted", func() bool { f, _ = db.Forward("ltc", op); return f.Accepted })
	if f.Attempts != 2 || f.LastError != "" {
		t.Errorf("after the retry: %d attempts, last error %q", f.Attempts, f.LastError)
	}
	pool, _ := l.Mempool(ctx)
	if len(pool) != 1 || pool[0] != chain.Hash(f.TxID) {
		t.Errorf("mempool %v, want the recorded forward %s", pool, chain.Hash(f.TxID))
	}
}

// syncWriter is a log buffer the service writes and the test reads.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) Contains(sub string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Contains(s.w.Bytes(), []byte(sub))
}

// newServer serves svc's API for the test.
func newServer(t testing.TB, svc *relay.Service) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(srv.Close)
	return srv
}

// mint asks the API for an input address paying to dest, without callback.
func mint(t *testing.T, srv *httptest.Server, dest string) string {
	t.Helper()
	status, _, body := get(t, srv, "/api/receive?method=litecoin&callback_req=0&address="+dest)
	if status != 200 {
		t.Fatalf("receive: %d %s", status, body)
	}
	var r struct {
		InputAddress string `json:"input_address"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	return r.InputAddress
}

func mineOne(t *testing.T, l *regtest.Litecoind) int64 {
	t.Helper()
	if _, err := l.Mine(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	h, err := l.Node.BlockCount(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func waitHeight(t *testing.T, l *regtest.Litecoind, svc *relay.Service, h int64) {
	t.Helper()
	waitUntil(t, "the scanner", func() bool { return svc.Health(context.Background()).Coins[0].ScanHeight >= h })
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
