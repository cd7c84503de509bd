package relay

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/store"
)

// fatalError marks an error after which a coin's scanner must stop: its
// store can no longer be trusted to follow the chain.
type fatalError struct{ err error }

func (e fatalError) Error() string { return e.err.Error() }
func (e fatalError) Unwrap() error { return e.err }

// Wait bounds of the scanner loop.
const (
	// longPollTimeout bounds one waitfornewblock call. A block that lands
	// between the scanner's check of the best block and its long poll is
	// seen when the poll times out, so this is the worst-case delay.
	longPollTimeout = time.Second
	maxBackoff      = 30 * time.Second
)

// run is the coin's scanner loop: catch up with the node, forward what is
// due, wait for the next block. Node errors are retried with backoff; it
// returns nil when ctx is done, or a fatal error.
func (r *coinRunner) run(ctx context.Context) error {
	r.log.Info().Int("watched", r.watch.Len()).Int("open_deposits", len(r.open)).Msg("scanner starting")
	backoff := time.Second
	for ctx.Err() == nil {
		err := r.step(ctx)
		if err == nil {
			backoff = time.Second
			continue
		}
		if ctx.Err() != nil {
			break
		}
		var fatal fatalError
		if errors.As(err, &fatal) {
			msg := err.Error()
			r.halted.Store(&msg)
			r.log.Error().Err(err).Msg("scanner halted")
			return fmt.Errorf("%s scanner: %w", r.Coin.Name(), err)
		}
		r.log.Warn().Err(err).Dur("retry_in", backoff).Msg("scanner")
		select {
		case <-ctx.Done():
		case <-r.svc.cfg.Clock.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
	r.log.Info().Msg("scanner stopped")
	return nil
}

// step makes one pass of the loop.
func (r *coinRunner) step(ctx context.Context) error {
	cur, err := r.cursor(ctx)
	if err != nil {
		return err
	}
	if cur, err = r.sync(ctx, cur); err != nil {
		return err
	}
	if cur.Hash != r.forwardedAt {
		// Callbacks do not wait for a complete forwarder pass: they are
		// sent once per confirmation count whatever runs them.
		complete := r.forwardAll(ctx, cur.Height)
		r.callbacks(ctx, cur.Height)
		if complete {
			r.forwardedAt = cur.Hash
		}
	}
	return r.wait(ctx, cur)
}

// cursor returns the scan cursor, setting it at the node's best block on the
// coin's first start.
func (r *coinRunner) cursor(ctx context.Context) (store.Cursor, error) {
	cur, err := r.db.Cursor(r.ticker)
	if !errors.Is(err, store.ErrNotFound) {
		if err != nil {
			return cur, fatalError{err}
		}
		return cur, nil
	}
	tip, err := r.Node.BlockCount(ctx)
	if err != nil {
		return cur, err
	}
	hash, err := r.Node.BlockHash(ctx, tip)
	if err != nil {
		return cur, err
	}
	blk, err := r.fetch(ctx, hash)
	if err != nil {
		return cur, err
	}
	if err := r.db.Start(r.ticker, tip, hash, blk.Prev()); err != nil {
		return cur, fatalError{err}
	}
	r.scanning.Store(true)
	r.log.Info().Int64("height", tip).Str("hash", hash.String()).Msg("first start: scanning from the node's best block")
	r.scanHeight.Store(tip)
	return store.Cursor{Height: tip, Hash: hash}, nil
}

// sync applies the node's blocks after cur until the cursor is the node's
// best block, rolling back the blocks a reorg has orphaned.
func (r *coinRunner) sync(ctx context.Context, cur store.Cursor) (store.Cursor, error) {
	for {
		if err := ctx.Err(); err != nil {
			return cur, err
		}
		tip, err := r.Node.BlockCount(ctx)
		if err != nil {
			return cur, err
		}
		if cur.Height >= tip {
			hash, err := r.Node.BlockHash(ctx, tip)
			if err != nil {
				return cur, err
			}
			if cur.Height == tip && hash == cur.Hash {
				return cur, nil
			}
			if cur.Height > tip {
				// A node below the cursor is either behind (reindexing,
				// syncing, restored) or on a shorter fork. Only a block
				// that differs from the one recorded at the node's
				// height shows a fork; without one, wait for the node.
				ours, err := r.db.BlockHash(r.ticker, tip)
				if errors.Is(err, store.ErrNotFound) || err == nil && chain.Hash(ours) == hash {
					r.log.Debug().Int64("node_height", tip).Int64("scan_height", cur.Height).Msg("node is behind the scanner: waiting")
					return cur, nil
				}
				if err != nil {
					return cur, fatalError{err}
				}
			}
			if cur, err = r.rollback(); err != nil {
				return cur, err
			}
			continue
		}

		hash, err := r.Node.BlockHash(ctx, cur.Height+1)
		if err != nil {
			return cur, err
		}
		blk, err := r.fetch(ctx, hash)
		if err != nil {
			return cur, err
		}
		if blk.Prev() != cur.Hash {
			if cur, err = r.rollback(); err != nil {
				return cur, err
			}
			continue
		}
		if cur, err = r.apply(blk, cur.Height+1); err != nil {
			return cur, err
		}
	}
}

func (r *coinRunner) fetch(ctx context.Context, hash chain.Hash) (*chain.Block, error) {
	raw, err := r.Node.RawBlock(ctx, hash)
	if err != nil {
		return nil, err
	}
	blk, err := r.Coin.DecodeBlock(raw)
	if err != nil {
		return nil, fmt.Errorf("block %s: %w", hash, err)
	}
	if blk.Hash() != hash {
		return nil, fmt.Errorf("node sent block %s for %s", blk.Hash(), hash)
	}
	return blk, nil
}

// apply scans blk, the block at height, and commits what it found, with the
// addresses whose idle time has run out by the block's time.
func (r *coinRunner) apply(blk *chain.Block, height int64) (store.Cursor, error) {
	upd, err := r.scan(blk, height)
	if err != nil {
		return store.Cursor{}, fatalError{err}
	}
	upd.Now = blk.Time()
	expired, err := r.expiring(upd)
	if err != nil {
		return store.Cursor{}, fatalError{err}
	}
	if err := r.db.ApplyBlock(upd); err != nil {
		return store.Cursor{}, fatalError{err}
	}
	for _, a := range expired {
		r.watch.Remove(a.Program[:])
		r.log.Info().Str("address", a.Address).Uint32("index", a.Index).Time("idle_since", a.LastActivity).Msg("address expired")
	}
	for _, d := range upd.Deposits {
		r.open[chainOP(d.OutPoint)] = struct{}{}
		r.log.Info().Str("outpoint", chainOP(d.OutPoint).String()).Uint32("index", d.AddrIndex).
			Int64("value", d.Value).Int64("height", height).Int64("maturity", d.Maturity).Msg("deposit detected")
	}
	for _, s := range upd.Spends {
		delete(r.open, chainOP(s.OutPoint))
		r.log.Info().Str("outpoint", chainOP(s.OutPoint).String()).Str("spent_by", chain.Hash(s.TxID).String()).
			Int64("height", height).Msg("deposit spent")
		// A forward confirmed while ferry was down was never seen
		// accepted: its callback starts here.
		if f, err := r.db.Forward(r.ticker, s.OutPoint); err == nil && f.TxID == s.TxID {
			r.startCallback(f)
		}
	}
	r.scanHeight.Store(height)
	return store.Cursor{Height: height, Hash: blk.Hash()}, nil
}

// scan finds the deposits to watched addresses in blk and the open deposits
// it spends. It hashes only the transactions that matter.
func (r *coinRunner) scan(blk *chain.Block, height int64) (*store.Block, error) {
	upd := &store.Block{Coin: r.ticker, Height: height, Hash: blk.Hash(), Prev: blk.Prev(), Time: blk.Time()}
	created := map[chain.OutPoint]bool{} // deposits paid in this block, which it may also spend
	var (
		tx     int
		txid   chain.Hash
		hashed bool
		err    error
	)
	id := func() chain.Hash {
		if !hashed {
			txid, hashed = blk.TxID(tx), true
		}
		return txid
	}
	onInput := func(prev chain.OutPoint) {
		_, open := r.open[prev]
		if open || created[prev] {
			upd.Spends = append(upd.Spends, store.Spend{OutPoint: storeOP(prev), TxID: id()})
		}
	}
	onOutput := func(vout uint32, value int64, script []byte) {
		prog, ok := chain.P2WPKHProgram(script)
		if !ok || !r.watch.MayContain(prog) || err != nil {
			return
		}
		addr, aerr := r.db.AddressByProgram(r.ticker, prog)
		if errors.Is(aerr, store.ErrNotFound) {
			return // a fingerprint collision
		}
		if aerr != nil {
			err = aerr
			return
		}
		op := chain.OutPoint{Hash: id(), Index: vout}
		upd.Deposits = append(upd.Deposits, store.Deposit{
			OutPoint:  storeOP(op),
			AddrIndex: addr.Index,
			Value:     value,
			Height:    height,
			BlockHash: blk.Hash(),
			Maturity:  r.Coin.Maturity(blk.Kind(tx)),
		})
		created[op] = true
	}
	for tx = 0; tx < blk.NumTx(); tx++ {
		hashed = false
		blk.Inputs(tx, onInput)
		blk.Outputs(tx, onOutput)
	}
	return upd, err
}

// maxExpiryPerBlock bounds the addresses one block expires; the rest
// follow with the next blocks.
const maxExpiryPerBlock = 10_000

// expiring lists the watched addresses idle for the address expiry at
// upd's time and adds them to upd. An address paid in this block or in the
// mempool stays. (An address whose deposit is still to be forwarded may
// expire: the forwarder follows deposits, not addresses; expiry only stops
// new payments from being picked up.)
func (r *coinRunner) expiring(upd *store.Block) ([]*store.Address, error) {
	expiry := r.svc.cfg.AddressExpiry
	if expiry <= 0 {
		return nil, nil
	}
	idle, err := r.db.IdleAddresses(r.ticker, upd.Now.Add(-expiry), maxExpiryPerBlock)
	if err != nil || len(idle) == 0 {
		return nil, err
	}
	paid := map[uint32]bool{}
	for _, d := range upd.Deposits {
		paid[d.AddrIndex] = true
	}
	var out []*store.Address
	for _, a := range idle {
		if paid[a.Index] || r.mempool.pays(a.Index) {
			continue
		}
		out = append(out, a)
		upd.Expire = append(upd.Expire, a.Index)
	}
	return out, nil
}

// rollback undoes the cursor block after a reorg.
func (r *coinRunner) rollback() (store.Cursor, error) {
	undo, err := r.db.Rollback(r.ticker)
	if err != nil {
		return store.Cursor{}, fatalError{err}
	}
	if err := r.loadOpen(); err != nil {
		return store.Cursor{}, fatalError{err}
	}
	for _, p := range undo.Rewatched {
		r.watch.Add(p)
	}
	r.scanHeight.Store(undo.Cursor.Height)
	r.log.Warn().Int64("height", undo.Cursor.Height+1).Int("rewatched", len(undo.Rewatched)).Msg("reorg: rolled back block")
	return undo.Cursor, nil
}

// wait returns when the node's best block is no longer cur, or after a
// bounded wait.
func (r *coinRunner) wait(ctx context.Context, cur store.Cursor) error {
	best, err := r.Node.BestBlockHash(ctx)
	if err != nil || best != cur.Hash {
		return err
	}
	if r.longPoll {
		err := r.Node.WaitForNewBlock(ctx, longPollTimeout)
		if !errors.Is(err, chain.ErrMethodNotFound) {
			return err
		}
		r.longPoll = false
		r.log.Info().Dur("interval", r.svc.cfg.PollInterval).Msg("node has no waitfornewblock: polling")
	}
	select {
	case <-ctx.Done():
	case <-r.svc.cfg.Clock.After(r.svc.cfg.PollInterval):
	}
	return nil
}
