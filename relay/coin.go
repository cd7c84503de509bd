package relay

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/store"
)

// coinRunner is one coin at run time: its chain, its watch set, and the
// state of its scanner.
type coinRunner struct {
	Chain
	svc    *Service
	db     *store.DB
	log    zerolog.Logger
	ticker string
	watch  *store.WatchSet

	mintMu sync.Mutex
	next   uint32 // next derivation index to hand out

	// open is the set of recorded deposits not yet spent on chain; only
	// the run goroutine touches it.
	open map[chain.OutPoint]struct{}
	// longPoll is cleared when the node turns out not to support
	// waitfornewblock.
	longPoll bool
	// forwardedAt is the cursor block at the last complete forwarder pass.
	forwardedAt chain.Hash
	// postponed remembers the deposits already reported as too small to
	// forward, to report them once.
	postponed map[chain.OutPoint]bool

	// mempool is what the node's mempool pays to input addresses.
	mempool *mempoolView

	// Read by Health while the scanner runs.
	scanHeight atomic.Int64
	// scanning is set once the coin has a scan cursor: before it, an
	// address handed out could be paid in a block the first scan would
	// start after, so none is handed out.
	scanning atomic.Bool
	halted   atomic.Pointer[string]
}

func newCoinRunner(s *Service, ch Chain) (*coinRunner, error) {
	if ch.Coin == nil || ch.Node == nil || ch.Keys == nil {
		return nil, fmt.Errorf("chain: coin, node and keys are required")
	}
	if ch.FeeAddress.Script == nil {
		return nil, fmt.Errorf("%s: a fee address is required", ch.Coin.Name())
	}
	r := &coinRunner{
		Chain:     ch,
		svc:       s,
		db:        s.db,
		ticker:    ch.Coin.Ticker(),
		log:       s.log.With().Str("component", "relay").Str("coin", ch.Coin.Ticker()).Logger(),
		longPoll:  true,
		postponed: map[chain.OutPoint]bool{},
		mempool:   newMempoolView(),
	}
	var err error
	if r.watch, err = s.db.LoadWatchSet(r.ticker); err != nil {
		return nil, fmt.Errorf("%s: load watch set: %w", ch.Coin.Name(), err)
	}
	if r.next, err = s.db.NextIndex(r.ticker); err != nil {
		return nil, fmt.Errorf("%s: %w", ch.Coin.Name(), err)
	}
	if err := r.loadOpen(); err != nil {
		return nil, err
	}
	if cur, err := s.db.Cursor(r.ticker); err == nil {
		r.scanHeight.Store(cur.Height)
		r.scanning.Store(true)
	}
	return r, nil
}

// loadOpen (re)loads the set of open deposits from the store.
func (r *coinRunner) loadOpen() error {
	deps, err := r.db.OpenDeposits(r.ticker)
	if err != nil {
		return fmt.Errorf("%s: load open deposits: %w", r.Coin.Name(), err)
	}
	r.open = make(map[chain.OutPoint]struct{}, len(deps))
	for _, d := range deps {
		r.open[chain.OutPoint{Hash: d.OutPoint.TxID, Index: d.OutPoint.Vout}] = struct{}{}
	}
	return nil
}

// storeOP and chainOP convert outpoints between the two packages.
func storeOP(o chain.OutPoint) store.OutPoint { return store.OutPoint{TxID: o.Hash, Vout: o.Index} }
func chainOP(o store.OutPoint) chain.OutPoint { return chain.OutPoint{Hash: o.TxID, Index: o.Vout} }
