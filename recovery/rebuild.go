package recovery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/store"
)

// ReplayDepth is how many blocks below the scan's end the rebuilt store's
// scan cursor is set, on a store that has none: the daemon's scanner
// scans those blocks again, with the undo logs that let a reorg of them be
// rolled back.
const ReplayDepth = 100

// rebuild writes what the store lacks of what the scan found, brings it to
// the node's best block with the daemon's scanner (if Config.Scan is set),
// and records the forwards found on chain. The next index handed out is
// set past the window first, so that a store left half rebuilt never hands
// out an index the chain shows used.
func (r *run) rebuild(ctx context.Context, rep *Report) error {
	if err := r.db.SetFirstIndex(r.id, r.st.Window); err != nil {
		return err
	}
	outs, err := r.db.RecoveredOutputs(r.id)
	if err != nil {
		return err
	}
	byIndex, indexes := byAddress(outs)
	rep.Addresses, rep.Payments = len(indexes), len(outs)

	at, fresh, err := r.historyHeight()
	if err != nil {
		return err
	}
	atBlock, err := r.blockAt(ctx, at)
	if err != nil {
		return err
	}
	r.event(PhaseRebuild, at, r.st.From, r.st.Cursor.Height)

	if err := r.restoreAll(byIndex, indexes, at, atBlock.Time(), rep); err != nil {
		return err
	}
	if rep.ScanHeight, err = r.syncScan(ctx, at, fresh); err != nil {
		return err
	}
	if err := r.recordForwards(outs, rep); err != nil {
		return err
	}
	rep.NextIndex, err = r.db.NextIndex(r.id)
	return err
}

// byAddress groups outs by address index, each group in block order, and
// returns the indexes in ascending order.
func byAddress(outs []*store.RecoveredOutput) (map[uint32][]*store.RecoveredOutput, []uint32) {
	byIndex := map[uint32][]*store.RecoveredOutput{}
	for _, o := range outs {
		byIndex[o.AddrIndex] = append(byIndex[o.AddrIndex], o)
	}
	indexes := make([]uint32, 0, len(byIndex))
	for i, os := range byIndex {
		byHeight(os)
		indexes = append(indexes, i)
	}
	sort.Slice(indexes, func(i, j int) bool { return indexes[i] < indexes[j] })
	return byIndex, indexes
}

// historyHeight returns the height the history is written as of: the
// store's scan cursor, or, for a store without one (fresh), a height the
// daemon's scanner goes on from, ReplayDepth below the scan's end, kept in
// the recovery's state so that a run resumed writes as of the same height.
func (r *run) historyHeight() (at int64, fresh bool, err error) {
	cur, err := r.db.Cursor(r.id)
	fresh = errors.Is(err, store.ErrNotFound)
	if err != nil && !fresh {
		return 0, false, err
	}
	if !fresh {
		return cur.Height, false, nil
	}
	if r.st.MergeAt < 0 {
		r.st.MergeAt = max(r.st.From-1, r.st.Cursor.Height-ReplayDepth, 0)
		if err := r.db.SaveRecoveryState(r.id, r.st); err != nil {
			return 0, false, err
		}
	}
	return r.st.MergeAt, true, nil
}

// restoreAll writes the addresses found, in index order, with their
// history as of height at, of time atTime (see restore), and counts them
// in rep.
func (r *run) restoreAll(byIndex map[uint32][]*store.RecoveredOutput, indexes []uint32, at int64, atTime time.Time, rep *Report) error {
	for _, i := range indexes {
		dest, ok := r.destination(byIndex[i])
		if ok {
			rep.WithDestination++
		}
		restored, err := r.restore(i, byIndex[i], dest, ok, at, atTime)
		if err != nil {
			return err
		}
		if restored {
			rep.Restored++
		}
	}
	return nil
}

// syncScan starts the store's scan at height at if it has none (fresh),
// brings it to the node's best block with Config.Scan if that is set, and
// returns the height of the store's scan cursor.
func (r *run) syncScan(ctx context.Context, at int64, fresh bool) (int64, error) {
	if fresh {
		refs, err := r.refs(ctx, at)
		if err != nil {
			return 0, err
		}
		if err := r.db.Start(r.id, refs); err != nil {
			return 0, err
		}
	}
	if r.cfg.Scan == nil {
		cur, err := r.db.Cursor(r.id)
		return cur.Height, err
	}
	r.event(PhaseSync, at, at, r.st.Cursor.Height)
	cur, err := r.cfg.Scan(ctx, r.id)
	if err != nil {
		return 0, fmt.Errorf("scan: %w", err)
	}
	return cur.Height, nil
}

// recordForwards records the forwards found on chain, for the deposits
// the store has as spent by them, and counts them in rep.
func (r *run) recordForwards(outs []*store.RecoveredOutput, rep *Report) error {
	for _, o := range outs {
		ok, err := r.recordForward(o)
		if err != nil {
			return err
		}
		if ok {
			rep.ForwardsRecorded++
		}
	}
	return nil
}

// restore writes address index, paid by outs (in block order), unless the
// store has it: with dest if the chain tells it (ok), watched as ferry
// would watch it at height at, of time atTime, with its deposits as of
// that height. It follows the daemon: an address is watched from its first
// payment (its creation is not on chain) until it has been idle for
// WatchFor, and a payment after that is not a deposit but stranded. An
// address without a destination is not watched, and its unspent outputs
// are stranded.
func (r *run) restore(index uint32, outs []*store.RecoveredOutput, dest chain.Destination, ok bool, at int64, atTime time.Time) (bool, error) {
	prog, err := r.c.Keys.Program(index)
	if err != nil {
		return false, err
	}
	in, err := r.c.Chain.InputAddress(prog)
	if err != nil {
		return false, err
	}
	first := outs[0].Time
	a := &store.Address{Coin: r.id, Index: index, Program: prog, Address: in.Address, Created: first}
	if ok {
		a.Destination, a.DestScript = dest.Address, dest.Script
	}
	active, expired := first, false
	var deps []ferry.Deposit
	for _, o := range outs {
		if o.Height > at {
			break
		}
		if r.cfg.WatchFor > 0 && o.Time.After(active.Add(r.cfg.WatchFor)) {
			expired = true
		}
		d := ferry.Deposit{OutPoint: o.OutPoint, AddrIndex: index, Value: o.Value, Height: o.Height, BlockHash: o.BlockHash, Maturity: o.Maturity}
		switch {
		case o.Spent() && o.SpentHeight <= at:
			d.SpentBy, d.SpentHeight = o.SpentBy, o.SpentHeight
		case expired || !ok:
			continue // stranded
		}
		deps = append(deps, d)
		if !expired && o.Time.After(active) {
			active = o.Time
		}
	}
	a.LastActivity = active
	watched := ok && !expired && (r.cfg.WatchFor == 0 || !atTime.After(active.Add(r.cfg.WatchFor)))
	return r.db.RestoreAddress(a, watched, deps)
}

// destination returns the destination the forwards of an address's
// outputs pay, if any does.
func (r *run) destination(outs []*store.RecoveredOutput) (chain.Destination, bool) {
	for _, o := range outs {
		if f := r.forwardOf(o); f != nil && f.dest != nil {
			d, err := r.c.Chain.DestinationOf(f.dest.Script)
			if err != nil {
				continue
			}
			if p, isP2WPKH := chain.P2WPKHProgram(d.Script); isP2WPKH {
				if _, own := r.programs[[20]byte(p)]; own {
					continue // never a destination ferry accepts
				}
			}
			return d, true
		}
	}
	return chain.Destination{}, false
}

// shape is a forward as read from the chain.
type shape struct {
	dest, fee *chain.Output
	network   int64
}

// forwardOf reads the spend of o as one of ferry's forwards: a
// transaction of one input, with one or two outputs; of two, the one
// paying the fee address is the service fee (if neither does, the smaller
// one: the fee address changed), the other the destination; a single
// output is a donation's sweep if it pays the fee address or the deposit
// is below the minimum, and a forward whose fee was waived otherwise. A
// refund (an invoice's held payment sent back, paying the service fee as
// a forward does) has a forward's shape and is read as one, to the
// refund's address: the chain does not tell them apart. It returns nil for
// any other spend.
func (r *run) forwardOf(o *store.RecoveredOutput) *shape {
	if !o.Spent() || o.SpendInputs != 1 || len(o.SpendOutputs) == 0 || len(o.SpendOutputs) > 2 {
		return nil
	}
	s := &shape{network: int64(o.Value)}
	for _, out := range o.SpendOutputs {
		s.network -= out.Value
	}
	outs := o.SpendOutputs
	isFee := func(out chain.Output) bool { return bytes.Equal(out.Script, r.c.FeeAddress.Script) }
	switch {
	case len(outs) == 1 && (isFee(outs[0]) || o.Value < r.c.MinDeposit):
		s.fee = &outs[0]
	case len(outs) == 1:
		s.dest = &outs[0]
	case isFee(outs[1]) && !isFee(outs[0]):
		s.dest, s.fee = &outs[0], &outs[1]
	case isFee(outs[0]) && !isFee(outs[1]):
		s.dest, s.fee = &outs[1], &outs[0]
	case outs[0].Value >= outs[1].Value:
		s.dest, s.fee = &outs[0], &outs[1]
	default:
		s.dest, s.fee = &outs[1], &outs[0]
	}
	return s
}

// recordForward records the forward that spent o, if the store has o as a
// deposit spent by it and no forward of it: a forward found on chain is
// recorded without its raw transaction, which is in a block and never
// broadcast again.
func (r *run) recordForward(o *store.RecoveredOutput) (bool, error) {
	s := r.forwardOf(o)
	if s == nil {
		return false, nil
	}
	d, err := r.db.Deposit(r.id, o.OutPoint)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !d.Spent() || d.SpentBy != o.SpentBy {
		return false, nil
	}
	if _, err := r.db.Forward(r.id, o.OutPoint); err == nil {
		return false, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	f := &store.Forward{
		Forward:   ferry.Forward{TxID: o.SpentBy, Value: o.Value, NetworkFee: ferry.Amount(s.network)},
		Coin:      r.id,
		OutPoint:  o.OutPoint,
		AddrIndex: o.AddrIndex,
		Accepted:  true,
	}
	if s.fee != nil {
		f.ServiceFee = ferry.Amount(s.fee.Value)
	}
	if s.dest != nil {
		f.Forwarded = ferry.Amount(s.dest.Value)
	} else {
		f.Donation = true
	}
	return true, r.db.PutForward(f)
}

// refs returns the blocks the rebuilt store's cursor starts at: height at
// and up to ReplayDepth below it, each with its parent, so that a reorg
// right after rolls back through them as after a first start.
func (r *run) refs(ctx context.Context, at int64) ([]store.BlockRef, error) {
	from := max(0, at-ReplayDepth)
	var prev ferry.Hash
	if from > 0 {
		var err error
		if prev, err = r.c.Node.BlockHash(ctx, from-1); err != nil {
			return nil, err
		}
	}
	refs := make([]store.BlockRef, 0, at-from+1)
	for h := from; h <= at; h++ {
		hash, err := r.c.Node.BlockHash(ctx, h)
		if err != nil {
			return nil, err
		}
		refs = append(refs, store.BlockRef{Height: h, Hash: hash, Prev: prev})
		prev = hash
	}
	return refs, nil
}
