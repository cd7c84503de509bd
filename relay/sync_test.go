package relay

import (
	"bytes"
	"context"
	"encoding/binary"
	"sync"
	"testing"

	"github.com/ltcsuite/ltcd/chaincfg/chainhash"
	"github.com/ltcsuite/ltcd/wire"

	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/store"
)

// scriptedNode serves a chain of blocks the test writes: a unit test of the
// scanner's sync, standing in for a node's view only; the integration tests
// run the scanner against real nodes.
type scriptedNode struct {
	Node
	mu     sync.Mutex
	blocks [][]byte // by height
	hashes []chain.Hash
	tip    int64
}

// extend appends blocks on top of height from (dropping the ones above it);
// salt makes the new blocks differ from earlier ones at the same heights.
func (n *scriptedNode) extend(t *testing.T, from int64, count int, salt byte) {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	n.blocks, n.hashes = n.blocks[:from+1], n.hashes[:from+1]
	for h := from + 1; h <= from+int64(count); h++ {
		prev := chainhash.Hash(n.hashes[h-1])
		cb := wire.NewMsgTx(2)
		cb.AddTxIn(&wire.TxIn{PreviousOutPoint: wire.OutPoint{Index: 0xffffffff}, SignatureScript: binary.BigEndian.AppendUint64([]byte{salt}, uint64(h)), Sequence: 0xffffffff})
		cb.AddTxOut(wire.NewTxOut(50, []byte{0x51}))
		root := cb.TxHash() // one transaction: its id is the merkle root
		blk := wire.NewMsgBlock(wire.NewBlockHeader(2, &prev, &root, 0x207fffff, uint32(h)))
		blk.AddTransaction(cb)
		var buf bytes.Buffer
		if err := blk.Serialize(&buf); err != nil {
			t.Fatal(err)
		}
		n.blocks = append(n.blocks, buf.Bytes())
		n.hashes = append(n.hashes, chain.Hash(blk.BlockHash()))
	}
	n.tip = int64(len(n.blocks) - 1)
}

func (n *scriptedNode) setTip(h int64) { n.mu.Lock(); n.tip = h; n.mu.Unlock() }

func (n *scriptedNode) BlockCount(context.Context) (int64, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.tip, nil
}

func (n *scriptedNode) BlockHash(_ context.Context, h int64) (chain.Hash, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if h > n.tip {
		return chain.Hash{}, &chain.RPCError{Code: -8, Message: "Block height out of range"}
	}
	return n.hashes[h], nil
}

func (n *scriptedNode) RawBlock(_ context.Context, hash chain.Hash) ([]byte, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i, h := range n.hashes {
		if h == hash {
			return n.blocks[i], nil
		}
	}
	return nil, &chain.RPCError{Code: -5, Message: "Block not found"}
}

// TestSyncNodeBehind: a node that falls behind the scanner on the same
// chain (reindexing, restored, still syncing) is waited for; only a block
// that differs from the recorded one at the node's height is a reorg.
func TestSyncNodeBehind(t *testing.T) {
	r, _ := benchRunner(t, 0, 0)
	node := &scriptedNode{blocks: [][]byte{nil}, hashes: []chain.Hash{{}}}
	node.extend(t, 0, 10, 0)
	r.Node = node
	ctx := context.Background()
	// A coin of its own in the runner's store, starting at the genesis.
	r.ticker = "lag"
	if err := r.db.Start(r.ticker, 0, node.hashes[0], chain.Hash{}); err != nil {
		t.Fatal(err)
	}
	cur, err := r.sync(ctx, store.Cursor{Height: 0, Hash: node.hashes[0]})
	if err != nil || cur.Height != 10 {
		t.Fatalf("sync to 10: %+v, %v", cur, err)
	}

	// Behind on the same chain: no rollback.
	node.setTip(6)
	if cur, err = r.sync(ctx, cur); err != nil || cur.Height != 10 || cur.Hash != node.hashes[10] {
		t.Fatalf("node behind: cursor %d, %v", cur.Height, err)
	}
	// Caught up again: nothing to do.
	node.setTip(10)
	if cur, err = r.sync(ctx, cur); err != nil || cur.Height != 10 {
		t.Fatalf("node back: cursor %d, %v", cur.Height, err)
	}

	// A real fork below the cursor, shorter than our chain: rolled back to
	// the fork point and rescanned.
	node.extend(t, 5, 3, 1) // new blocks 6..8, tip 8 < 10
	if cur, err = r.sync(ctx, cur); err != nil || cur.Height != 8 || cur.Hash != node.hashes[8] {
		t.Fatalf("after a fork: cursor %d %s, want 8 %s, %v", cur.Height, chain.Hash(cur.Hash), node.hashes[8], err)
	}
	for h := int64(6); h <= 8; h++ {
		if got, _ := r.db.BlockHash("lag", h); chain.Hash(got) != node.hashes[h] {
			t.Errorf("block %d recorded as %x, the node has %s", h, got, node.hashes[h])
		}
	}
}
