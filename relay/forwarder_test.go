package relay_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/relay/relaytest"
	"github.com/ferry-relay/ferry/store"
)

const dest = "rltc1qjmxnz78nmc8nq77wuxh25n2es7rzm5c23g5xdr"

// mintAndPay mints an input address paying to dest and mines a block on
// node paying it value; it returns the deposit.
func mintAndPay(t *testing.T, env *relaytest.Env, node *relaytest.Node, value int64) ferry.OutPoint {
	t.Helper()
	a, err := env.Engine.Mint(context.Background(), relay.MintRequest{Coin: "ltc", Destination: dest})
	if err != nil {
		t.Fatal(err)
	}
	txid := node.Mine(t, chain.Output{Value: value, Script: chain.P2WPKHScript(a.Program)})
	return ferry.OutPoint{Hash: txid, Index: 0}
}

// TestForwarderRetriesOnItsClock: a forward whose broadcast cannot reach
// the node is tried again after 1 s, then 2 s, then 4 s of the engine's
// clock, not at the next block, and is the same transaction each time.
func TestForwarderRetriesOnItsClock(t *testing.T) {
	node := relaytest.NewNode(t, 100)
	node.FailBroadcasts(3, errors.New("connection refused"))
	env, clk := engineOnClock(t, node, func(c *relay.Config) { c.PollInterval = 100 * time.Millisecond })
	relaytest.WaitFor(t, "the first start", func() bool { return scanHeight(env) == 100 })
	clk.idle(t)
	op := mintAndPay(t, env, node, 5_000_000)

	attempts := func() int64 {
		f, err := env.Store.Forward("ltc", op)
		if errors.Is(err, store.ErrNotFound) {
			return 0
		}
		if err != nil {
			t.Fatal(err)
		}
		return f.Attempts
	}
	// The block is seen at the next poll; its deposit's forward is
	// signed and its broadcast fails.
	clk.Advance(100 * time.Millisecond)
	clk.idle(t)
	if attempts() != 1 {
		t.Fatalf("%d attempts after the deposit's block", attempts())
	}
	f, _ := env.Store.Forward("ltc", op)
	txid := f.TxID
	for i, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		for elapsed := time.Duration(0); elapsed < wait-100*time.Millisecond; elapsed += 100 * time.Millisecond {
			clk.Advance(100 * time.Millisecond)
			clk.idle(t)
			if a := attempts(); a != int64(i+1) {
				t.Fatalf("attempt %d came %v into a wait of %v", a, elapsed+100*time.Millisecond, wait)
			}
		}
		clk.Advance(100 * time.Millisecond)
		clk.idle(t)
		if a := attempts(); a != int64(i+2) {
			t.Fatalf("%d attempts after a wait of %v, want %d", a, wait, i+2)
		}
	}
	f, _ = env.Store.Forward("ltc", op)
	if !f.Accepted || f.TxID != txid || len(node.Sent()) != 1 {
		t.Errorf("after the retries: accepted %v, txid %s (first %s), %d sent", f.Accepted, f.TxID, txid, len(node.Sent()))
	}
}

// TestForwardRejectionWaitsForABlock: a node's rejection of a forward (a
// reason, not an outage) is retried at the next block only.
func TestForwardRejectionWaitsForABlock(t *testing.T) {
	node := relaytest.NewNode(t, 100)
	node.FailBroadcasts(1, &chain.RPCError{Method: "sendrawtransaction", Code: -26, Message: "mempool min fee not met, 100 < 141"})
	env, clk := engineOnClock(t, node, nil)
	relaytest.WaitFor(t, "the first start", func() bool { return scanHeight(env) == 100 })
	clk.idle(t)
	op := mintAndPay(t, env, node, 5_000_000)
	clk.Advance(time.Second)
	clk.idle(t)
	for range 30 { // a minute of the clock, no block
		clk.Advance(2 * time.Second)
		clk.idle(t)
	}
	f, err := env.Store.Forward("ltc", op)
	if err != nil || f.Attempts != 1 || f.Accepted || f.LastError != "mempool min fee not met, 100 < 141" {
		t.Fatalf("before the next block: %+v, %v", f, err)
	}
	node.Mine(t)
	clk.Advance(time.Second)
	clk.idle(t)
	if f, _ = env.Store.Forward("ltc", op); f.Attempts != 2 || !f.Accepted {
		t.Errorf("after the next block: %d attempts, accepted %v", f.Attempts, f.Accepted)
	}
}
