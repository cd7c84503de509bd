package relay

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/store"
)

// BlockSource is what the scanner reads of a coin's node. *chain.Node
// implements it.
type BlockSource interface {
	BlockCount(ctx context.Context) (int64, error)
	BlockHash(ctx context.Context, height int64) (ferry.Hash, error)
	BestBlockHash(ctx context.Context) (ferry.Hash, error)
	RawBlock(ctx context.Context, hash ferry.Hash) ([]byte, error)
	// WaitForNewBlock returns when the node's best block changes or
	// timeout passes; an error wrapping chain.ErrMethodNotFound makes the
	// scanner poll instead.
	WaitForNewBlock(ctx context.Context, timeout time.Duration) error
}

var _ BlockSource = (*chain.Node)(nil)

// ScanStore is what the scanner keeps in the store. *store.DB implements
// it.
type ScanStore interface {
	Cursor(coin string) (store.Cursor, error)
	Start(coin string, blocks []store.BlockRef) error
	Apply(c *store.Changes) error
	Rollback(coin string) (*store.Undo, error)
	BlockHash(coin string, height int64) (ferry.Hash, error)
	AddressByProgram(coin string, program []byte) (*store.Address, error)
	IdleAddresses(coin string, before time.Time, limit int) ([]*store.Address, error)
	OpenDeposits(coin string) ([]*ferry.Deposit, error)
}

var _ ScanStore = (*store.DB)(nil)

// BlockObserver learns of every block the scanner records or rolls back,
// once the store has it. It is called from the scanner's goroutine.
type BlockObserver interface {
	Applied(ctx context.Context, c *store.Changes)
	RolledBack(ctx context.Context, coin string, u *store.Undo)
}

// ScannerConfig configures a Scanner.
type ScannerConfig struct {
	Coin   *chain.Coin
	Blocks BlockSource
	Store  ScanStore
	// Watch is the coin's watch set: the scanner removes the addresses
	// that expire, and puts back those a rollback returns.
	Watch *store.WatchSet
	Clock clock.Clock
	// PollInterval is how often a node without long polling is asked for
	// its best block.
	PollInterval time.Duration
	// WatchFor is how long after its last activity an address stays
	// watched (expiry and grace); 0 watches every address for ever.
	WatchFor  time.Duration
	Observers []BlockObserver
	// Metrics is told of the node's height and of each block; nil:
	// nothing is.
	Metrics Metrics
	Log     zerolog.Logger
}

// Scanner brings the store up to the node's chain, block by block: it
// records the deposits each block pays and the ones it spends, rolls back
// the blocks a reorg orphans, and expires idle addresses. Its methods are
// called from one goroutine, but Height and Started.
type Scanner struct {
	cfg ScannerConfig
	id  string
	// open is the set of recorded deposits not yet spent on chain.
	open map[ferry.OutPoint]struct{}
	// longPoll is cleared when the node turns out not to support
	// waitfornewblock.
	longPoll bool
	// seen is the node's best block when the last sync ended: Wait waits
	// for it to change.
	seen ferry.Hash

	height  atomic.Int64
	started atomic.Bool
}

// fatalError marks an error after which a coin's scanner must stop: its
// store can no longer be trusted to follow the chain.
type fatalError struct{ err error }

// Error returns the cause's message.
func (e fatalError) Error() string { return e.err.Error() }

// Unwrap returns the cause.
func (e fatalError) Unwrap() error { return e.err }

// Wait bounds of the scanner.
const (
	// longPollTimeout bounds one waitfornewblock call. A block that lands
	// between the scanner's check of the best block and its long poll is
	// seen when the poll times out, so this is the worst-case delay.
	longPollTimeout = time.Second
	// firstStartDepth is how many blocks below the node's best block a
	// first start records, so that a reorg right after it rolls back like
	// any other.
	firstStartDepth = 100
	// maxExpiryPerBlock bounds the addresses one block expires; the rest
	// follow with the next blocks.
	maxExpiryPerBlock = 10_000
)

// NewScanner returns a scanner over cfg's store, with its open deposits
// loaded. It does not contact the node.
func NewScanner(cfg ScannerConfig) (*Scanner, error) {
	cfg.Metrics = orNop(cfg.Metrics)
	s := &Scanner{cfg: cfg, id: cfg.Coin.ID(), longPoll: true}
	if err := s.loadOpen(); err != nil {
		return nil, err
	}
	if cur, err := cfg.Store.Cursor(s.id); err == nil {
		s.height.Store(cur.Height)
		s.started.Store(true)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return s, nil
}

// Height returns the height of the last block recorded.
func (s *Scanner) Height() int64 { return s.height.Load() }

// Started reports whether the coin has a scan cursor: before it, an address
// handed out could be paid in a block the first scan would start after.
func (s *Scanner) Started() bool { return s.started.Load() }

// OpenDeposits returns how many recorded deposits are not spent on chain.
func (s *Scanner) OpenDeposits() int { return len(s.open) }

// loadOpen (re)loads the set of open deposits from the store.
func (s *Scanner) loadOpen() error {
	deps, err := s.cfg.Store.OpenDeposits(s.id)
	if err != nil {
		return fmt.Errorf("%s: load open deposits: %w", s.cfg.Coin.Name(), err)
	}
	s.open = make(map[ferry.OutPoint]struct{}, len(deps))
	for _, d := range deps {
		s.open[d.OutPoint] = struct{}{}
	}
	return nil
}

// Cursor returns the scan cursor, setting it on the coin's first start at
// the node's best block, with the blocks below it recorded.
func (s *Scanner) Cursor(ctx context.Context) (store.Cursor, error) {
	cur, err := s.cfg.Store.Cursor(s.id)
	if !errors.Is(err, store.ErrNotFound) {
		if err != nil {
			return cur, fatalError{err}
		}
		return cur, nil
	}
	tip, err := s.cfg.Blocks.BlockCount(ctx)
	if err != nil {
		return cur, err
	}
	from := max(0, tip-firstStartDepth)
	prev := ferry.Hash{}
	if from > 0 {
		if prev, err = s.cfg.Blocks.BlockHash(ctx, from-1); err != nil {
			return cur, err
		}
	}
	refs := make([]store.BlockRef, 0, tip-from+1)
	for h := from; h <= tip; h++ {
		hash, err := s.cfg.Blocks.BlockHash(ctx, h)
		if err != nil {
			return cur, err
		}
		refs = append(refs, store.BlockRef{Height: h, Hash: hash, Prev: prev})
		prev = hash
	}
	if err := s.cfg.Store.Start(s.id, refs); err != nil {
		return cur, fatalError{err}
	}
	s.started.Store(true)
	s.height.Store(tip)
	s.cfg.Log.Info().Int64("height", tip).Str("hash", prev.String()).Int("recorded_below", len(refs)-1).
		Msg("first start: scanning from the node's best block")
	return store.Cursor{Height: tip, Hash: prev}, nil
}

// Sync applies the node's blocks after the cursor until the cursor is the
// node's best block, rolling back the blocks a reorg has orphaned, and
// returns the new cursor. A node behind the cursor on the same chain is
// waited for, not followed back.
func (s *Scanner) Sync(ctx context.Context) (store.Cursor, error) {
	cur, err := s.Cursor(ctx)
	if err != nil {
		return cur, err
	}
	for {
		if err := ctx.Err(); err != nil {
			return cur, err
		}
		tip, err := s.cfg.Blocks.BlockCount(ctx)
		if err != nil {
			return cur, err
		}
		s.cfg.Metrics.NodeHeight(s.id, tip)
		if cur.Height >= tip {
			hash, err := s.cfg.Blocks.BlockHash(ctx, tip)
			if err != nil {
				return cur, err
			}
			if cur.Height == tip && hash == cur.Hash {
				s.seen = hash
				return cur, nil
			}
			if cur.Height > tip {
				// A node below the cursor is either behind (reindexing,
				// syncing, restored) or on a shorter fork. Only a block
				// that differs from the one recorded at the node's
				// height shows a fork; without one, wait for the node.
				ours, err := s.cfg.Store.BlockHash(s.id, tip)
				if errors.Is(err, store.ErrNotFound) || err == nil && ours == hash {
					s.seen = hash
					s.cfg.Log.Debug().Int64("node_height", tip).Int64("scan_height", cur.Height).Msg("node is behind the scanner: waiting")
					return cur, nil
				}
				if err != nil {
					return cur, fatalError{err}
				}
			}
			if cur, err = s.rollback(ctx); err != nil {
				return cur, err
			}
			continue
		}

		if cur, err = s.applyUpTo(ctx, cur, tip); err != nil {
			return cur, err
		}
	}
}

// applyUpTo applies the node's blocks after cur up to height tip, the next
// ones fetched while the last is applied (see prefetch), and returns the
// new cursor. At a block that does not extend the cursor (a reorg) it rolls
// the cursor block back and returns, for Sync to look again.
func (s *Scanner) applyUpTo(ctx context.Context, cur store.Cursor, tip int64) (store.Cursor, error) {
	blocks, stop := s.prefetch(ctx, cur.Height+1, tip)
	defer stop()
	for f := range blocks {
		if f.err != nil {
			return cur, f.err
		}
		if f.blk.Prev() != cur.Hash {
			return s.rollback(ctx)
		}
		next, err := s.apply(ctx, f.blk, f.height)
		if err != nil {
			return cur, err
		}
		cur = next
		if err := ctx.Err(); err != nil {
			return cur, err
		}
	}
	return cur, nil
}

// apply scans blk, the block at height, and commits what it found, with
// the addresses whose watch has run out by the block's time.
func (s *Scanner) apply(ctx context.Context, blk *chain.Block, height int64) (store.Cursor, error) {
	c, err := s.scan(blk, height)
	if err != nil {
		return store.Cursor{}, fatalError{err}
	}
	c.Now = blk.Time()
	expired, err := s.expiring(c)
	if err != nil {
		return store.Cursor{}, fatalError{err}
	}
	start := s.cfg.Clock.Now()
	if err := s.cfg.Store.Apply(c); err != nil {
		return store.Cursor{}, fatalError{err}
	}
	s.cfg.Metrics.Scanned(s.id, height, len(c.Deposits), s.cfg.Clock.Now().Sub(start))
	for _, a := range expired {
		s.cfg.Watch.Remove(a.Program[:])
		s.cfg.Log.Info().Str("address", a.Address).Uint32("index", a.Index).Time("idle_since", a.LastActivity).Msg("address expired")
	}
	for _, d := range c.Deposits {
		s.open[d.OutPoint] = struct{}{}
		s.cfg.Log.Info().Str("outpoint", d.OutPoint.String()).Uint32("index", d.AddrIndex).
			Int64("value", int64(d.Value)).Int64("height", height).Int64("maturity", d.Maturity).Msg("deposit detected")
	}
	for _, sp := range c.Spends {
		delete(s.open, sp.OutPoint)
		s.cfg.Log.Info().Str("outpoint", sp.OutPoint.String()).Str("spent_by", sp.TxID.String()).
			Int64("height", height).Msg("deposit spent")
	}
	s.height.Store(height)
	for _, o := range s.cfg.Observers {
		o.Applied(ctx, c)
	}
	return store.Cursor{Height: height, Hash: blk.Hash()}, nil
}

// scan finds the deposits to watched addresses in blk and the open
// deposits it spends. It hashes only the transactions that matter.
func (s *Scanner) scan(blk *chain.Block, height int64) (*store.Changes, error) {
	c := &store.Changes{Coin: s.id, Height: height, Hash: blk.Hash(), Prev: blk.Prev(), Time: blk.Time()}
	created := map[ferry.OutPoint]bool{} // deposits paid in this block, which it may also spend
	var (
		tx     int
		txid   ferry.Hash
		hashed bool
		err    error
	)
	id := func() ferry.Hash {
		if !hashed {
			txid, hashed = blk.TxID(tx), true
		}
		return txid
	}
	onInput := func(prev ferry.OutPoint) {
		_, open := s.open[prev]
		if open || created[prev] {
			c.Spends = append(c.Spends, store.Spend{OutPoint: prev, TxID: id()})
		}
	}
	onOutput := func(vout uint32, value int64, script []byte) {
		prog, ok := chain.P2WPKHProgram(script)
		if !ok || !s.cfg.Watch.MayContain(prog) || err != nil {
			return
		}
		addr, aerr := s.cfg.Store.AddressByProgram(s.id, prog)
		if errors.Is(aerr, store.ErrNotFound) {
			return // a fingerprint collision
		}
		if aerr != nil {
			err = aerr
			return
		}
		op := ferry.OutPoint{Hash: id(), Index: vout}
		c.Deposits = append(c.Deposits, ferry.Deposit{
			OutPoint:  op,
			AddrIndex: addr.Index,
			Value:     ferry.Amount(value),
			Height:    height,
			BlockHash: blk.Hash(),
			Maturity:  s.cfg.Coin.Maturity(blk.Kind(tx)),
		})
		created[op] = true
	}
	for tx = 0; tx < blk.NumTx(); tx++ {
		hashed = false
		blk.Inputs(tx, onInput)
		blk.Outputs(tx, onOutput)
	}
	return c, err
}

// expiring lists the watched addresses whose watch has run out at c's
// time and adds them to c. An address paid in this block stays. (An
// address whose deposit is still to be forwarded may expire: the forwarder
// follows deposits, not addresses; expiry only stops new payments from
// being picked up.) The watch lasts the address expiry and a grace as long
// as a node keeps a transaction in its mempool, so a payment made before
// the address expired is picked up whenever it is mined, whatever ferry
// was doing meanwhile.
func (s *Scanner) expiring(c *store.Changes) ([]*store.Address, error) {
	if s.cfg.WatchFor <= 0 {
		return nil, nil
	}
	idle, err := s.cfg.Store.IdleAddresses(s.id, c.Now.Add(-s.cfg.WatchFor), maxExpiryPerBlock)
	if err != nil || len(idle) == 0 {
		return nil, err
	}
	paid := map[uint32]bool{}
	for _, d := range c.Deposits {
		paid[d.AddrIndex] = true
	}
	var out []*store.Address
	for _, a := range idle {
		if paid[a.Index] {
			continue
		}
		out = append(out, a)
		c.Expire = append(c.Expire, a.Index)
	}
	return out, nil
}

// rollback undoes the cursor block after a reorg.
func (s *Scanner) rollback(ctx context.Context) (store.Cursor, error) {
	undo, err := s.cfg.Store.Rollback(s.id)
	if err != nil {
		return store.Cursor{}, fatalError{err}
	}
	if err := s.loadOpen(); err != nil {
		return store.Cursor{}, fatalError{err}
	}
	for _, p := range undo.Rewatched {
		s.cfg.Watch.Add(p)
	}
	s.height.Store(undo.Cursor.Height)
	s.cfg.Metrics.RolledBack(s.id, undo.Cursor.Height)
	s.cfg.Log.Warn().Int64("height", undo.Cursor.Height+1).Int("rewatched", len(undo.Rewatched)).Msg("reorg: rolled back block")
	for _, o := range s.cfg.Observers {
		o.RolledBack(ctx, s.id, undo)
	}
	return undo.Cursor, nil
}

// Wait returns when the node's best block is no longer the one the last
// Sync saw, or after a bounded wait (a long poll, or the poll interval),
// or at until if that comes first (the zero time: no limit).
func (s *Scanner) Wait(ctx context.Context, until time.Time) error {
	best, err := s.cfg.Blocks.BestBlockHash(ctx)
	if err != nil || best != s.seen {
		return err
	}
	wait := s.cfg.PollInterval
	if !until.IsZero() {
		wait = min(wait, max(0, until.Sub(s.cfg.Clock.Now())))
	}
	if s.longPoll && wait >= s.cfg.PollInterval {
		err := s.cfg.Blocks.WaitForNewBlock(ctx, longPollTimeout)
		if !errors.Is(err, chain.ErrMethodNotFound) {
			return err
		}
		s.longPoll = false
		s.cfg.Log.Info().Dur("interval", s.cfg.PollInterval).Msg("node has no waitfornewblock: polling")
	}
	select {
	case <-ctx.Done():
	case <-s.cfg.Clock.After(wait):
	}
	return nil
}
