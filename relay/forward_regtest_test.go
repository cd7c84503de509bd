package relay_test

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/chain/regtest"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/relay/relaytest"
	"github.com/ferry-relay/ferry/store"
)

// rejectingNode is a real node whose first broadcasts are refused, as a
// node refuses a transaction under a fee spike: the seam where a failing
// network is simulated.
type rejectingNode struct {
	relaytest.NodeSource
	rejections atomic.Int64
}

func (n *rejectingNode) SendRawTransaction(ctx context.Context, raw []byte) (ferry.Hash, error) {
	if n.rejections.Add(-1) >= 0 {
		return ferry.Hash{}, &chain.RPCError{Method: "sendrawtransaction", Code: -26, Message: "mempool min fee not met, 100 < 141"}
	}
	return n.NodeSource.SendRawTransaction(ctx, raw)
}

// TestRejectedForwardIsRetried runs the engine against a real litecoind
// whose node refuses the first broadcast: the reason is logged and kept in
// the store, and the same forward is broadcast again at the next block.
func TestRejectedForwardIsRetried(t *testing.T) {
	ctx := context.Background()
	l := regtest.NewLitecoind(t)
	ltc, _ := chain.Litecoin(chain.Regtest)
	node := &rejectingNode{NodeSource: relaytest.RealNode(l.Node, &chain.Mempool{Coin: ltc, Node: l.Node, Addr: l.P2PAddr})}
	node.rejections.Store(1)
	logs := &syncWriter{}
	env := relaytest.NewEngine(t, relaytest.Options{Node: node, Log: zerolog.New(logs)})
	env.Engine.Prepare(ctx) // the first scan's starting point, as ferry sets it before serving
	env.Run(t)

	dest, _ := l.NewAddress(ctx)
	a, err := env.Engine.Mint(ctx, relay.MintRequest{Coin: "ltc", Destination: dest})
	if err != nil {
		t.Fatal(err)
	}
	txid, err := l.Pay(ctx, a.Address, 5_000_000)
	if err != nil {
		t.Fatal(err)
	}
	waitHeight(t, env, mineOne(t, l))

	// The first broadcast was refused; the reason is in the store.
	var vout uint32
	tx, _ := l.Tx(ctx, txid)
	for _, o := range tx.Vout {
		if o.ScriptPubKey.AddressText() == a.Address {
			vout = o.N
		}
	}
	op := ferry.OutPoint{Hash: txid, Index: vout}
	var f *store.Forward
	relaytest.WaitFor(t, "a forward attempt", func() bool { f, _ = env.Store.Forward("ltc", op); return f != nil && f.Attempts > 0 })
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
	waitHeight(t, env, mineOne(t, l))
	relaytest.WaitFor(t, "the forward accepted", func() bool { f, _ = env.Store.Forward("ltc", op); return f.Accepted })
	if f.Attempts != 2 || f.LastError != "" {
		t.Errorf("after the retry: %d attempts, last error %q", f.Attempts, f.LastError)
	}
	pool, _ := l.Mempool(ctx)
	if len(pool) != 1 || pool[0] != f.TxID {
		t.Errorf("mempool %v, want the recorded forward %s", pool, f.TxID)
	}
}

// syncWriter is a log buffer the engine writes and the test reads.
type syncWriter struct {
	mu sync.Mutex
	w  bytes.Buffer
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

func waitHeight(t *testing.T, env *relaytest.Env, h int64) {
	t.Helper()
	relaytest.WaitFor(t, "the scanner", func() bool { return scanHeight(env) >= h })
}
