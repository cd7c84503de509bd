package relay_test

import (
	"context"
	"sync"
	"testing"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/relay/relaytest"
	"github.com/ferry-relay/ferry/store"
)

// checkingNode is a scripted node that checks, at every broadcast, that
// the forward broadcast is already in the store.
type checkingNode struct {
	*relaytest.Node
	coin  *chain.Coin
	store *store.DB
	mu    sync.Mutex
	early []ferry.OutPoint
}

func (n *checkingNode) SendRawTransaction(ctx context.Context, raw []byte) (ferry.Hash, error) {
	tx, err := n.coin.DecodeTx(raw)
	if err != nil {
		return ferry.Hash{}, err
	}
	if f, err := n.store.Forward("ltc", tx.Inputs[0]); err != nil || f.TxID != tx.ID {
		n.mu.Lock()
		n.early = append(n.early, tx.Inputs[0])
		n.mu.Unlock()
	}
	return n.Node.SendRawTransaction(ctx, raw)
}

// TestForwardsManyInOneBlock: 300 deposits confirmed in one block (batches
// of 1, 2, … 128, then 256 at most) are each forwarded once, every forward
// in the store before it is broadcast, its attempt recorded after.
func TestForwardsManyInOneBlock(t *testing.T) {
	ltc, _ := chain.Litecoin(chain.Regtest)
	db := relaytest.OpenStore(t)
	node := &checkingNode{Node: relaytest.NewNode(t, 100), coin: ltc, store: db}
	env := relaytest.NewEngine(t, relaytest.Options{Node: node, Store: db})
	env.Run(t)
	relaytest.WaitFor(t, "the first start", func() bool { return scanHeight(env) == 100 })

	const n = 300
	var outs []chain.Output
	for range n {
		a, err := env.Engine.Mint(context.Background(), relay.MintRequest{Coin: "ltc", Destination: dest})
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, chain.Output{Value: 2_000_000, Script: chain.P2WPKHScript(a.Program)})
	}
	txid := node.Mine(t, outs...)
	relaytest.WaitFor(t, "every forward accepted", func() bool {
		for i := range n {
			f, err := db.Forward("ltc", ferry.OutPoint{Hash: txid, Index: uint32(i)})
			if err != nil || !f.Accepted {
				return false
			}
		}
		return true
	})

	sent := map[ferry.OutPoint]ferry.Hash{}
	for _, raw := range node.Sent() {
		tx, err := ltc.DecodeTx(raw)
		if err != nil {
			t.Fatal(err)
		}
		if prev, ok := sent[tx.Inputs[0]]; ok && prev != tx.ID {
			t.Fatalf("deposit %s forwarded by %s and %s", tx.Inputs[0], prev, tx.ID)
		}
		sent[tx.Inputs[0]] = tx.ID
	}
	if len(sent) != n {
		t.Fatalf("%d deposits forwarded, want %d", len(sent), n)
	}
	for op, id := range sent {
		f, err := db.Forward("ltc", op)
		if err != nil || f.TxID != id || f.Attempts < 1 {
			t.Fatalf("deposit %s: forward %+v, %v; sent %s", op, f, err, id)
		}
	}
	node.mu.Lock()
	defer node.mu.Unlock()
	if len(node.early) > 0 {
		t.Fatalf("%d forwards broadcast before they were recorded, the first of %s", len(node.early), node.early[0])
	}
}
