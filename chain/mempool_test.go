package chain_test

import (
	"context"
	"testing"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/chain/regtest"
)

// TestMempoolWatch watches real nodes' mempools over their peer-to-peer
// ports: a payment is announced as it enters, and gettxout follows its
// output from the mempool (0 confirmations) into a block (1).
func TestMempoolWatch(t *testing.T) {
	type node interface {
		NewAddress(ctx context.Context) (string, error)
		Pay(ctx context.Context, addr string, sat int64) (ferry.Hash, error)
		Mine(ctx context.Context, n int) ([]ferry.Hash, error)
		NodeClient() *chain.Node
	}
	for _, tc := range []struct {
		name  string
		start func(t *testing.T) (node, string, *chain.Coin)
	}{
		{"litecoin", func(t *testing.T) (node, string, *chain.Coin) {
			l := regtest.NewLitecoind(t)
			c, _ := chain.Litecoin(chain.Regtest)
			return l, l.P2PAddr, c
		}},
		{"bitcoin", func(t *testing.T) (node, string, *chain.Coin) {
			b := regtest.NewBtcd(t)
			c, _ := chain.Bitcoin(chain.Regtest)
			return b, b.P2PAddr, c
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n, addr, coin := tc.start(t)
			m := &chain.Mempool{Coin: coin, Node: n.NodeClient(), Addr: addr}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			seen := make(chan *chain.Tx, 16)
			done := make(chan error, 1)
			go func() { done <- m.WatchMempool(ctx, func(tx *chain.Tx) { seen <- tx }) }()

			to, err := n.NewAddress(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// Pay until the watcher is connected and sees a payment: the
			// first may come before its handshake.
			var txid ferry.Hash
			var tx *chain.Tx
			for tx == nil {
				if txid, err = n.Pay(ctx, to, 1_000_000); err != nil {
					t.Fatal(err)
				}
				select {
				case tx = <-seen:
				case err := <-done:
					t.Fatalf("watcher ended: %v", err)
				case <-time.After(5 * time.Second):
				case <-ctx.Done():
					t.Fatal("no transaction announced")
				}
			}
			for tx.ID != txid {
				select {
				case tx = <-seen:
				case <-ctx.Done():
					t.Fatalf("payment %s never announced", txid)
				}
			}
			var op ferry.OutPoint
			for i := range tx.Outputs {
				op = ferry.OutPoint{Hash: txid, Index: uint32(i)}
				if confs, found, err := m.TxOut(ctx, op); err != nil || !found || confs != 0 {
					t.Fatalf("gettxout of %s in the mempool: %d, %v, %v", op, confs, found, err)
				}
			}
			if _, err := n.Mine(ctx, 1); err != nil {
				t.Fatal(err)
			}
			if confs, found, err := m.TxOut(ctx, op); err != nil || !found || confs != 1 {
				t.Errorf("gettxout of %s after a block: %d, %v, %v", op, confs, found, err)
			}
			if _, found, err := m.TxOut(ctx, ferry.OutPoint{Hash: txid, Index: 99}); err != nil || found {
				t.Errorf("gettxout of an output that does not exist: %v, %v", found, err)
			}
			cancel()
			<-done
		})
	}
}
