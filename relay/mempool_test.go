package relay_test

import (
	"context"
	"encoding/binary"
	"runtime"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/relay/relaytest"
	"github.com/ferry-relay/ferry/store"
)

// TestMempoolCostFollowsChanges watches a node whose mempool holds 600,000
// transactions, into which 1,000 more come, three paying input addresses.
// The watcher takes in the 1,000 as they come, keeps the three, and each
// recheck asks the node about those three only: nothing it does grows with
// the 600,000.
func TestMempoolCostFollowsChanges(t *testing.T) {
	node := relaytest.NewNode(t, 1)
	// The mempool already there: 600,000 transactions.
	for i := range 600_000 {
		var h ferry.Hash
		binary.BigEndian.PutUint64(h[:], uint64(i)+1)
		node.SetConfirmations(ferry.OutPoint{Hash: h}, 0)
	}
	ltc, _ := chain.Litecoin(chain.Regtest)
	db := relaytest.OpenStore(t)
	watch := store.NewWatchSet()
	clk := relaytest.Clock()
	minter, err := relay.NewMinter(ltc, relaytest.Keys(t, ltc), db, watch, clk)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := ltc.ParseDestination(dest)
	var ours [][]byte
	for range 3 {
		a, err := minter.Mint(d, "", false)
		if err != nil {
			t.Fatal(err)
		}
		ours = append(ours, chain.P2WPKHScript(a.Program))
	}
	w := relay.NewMempoolWatcher(relay.MempoolWatcherConfig{Coin: ltc, Source: node, Store: db, Watch: watch, Clock: clk,
		Recheck: 10 * time.Second, Reconnect: time.Second, Log: zerolog.Nop()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var paying []ferry.OutPoint
	for i := range 1000 {
		var id ferry.Hash
		binary.BigEndian.PutUint64(id[8:], uint64(i)+1)
		tx := &chain.Tx{ID: id, Outputs: []chain.Output{{Value: 1000, Script: append([]byte{0x00, 0x14}, id[:20]...)}}}
		if i%300 == 7 && len(paying) < 3 {
			tx.Outputs = append(tx.Outputs, chain.Output{Value: 2_000_000, Script: ours[len(paying)]})
			paying = append(paying, ferry.OutPoint{Hash: id, Index: 1})
		}
		node.Announce(tx)
	}
	relaytest.WaitFor(t, "the three deposits", func() bool { return w.Len() == 3 })
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 1<<20 {
		t.Errorf("the watcher's heap grew %d bytes for 1,000 transactions", grown)
	}

	// Each recheck asks about the three deposits, and only them.
	for round := int64(1); round <= 5; round++ {
		if !clk.BlockUntil(1, relaytest.Timeout) {
			t.Fatal("the watcher does not wait for its recheck")
		}
		clk.Advance(10 * time.Second)
		if !clk.BlockUntil(1, relaytest.Timeout) {
			t.Fatal("the recheck does not end")
		}
		if got := node.TxOuts(); got != 3*round {
			t.Fatalf("%d outputs asked about after %d rechecks of 3 deposits", got, round)
		}
	}
	// One is mined, one replaced: the next recheck drops them.
	node.SetConfirmations(paying[0], 1)
	node.SetConfirmations(paying[1], -1)
	clk.Advance(10 * time.Second)
	if !clk.BlockUntil(1, relaytest.Timeout) {
		t.Fatal("the recheck does not end")
	}
	if w.Len() != 1 {
		t.Errorf("%d mempool deposits after one was mined and one replaced", w.Len())
	}
	if n := node.Calls(); n != 0 {
		t.Errorf("the watcher made %d block or broadcast calls", n)
	}
}
