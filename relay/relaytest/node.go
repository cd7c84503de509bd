package relaytest

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ltcsuite/ltcd/chaincfg/chainhash"
	"github.com/ltcsuite/ltcd/wire"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/store"
)

// Node is a coin's node as a test scripts it: a chain of blocks, a mempool
// that announces what the test puts in it, and failures on demand. It is
// the fake at the node's seams (relay.BlockSource, Broadcaster, FeeSource,
// MempoolSource), for unit tests of what real nodes cannot be made to do
// at will; integration tests run real nodes. It is safe for concurrent
// use.
type Node struct {
	mu      sync.Mutex
	blocks  [][]byte // by height
	hashes  []ferry.Hash
	tip     int64
	sent    [][]byte
	failN   int
	failErr error
	utxos   map[ferry.OutPoint]int64 // mempool and chain outputs: their confirmations
	mempool chan *chain.Tx
	down    error // every call fails with it, when set

	calls, txOuts atomic.Int64
}

var _ NodeSource = (*Node)(nil)

// NewNode returns a node whose chain has blocks up to height.
func NewNode(tb testing.TB, height int64) *Node {
	tb.Helper()
	n := &Node{blocks: [][]byte{nil}, hashes: []ferry.Hash{{}}, utxos: map[ferry.OutPoint]int64{}, mempool: make(chan *chain.Tx, 64)}
	n.Extend(tb, 0, int(height), 0)
	return n
}

// Extend replaces the blocks above height from with count new ones; salt
// makes them differ from earlier blocks at the same heights (a fork).
func (n *Node) Extend(tb testing.TB, from int64, count int, salt byte) {
	tb.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	n.blocks, n.hashes = n.blocks[:from+1], n.hashes[:from+1]
	for range count {
		n.appendLocked(tb, salt, nil)
	}
}

// Mine appends a block with one transaction paying outs, and returns that
// transaction's id.
func (n *Node) Mine(tb testing.TB, outs ...chain.Output) ferry.Hash {
	tb.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.appendLocked(tb, 0, outs)
}

func (n *Node) appendLocked(tb testing.TB, salt byte, outs []chain.Output) ferry.Hash {
	h := int64(len(n.blocks))
	prev := chainhash.Hash(n.hashes[h-1])
	cb := wire.NewMsgTx(2)
	cb.AddTxIn(&wire.TxIn{PreviousOutPoint: wire.OutPoint{Index: 0xffffffff}, SignatureScript: binary.BigEndian.AppendUint64([]byte{salt}, uint64(h)), Sequence: 0xffffffff})
	cb.AddTxOut(wire.NewTxOut(50, []byte{0x51}))
	txs := []*wire.MsgTx{cb}
	var id ferry.Hash
	if len(outs) > 0 {
		tx := wire.NewMsgTx(2)
		var in chainhash.Hash
		binary.BigEndian.PutUint64(in[:], uint64(h))
		tx.AddTxIn(&wire.TxIn{PreviousOutPoint: wire.OutPoint{Hash: in}, Sequence: 0xffffffff})
		for _, o := range outs {
			tx.AddTxOut(wire.NewTxOut(o.Value, o.Script))
		}
		txs = append(txs, tx)
		id = ferry.Hash(tx.TxHash())
	}
	hashes := make([]chainhash.Hash, len(txs))
	for i, tx := range txs {
		hashes[i] = tx.TxHash()
	}
	root := merkleRoot(hashes)
	blk := wire.NewMsgBlock(wire.NewBlockHeader(2, &prev, &root, 0x207fffff, uint32(h)))
	blk.Header.Timestamp = time.Unix(1_700_000_000+h*150, 0)
	for _, tx := range txs {
		blk.AddTransaction(tx)
	}
	var buf bytes.Buffer
	if err := blk.Serialize(&buf); err != nil {
		tb.Fatal(err)
	}
	n.blocks = append(n.blocks, buf.Bytes())
	n.hashes = append(n.hashes, ferry.Hash(blk.BlockHash()))
	n.tip = h
	return id
}

// merkleRoot computes a block's merkle root the way Bitcoin does.
func merkleRoot(level []chainhash.Hash) chainhash.Hash {
	for len(level) > 1 {
		if len(level)%2 == 1 {
			level = append(level, level[len(level)-1])
		}
		next := make([]chainhash.Hash, len(level)/2)
		for i := range next {
			next[i] = chainhash.DoubleHashH(append(level[2*i][:], level[2*i+1][:]...))
		}
		level = next
	}
	return level[0]
}

// SetTip makes the node's best block the one at h (a node that falls
// behind, or catches up again).
func (n *Node) SetTip(h int64) { n.mu.Lock(); n.tip = h; n.mu.Unlock() }

// Tip returns the node's best block.
func (n *Node) Tip() store.BlockRef {
	n.mu.Lock()
	defer n.mu.Unlock()
	return store.BlockRef{Height: n.tip, Hash: n.hashes[n.tip], Prev: n.hashes[max(0, n.tip-1)]}
}

// Hash returns the hash of the node's block at h.
func (n *Node) Hash(h int64) ferry.Hash { n.mu.Lock(); defer n.mu.Unlock(); return n.hashes[h] }

// SetDown makes every call fail with err, as a node that cannot be
// reached; nil brings it back.
func (n *Node) SetDown(err error) { n.mu.Lock(); n.down = err; n.mu.Unlock() }

// Calls returns how many calls the node has answered.
func (n *Node) Calls() int64 { return n.calls.Load() }

// FailBroadcasts makes the next count broadcasts fail with err.
func (n *Node) FailBroadcasts(count int, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.failN, n.failErr = count, err
}

// Sent returns the transactions the node accepted.
func (n *Node) Sent() [][]byte {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([][]byte(nil), n.sent...)
}

// BlockCount returns the best block's height.
func (n *Node) BlockCount(context.Context) (int64, error) {
	n.calls.Add(1)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.down != nil {
		return 0, n.down
	}
	return n.tip, nil
}

// BlockHash returns the hash of the block at height on the best chain.
func (n *Node) BlockHash(_ context.Context, h int64) (ferry.Hash, error) {
	n.calls.Add(1)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.down != nil {
		return ferry.Hash{}, n.down
	}
	if h > n.tip || h < 0 {
		return ferry.Hash{}, &chain.RPCError{Method: "getblockhash", Code: -8, Message: "Block height out of range"}
	}
	return n.hashes[h], nil
}

// BestBlockHash returns the best block's hash.
func (n *Node) BestBlockHash(context.Context) (ferry.Hash, error) {
	n.calls.Add(1)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.down != nil {
		return ferry.Hash{}, n.down
	}
	return n.hashes[n.tip], nil
}

// RawBlock returns a block by hash.
func (n *Node) RawBlock(_ context.Context, hash ferry.Hash) ([]byte, error) {
	n.calls.Add(1)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.down != nil {
		return nil, n.down
	}
	for i, h := range n.hashes {
		if h == hash {
			return n.blocks[i], nil
		}
	}
	return nil, &chain.RPCError{Method: "getblock", Code: -5, Message: "Block not found"}
}

// WaitForNewBlock is not offered, as by btcd: the scanner polls, on its
// clock.
func (n *Node) WaitForNewBlock(context.Context, time.Duration) error {
	n.calls.Add(1)
	return fmt.Errorf("waitfornewblock: %w", chain.ErrMethodNotFound)
}

// SendRawTransaction accepts raw, unless a failure is due.
func (n *Node) SendRawTransaction(_ context.Context, raw []byte) (ferry.Hash, error) {
	n.calls.Add(1)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.down != nil {
		return ferry.Hash{}, n.down
	}
	if n.failN > 0 {
		n.failN--
		return ferry.Hash{}, n.failErr
	}
	n.sent = append(n.sent, append([]byte(nil), raw...))
	return ferry.Hash{}, nil
}

// EstimateFeeRate has no estimate, as a fresh regtest node.
func (n *Node) EstimateFeeRate(context.Context, int) (int64, error) {
	n.calls.Add(1)
	if err := n.downErr(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("estimatesmartfee: %w", chain.ErrNoEstimate)
}

func (n *Node) downErr() error { n.mu.Lock(); defer n.mu.Unlock(); return n.down }

// MinFeeRate is 1 sat/vB.
func (n *Node) MinFeeRate(context.Context) (int64, error) {
	n.calls.Add(1)
	if err := n.downErr(); err != nil {
		return 0, err
	}
	return 1000, nil
}

// Announce puts tx in the mempool, announcing it to the watcher.
func (n *Node) Announce(tx *chain.Tx) {
	n.mu.Lock()
	for i := range tx.Outputs {
		n.utxos[ferry.OutPoint{Hash: tx.ID, Index: uint32(i)}] = 0
	}
	n.mu.Unlock()
	n.mempool <- tx
}

// SetConfirmations sets what TxOut says of op: confs >= 0, or gone (-1).
func (n *Node) SetConfirmations(op ferry.OutPoint, confs int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if confs < 0 {
		delete(n.utxos, op)
		return
	}
	n.utxos[op] = confs
}

// TxOuts returns how many outputs the watcher has asked about.
func (n *Node) TxOuts() int64 { return n.txOuts.Load() }

// WatchMempool hands the announced transactions to fn until ctx ends.
func (n *Node) WatchMempool(ctx context.Context, fn func(*chain.Tx)) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case tx := <-n.mempool:
			fn(tx)
		}
	}
}

// TxOut says what the test set of op.
func (n *Node) TxOut(_ context.Context, op ferry.OutPoint) (int64, bool, error) {
	n.txOuts.Add(1)
	n.mu.Lock()
	defer n.mu.Unlock()
	c, ok := n.utxos[op]
	return c, ok, nil
}
