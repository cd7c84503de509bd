package relay_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/relay/relaytest"
	"github.com/ferry-relay/ferry/store"
)

// TestSyncNodeBehind: a node that falls behind the scanner on the same
// chain (reindexing, restored, still syncing) is waited for; only a block
// that differs from the recorded one at the node's height is a reorg.
func TestSyncNodeBehind(t *testing.T) {
	node := relaytest.NewNode(t, 10)
	db := relaytest.OpenStore(t)
	ltc, _ := chain.Litecoin(chain.Regtest)
	if err := db.Start("ltc", []store.BlockRef{{Height: 0, Hash: node.Hash(0)}}); err != nil {
		t.Fatal(err)
	}
	s, err := relay.NewScanner(relay.ScannerConfig{Coin: ltc, Blocks: node, Store: db, Watch: store.NewWatchSet(),
		Clock: relaytest.Clock(), PollInterval: time.Second, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cur, err := s.Sync(ctx)
	if err != nil || cur.Height != 10 {
		t.Fatalf("sync to 10: %+v, %v", cur, err)
	}

	// Behind on the same chain: no rollback.
	node.SetTip(6)
	if cur, err = s.Sync(ctx); err != nil || cur.Height != 10 || cur.Hash != node.Hash(10) {
		t.Fatalf("node behind: cursor %d, %v", cur.Height, err)
	}
	// Caught up again: nothing to do.
	node.SetTip(10)
	if cur, err = s.Sync(ctx); err != nil || cur.Height != 10 {
		t.Fatalf("node back: cursor %d, %v", cur.Height, err)
	}

	// A real fork below the cursor, shorter than our chain: rolled back to
	// the fork point and rescanned.
	node.Extend(t, 5, 3, 1) // new blocks 6..8, tip 8 < 10
	if cur, err = s.Sync(ctx); err != nil || cur.Height != 8 || cur.Hash != node.Hash(8) {
		t.Fatalf("after a fork: cursor %d %s, want 8 %s, %v", cur.Height, cur.Hash, node.Hash(8), err)
	}
	for h := int64(6); h <= 8; h++ {
		if got, _ := db.BlockHash("ltc", h); got != node.Hash(h) {
			t.Errorf("block %d recorded as %s, the node has %s", h, got, node.Hash(h))
		}
	}
}

// engineOnClock runs a test engine on a test clock over node.
func engineOnClock(t *testing.T, node *relaytest.Node, mod func(*relay.Config)) (*relaytest.Env, *testClock) {
	t.Helper()
	clk := &testClock{relaytest.Clock()}
	cfg := relay.DefaultConfig()
	cfg.Clock = clk.Test
	if mod != nil {
		mod(&cfg)
	}
	env := relaytest.NewEngine(t, relaytest.Options{Config: &cfg, Node: node})
	env.Run(t)
	return env, clk
}

// testClock is a test clock that knows the waits an idle engine keeps on
// it: the scanner's poll and the mempool watcher's recheck.
type testClock struct{ *clock.Test }

// idleWaiters is how many waits an engine of one coin holds on its clock
// when it has nothing to do.
const idleWaiters = 2

// idle waits until the engine waits on the clock and nothing else.
func (c *testClock) idle(t *testing.T) {
	t.Helper()
	if !c.BlockUntil(idleWaiters, relaytest.Timeout) {
		t.Fatalf("the engine never waited on the clock: %d waits", c.Waiters())
	}
}

// scanHeight returns the engine's scan height.
func scanHeight(env *relaytest.Env) int64 {
	return env.Engine.Health(context.Background()).Coins[0].ScanHeight
}

// TestScannerWaitsForANodeBehind: while its node is behind the scan
// cursor, the scanner waits on its clock between polls; it does not spin.
// (A scanner that spins never waits on its clock, and the node's calls
// grow without the clock moving.)
func TestScannerWaitsForANodeBehind(t *testing.T) {
	node := relaytest.NewNode(t, 10)
	env, clk := engineOnClock(t, node, nil)
	relaytest.WaitFor(t, "the scan of block 10", func() bool { return scanHeight(env) == 10 })
	clk.idle(t)

	node.SetTip(6)
	clk.Advance(time.Second)
	clk.idle(t)
	before := node.Calls()
	const polls = 20
	for range polls {
		clk.Advance(relay.DefaultConfig().PollInterval)
		clk.idle(t)
	}
	if calls := node.Calls() - before; calls > polls*4 {
		t.Errorf("%d node calls in %d polls of a node behind", calls, polls)
	}
	if h := scanHeight(env); h != 10 {
		t.Errorf("scan height %d: the scanner went back with its node", h)
	}
}

// TestReorgRightAfterFirstStart reorganizes six blocks right after a first
// start: the blocks below the start point were recorded, so the scanner
// rolls back through them and rescans like after any reorg.
func TestReorgRightAfterFirstStart(t *testing.T) {
	node := relaytest.NewNode(t, 150)
	env, clk := engineOnClock(t, node, nil)
	relaytest.WaitFor(t, "the first start", func() bool { return scanHeight(env) == 150 })
	clk.idle(t)

	node.Extend(t, 144, 7, 1) // blocks 145..151 on another branch
	clk.Advance(time.Second)
	relaytest.WaitFor(t, "the scan of the new branch", func() bool { return scanHeight(env) == 151 })
	if h := env.Engine.Health(context.Background()); !h.OK || h.Coins[0].Halted != "" {
		t.Fatalf("health after the reorg: %+v", h)
	}
	for h := int64(145); h <= 151; h++ {
		if got, _ := env.Store.BlockHash("ltc", h); got != node.Hash(h) {
			t.Errorf("block %d recorded as %s, the node has %s", h, got, node.Hash(h))
		}
	}
}

// switchingNode is a node that switches to another branch of its chain
// the first time it is asked for a given block.
type switchingNode struct {
	*relaytest.Node
	at       ferry.Hash
	once     sync.Once
	onSwitch func()
}

func (n *switchingNode) RawBlock(ctx context.Context, hash ferry.Hash) ([]byte, error) {
	raw, err := n.Node.RawBlock(ctx, hash)
	if hash == n.at {
		n.once.Do(n.onSwitch)
	}
	return raw, err
}

// TestSyncReorgWhileFetchingAhead: the node switches to another branch
// while the scanner is catching up, with blocks of the old branch fetched
// ahead. The scanner ends on the new branch, every block recorded its own.
func TestSyncReorgWhileFetchingAhead(t *testing.T) {
	base := relaytest.NewNode(t, 30)
	node := &switchingNode{Node: base, at: base.Hash(12)}
	node.onSwitch = func() { base.Extend(t, 5, 30, 7) } // blocks 6..35 of another branch
	s, db := scannerFromGenesis(t, base, node)
	cur, err := s.Sync(context.Background())
	if err != nil || cur.Height != 35 || cur.Hash != base.Hash(35) {
		t.Fatalf("sync: cursor %d %s, want 35 %s, %v", cur.Height, cur.Hash, base.Hash(35), err)
	}
	checkRecorded(t, db, base, 35)
}

// slowNode answers each block later the lower its height, so that blocks
// fetched at once arrive out of order; a block at failAt (if set) fails
// once.
type slowNode struct {
	*relaytest.Node
	failAt ferry.Hash
	failed sync.Once
}

func (n *slowNode) RawBlock(ctx context.Context, hash ferry.Hash) ([]byte, error) {
	for h := int64(0); h <= 30; h++ {
		if n.Hash(h) == hash {
			time.Sleep(time.Duration(31-h) * 100 * time.Microsecond)
		}
	}
	fail := false
	if hash == n.failAt {
		n.failed.Do(func() { fail = true })
	}
	if fail {
		return nil, errors.New("node restarting")
	}
	return n.Node.RawBlock(ctx, hash)
}

// TestSyncAppliesInOrder: blocks fetched several at once and answered out
// of order are applied in height order, each recorded its own; a fetch
// that fails stops the sync with its error after the blocks below it, and
// the next sync goes on from there.
func TestSyncAppliesInOrder(t *testing.T) {
	base := relaytest.NewNode(t, 30)
	node := &slowNode{Node: base, failAt: base.Hash(17)}
	s, db := scannerFromGenesis(t, base, node)
	cur, err := s.Sync(context.Background())
	if err == nil || cur.Height != 16 || cur.Hash != base.Hash(16) {
		t.Fatalf("sync with block 17 failing: cursor %d, %v; want 16 and the error", cur.Height, err)
	}
	if cur, err = s.Sync(context.Background()); err != nil || cur.Height != 30 || cur.Hash != base.Hash(30) {
		t.Fatalf("sync: cursor %d %s, want 30 %s, %v", cur.Height, cur.Hash, base.Hash(30), err)
	}
	checkRecorded(t, db, base, 30)
}

// scannerFromGenesis returns a scanner of blocks, a node whose chain is
// base's, over a new store started at base's genesis block.
func scannerFromGenesis(t *testing.T, base *relaytest.Node, blocks relay.BlockSource) (*relay.Scanner, *store.DB) {
	t.Helper()
	db := relaytest.OpenStore(t)
	ltc, _ := chain.Litecoin(chain.Regtest)
	if err := db.Start("ltc", []store.BlockRef{{Height: 0, Hash: base.Hash(0)}}); err != nil {
		t.Fatal(err)
	}
	s, err := relay.NewScanner(relay.ScannerConfig{Coin: ltc, Blocks: blocks, Store: db, Watch: store.NewWatchSet(),
		Clock: relaytest.Clock(), PollInterval: time.Second, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	return s, db
}

// checkRecorded checks that the store holds base's blocks 1 to tip.
func checkRecorded(t *testing.T, db *store.DB, base *relaytest.Node, tip int64) {
	t.Helper()
	for h := int64(1); h <= tip; h++ {
		if got, _ := db.BlockHash("ltc", h); got != base.Hash(h) {
			t.Errorf("block %d recorded as %s, the node has %s", h, got, base.Hash(h))
		}
	}
}
