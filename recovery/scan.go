package recovery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/store"
)

// timeSlack is how much earlier than an address's creation time the scan
// starts: a block's timestamp may lag the clock by up to two hours.
const timeSlack = 2 * time.Hour

// maxWindow bounds the derivation path ferry hands out addresses on.
const maxWindow = math.MaxInt32

// scan brings the recovery's main pass to the node's best block, resuming
// one under way, with every catch-up its window's growth calls for.
func (r *run) scan(ctx context.Context) error {
	if err := r.open(ctx); err != nil {
		return err
	}
	var tip int64 = -1
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if r.st.CatchUpTo >= 0 {
			if err := r.catchUp(ctx); err != nil {
				return err
			}
			continue
		}
		cur := r.st.Cursor
		if cur.Height >= tip {
			var err error
			if tip, err = r.c.Node.BlockCount(ctx); err != nil {
				return err
			}
			if cur.Height >= tip {
				done, err := r.atTip(ctx, tip)
				if done || err != nil {
					return err
				}
				continue
			}
		}

		hash, err := r.c.Node.BlockHash(ctx, cur.Height+1)
		if err != nil {
			return err
		}
		blk, err := r.c.Chain.FetchBlock(ctx, r.c.Node, hash)
		if err != nil {
			return err
		}
		if blk.Prev() != cur.Hash {
			if err := r.rewind(ctx); err != nil {
				return err
			}
			continue
		}
		rb, high := r.block(blk, cur.Height+1)
		if r.grow(high) {
			// The blocks scanned so far are scanned again for the new
			// addresses; then this one.
			r.st.CatchUpTo, r.st.CatchUpAt = cur.Height, r.st.From-1
			if err := r.db.SaveRecoveryState(r.id, r.st); err != nil {
				return err
			}
			continue
		}
		st := *r.st
		st.Cursor = store.Cursor{Height: cur.Height + 1, Hash: hash}
		rb.Main, rb.State = true, st
		if err := r.apply(rb); err != nil {
			return err
		}
		r.event(PhaseScan, st.Cursor.Height, st.From, tip)
	}
}

// atTip checks the main pass's cursor against the node's best block tip,
// the cursor being at or above it: done if it is that block, a rewind if a
// reorg replaced it, ErrNodeBehind if the node has not reached it.
func (r *run) atTip(ctx context.Context, tip int64) (bool, error) {
	cur := r.st.Cursor
	if cur.Height < r.st.From {
		return true, nil // nothing to scan yet: the node is below From
	}
	hash, err := r.c.Node.BlockHash(ctx, tip)
	if err != nil {
		return false, err
	}
	if cur.Height == tip && hash == cur.Hash {
		return true, nil
	}
	if cur.Height > tip {
		if ours, err := r.db.RecoveryHash(r.id, tip); err == nil && ours == hash {
			return false, fmt.Errorf("%w: node at %d, recovery at %d: let it catch up, then run again", ErrNodeBehind, tip, cur.Height)
		}
	}
	return false, r.rewind(ctx)
}

// open loads the recovery under way, or starts a new one, and derives its
// window.
func (r *run) open(ctx context.Context) error {
	st, err := r.db.RecoveryState(r.id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		st = nil
	case err != nil:
		return err
	}
	if st == nil || r.c.From >= 0 && r.c.From != st.From {
		if st, err = r.begin(ctx); err != nil {
			return err
		}
	}
	r.st = st
	r.programs, r.derived = map[[20]byte]uint32{}, 0
	if err := r.derive(); err != nil {
		return err
	}
	if err := r.loadKnown(); err != nil {
		return err
	}

	// A larger gap than before grows the window past the addresses found:
	// the blocks scanned are scanned again for the new ones. Addresses
	// handed out since the recovery started grow it too, but were paid
	// only in blocks the scan has yet to reach.
	high := int64(-1)
	for i := range r.found {
		high = max(high, int64(i))
	}
	if r.grow(high) && r.st.Cursor.Height >= r.st.From {
		if r.st.CatchUpTo < 0 {
			r.st.CatchUpTo = r.st.Cursor.Height
		}
		r.st.CatchUpAt = r.st.From - 1
	}
	end, err := r.db.AddressEnd(r.id)
	if err != nil {
		return err
	}
	r.grow(int64(end) - 1)
	return r.db.SaveRecoveryState(r.id, r.st)
}

// begin starts a new recovery, from Coin.From or the height of the
// store's oldest address, in place of any under way, and returns its
// state. Its window looks past every index the store sets apart, those
// --first-index names included.
func (r *run) begin(ctx context.Context) (*store.RecoveryState, error) {
	next, err := r.db.NextIndex(r.id)
	if err != nil {
		return nil, err
	}
	from := r.c.From
	if from < 0 {
		if from, err = r.oldestHeight(ctx); err != nil {
			return nil, err
		}
	}
	tip, err := r.c.Node.BlockCount(ctx)
	if err != nil {
		return nil, err
	}
	if from > tip+1 {
		return nil, fmt.Errorf("%w: height %d is above the node's best block, %d", ErrNoStart, from, tip)
	}
	st := &store.RecoveryState{From: from, Window: window(uint64(next) + uint64(r.cfg.Gap)), CatchUpTo: -1, CatchUpAt: -1, MergeAt: -1}
	st.Cursor.Height = from - 1
	if from > 0 {
		if st.Cursor.Hash, err = r.c.Node.BlockHash(ctx, from-1); err != nil {
			return nil, err
		}
	}
	if err := r.db.ResetRecovery(r.id, st); err != nil {
		return nil, err
	}
	return st, nil
}

// oldestHeight returns the height to start at from the store's oldest
// address: the first block less than timeSlack older than its creation.
func (r *run) oldestHeight(ctx context.Context) (int64, error) {
	a, err := r.db.FirstAddress(r.id)
	if errors.Is(err, store.ErrNotFound) {
		return 0, fmt.Errorf("%w: the store has no %s address: give the height of a block mined before the first address was handed out", ErrNoStart, r.c.Chain.Name())
	}
	if err != nil {
		return 0, err
	}
	t := a.Created.Add(-timeSlack)
	tip, err := r.c.Node.BlockCount(ctx)
	if err != nil {
		return 0, err
	}
	// The first height whose block is not older than t; block times are
	// not strictly monotonic, hence the slack.
	lo, hi := int64(0), tip+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		blk, err := r.blockAt(ctx, mid)
		if err != nil {
			return 0, err
		}
		if blk.Time().Before(t) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return min(lo, tip), nil
}

// window clamps a window size to the derivation path.
func window(n uint64) uint32 { return uint32(min(n, maxWindow)) }

// grow widens the window if index high plus the gap lies beyond it, to
// that or to twice the window, whichever is more (so that a shop with many
// addresses calls for few catch-ups), and derives the new addresses. It
// reports whether it grew.
func (r *run) grow(high int64) bool {
	if high < 0 {
		return false
	}
	need := uint64(high) + uint64(r.cfg.Gap) + 1
	if need <= uint64(r.st.Window) || r.st.Window == maxWindow {
		return false
	}
	r.st.Window = window(max(need, 2*uint64(r.st.Window)))
	return r.derive() == nil
}

// derive derives the window's addresses not yet derived.
func (r *run) derive() error {
	for ; r.derived < r.st.Window; r.derived++ {
		p, err := r.c.Keys.Program(r.derived)
		if errors.Is(err, chain.ErrSkipIndex) {
			continue
		}
		if err != nil {
			return err
		}
		r.programs[p] = r.derived
	}
	return nil
}

// loadKnown loads the outputs recorded so far.
func (r *run) loadKnown() error {
	outs, err := r.db.RecoveredOutputs(r.id)
	if err != nil {
		return err
	}
	r.known, r.found = make(map[ferry.OutPoint]struct{}, len(outs)), map[uint32]bool{}
	for _, o := range outs {
		r.known[o.OutPoint] = struct{}{}
		r.found[o.AddrIndex] = true
	}
	return nil
}

// block finds in blk, the block at height, the outputs paying the window's
// addresses and the spends of outputs recorded, and returns them with the
// highest index paid (-1 for none).
func (r *run) block(blk *chain.Block, height int64) (*store.RecoveredBlock, int64) {
	rb := &store.RecoveredBlock{Coin: r.id, Height: height, Hash: blk.Hash()}
	high := int64(-1)
	created := map[ferry.OutPoint]bool{}
	for tx := range blk.NumTx() {
		var txid ferry.Hash
		hashed := false
		id := func() ferry.Hash {
			if !hashed {
				txid, hashed = blk.TxID(tx), true
			}
			return txid
		}
		var spent []ferry.OutPoint
		var inputs int64
		blk.Inputs(tx, func(prev ferry.OutPoint) {
			inputs++
			if _, ok := r.known[prev]; ok || created[prev] {
				spent = append(spent, prev)
			}
		})
		if len(spent) > 0 {
			var outs []chain.Output
			if inputs == 1 {
				blk.Outputs(tx, func(_ uint32, value int64, script []byte) {
					outs = append(outs, chain.Output{Value: value, Script: bytes.Clone(script)})
				})
			}
			for _, op := range spent {
				rb.Spends = append(rb.Spends, store.RecoveredSpend{OutPoint: op, TxID: id(), Height: height, Inputs: inputs, Outputs: outs})
			}
		}
		blk.Outputs(tx, func(vout uint32, value int64, script []byte) {
			prog, ok := chain.P2WPKHProgram(script)
			if !ok {
				return
			}
			idx, ok := r.programs[[20]byte(prog)]
			if !ok {
				return
			}
			op := ferry.OutPoint{Hash: id(), Index: vout}
			rb.Outputs = append(rb.Outputs, store.RecoveredOutput{
				Deposit: ferry.Deposit{OutPoint: op, AddrIndex: idx, Value: ferry.Amount(value), Height: height, BlockHash: blk.Hash(), Time: blk.Time(), Maturity: r.c.Chain.Maturity(blk.Kind(tx))},
			})
			created[op] = true
			high = max(high, int64(idx))
		})
	}
	return rb, high
}

// apply records a scanned block and remembers what it found.
func (r *run) apply(rb *store.RecoveredBlock) error {
	if err := r.db.ApplyRecovered(rb); err != nil {
		return err
	}
	st := rb.State
	r.st = &st
	for _, o := range rb.Outputs {
		r.known[o.OutPoint] = struct{}{}
		r.found[o.AddrIndex] = true
	}
	return nil
}

// catchUp scans the blocks up to CatchUpTo again with the grown window. If
// the window grows again, it starts over.
func (r *run) catchUp(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h := r.st.CatchUpAt + 1
		if h > r.st.CatchUpTo {
			r.st.CatchUpTo, r.st.CatchUpAt = -1, -1
			return r.db.SaveRecoveryState(r.id, r.st)
		}
		blk, err := r.blockAt(ctx, h)
		if err != nil {
			return err
		}
		rb, high := r.block(blk, h)
		if r.grow(high) {
			r.st.CatchUpAt = r.st.From - 1
			if err := r.db.SaveRecoveryState(r.id, r.st); err != nil {
				return err
			}
			continue
		}
		st := *r.st
		st.CatchUpAt = h
		rb.State = st
		if err := r.apply(rb); err != nil {
			return err
		}
		r.event(PhaseCatchUp, h, st.From, st.CatchUpTo)
	}
}

// rewind rolls the main pass back to the last block it recorded that is
// still on the node's chain, forgetting what it found above.
func (r *run) rewind(ctx context.Context) error {
	tip, err := r.c.Node.BlockCount(ctx)
	if err != nil {
		return err
	}
	fork := store.Cursor{Height: min(r.st.Cursor.Height, tip)}
	for ; fork.Height >= r.st.From; fork.Height-- {
		ours, err := r.db.RecoveryHash(r.id, fork.Height)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w at height %d: run ferry recover again with --from-height to start over", ErrDeepReorg, fork.Height)
		}
		if err != nil {
			return err
		}
		theirs, err := r.c.Node.BlockHash(ctx, fork.Height)
		if err != nil {
			return err
		}
		if ours == theirs {
			fork.Hash = ours
			break
		}
	}
	if fork.Height < r.st.From && fork.Height >= 0 {
		if fork.Hash, err = r.c.Node.BlockHash(ctx, fork.Height); err != nil {
			return err
		}
	}
	st := *r.st
	st.Cursor = fork
	if err := r.db.RewindRecovery(r.id, &st); err != nil {
		return err
	}
	r.st = &st
	if err := r.loadKnown(); err != nil {
		return err
	}
	r.event(PhaseRewind, fork.Height, st.From, tip)
	return nil
}

// byHeight sorts outputs by block, then outpoint.
func byHeight(outs []*store.RecoveredOutput) {
	sort.Slice(outs, func(i, j int) bool {
		a, b := outs[i], outs[j]
		if a.Height != b.Height {
			return a.Height < b.Height
		}
		if c := bytes.Compare(a.OutPoint.Hash[:], b.OutPoint.Hash[:]); c != 0 {
			return c < 0
		}
		return a.OutPoint.Index < b.OutPoint.Index
	})
}
