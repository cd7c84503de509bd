package relay

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/notify"
	"github.com/ferry-relay/ferry/store"
)

// HostChecker says whether callbacks may reach a host, when a callback URL
// is registered. *torproxy.Dialer implements it.
type HostChecker interface {
	CheckHost(ctx context.Context, host string) error
}

// Deps are what the engine runs on, besides its Config.
type Deps struct {
	Store *store.DB
	Coins []Coin
	// Hosts checks callback hosts at registration; the notifier's dialer
	// checks every address it connects to.
	Hosts HostChecker
	// Waker is woken when callbacks may have come due.
	Waker Waker
	// Releaser decides about deposits before they are forwarded; nil
	// forwards every deposit.
	Releaser Releaser
	// Events receives the deposits' changes and the blocks scanned (see
	// Event), without the engine ever waiting for it; nil: none are sent.
	Events chan<- Event
	// Metrics is told what happens; nil: nothing is.
	Metrics Metrics
	Log     zerolog.Logger
}

// Engine is ferry's relay: for each coin, a pipeline that scans blocks into
// the store, forwards deposits, and starts callbacks, and a watcher of the
// node's mempool; and the calls the API makes of them. Create it with New
// and call Run. Its calls are safe for concurrent use.
type Engine struct {
	cfg    Config
	db     *store.DB
	ledger *Ledger
	hosts  HostChecker
	log    zerolog.Logger
	coins  map[string]*coinRunner // by coin id
	order  []*coinRunner

	runMu   sync.Mutex
	started bool
}

// New returns an engine for cfg over deps. It loads each coin's watch set
// and open deposits; it does not contact the nodes. It refuses a
// configuration that does not validate.
func New(cfg Config, deps Deps) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	switch {
	case deps.Store == nil:
		return nil, errors.New("relay: a store is required")
	case len(deps.Coins) == 0:
		return nil, errors.New("relay: no coin is enabled")
	case deps.Hosts == nil || deps.Waker == nil:
		return nil, errors.New("relay: Hosts and Waker are required")
	}
	e := &Engine{cfg: cfg, db: deps.Store, ledger: NewLedger(deps.Store, deps.Coins), hosts: deps.Hosts, log: deps.Log, coins: map[string]*coinRunner{}}
	for _, c := range deps.Coins {
		if err := c.validate(); err != nil {
			return nil, err
		}
		if _, dup := e.coins[c.Chain.ID()]; dup {
			return nil, fmt.Errorf("relay: %s configured twice", c.Chain.Name())
		}
		r, err := e.newCoin(c, deps)
		if err != nil {
			return nil, err
		}
		e.coins[r.id] = r
		e.order = append(e.order, r)
	}
	return e, nil
}

// newCoin assembles one coin's parts.
func (e *Engine) newCoin(c Coin, deps Deps) (*coinRunner, error) {
	id := c.Chain.ID()
	log := deps.Log.With().Str("coin", id).Logger()
	watch, err := e.db.LoadWatchSet(id)
	if err != nil {
		return nil, fmt.Errorf("%s: load watch set: %w", c.Chain.Name(), err)
	}
	r := &coinRunner{Coin: c, id: id, watch: watch, waker: deps.Waker, pub: publisher(deps.Events), events: &blockEvents{id: id, min: c.MinDeposit}, clock: e.cfg.Clock,
		log: log.With().Str("component", "scanner").Logger()}
	starter := &callbackStarter{id: id, store: e.db, tip: func() int64 { return r.scanner.Height() }, waker: deps.Waker,
		log: log.With().Str("component", "callbacks").Logger()}
	r.forwarder = NewForwarder(ForwarderConfig{
		Coin:             c.Chain,
		Keys:             c.Keys,
		Broadcaster:      c.Broadcaster,
		Fees:             c.Fees,
		Store:            e.db,
		Clock:            e.cfg.Clock,
		FeeAddress:       c.FeeAddress,
		FeePercent:       e.cfg.FeePercent,
		RefundFeePercent: e.cfg.RefundFee(),
		MinDeposit:       c.MinDeposit,
		FallbackFeeRate:  c.FallbackFeeRate,
		FeeTarget:        e.cfg.FeeTarget,
		Confirmations:    e.cfg.ForwardConfirmations,
		Listener:         starter,
		Releaser:         deps.Releaser,
		Events:           deps.Events,
		Metrics:          deps.Metrics,
		Log:              log.With().Str("component", "forwarder").Logger(),
	})
	watchFor := time.Duration(0)
	if e.cfg.AddressExpiry > 0 {
		watchFor = e.cfg.AddressExpiry + e.cfg.ExpiryGrace
	}
	if r.scanner, err = NewScanner(ScannerConfig{
		Coin:         c.Chain,
		Blocks:       c.Blocks,
		Store:        e.db,
		Watch:        watch,
		Clock:        e.cfg.Clock,
		PollInterval: e.cfg.PollInterval,
		WatchFor:     watchFor,
		Observers:    []BlockObserver{r.forwarder, r.events},
		Metrics:      deps.Metrics,
		Log:          r.log,
	}); err != nil {
		return nil, err
	}
	r.mempool = NewMempoolWatcher(MempoolWatcherConfig{
		Coin:      c.Chain,
		Source:    c.Mempool,
		Store:     e.db,
		Watch:     watch,
		Clock:     e.cfg.Clock,
		Recheck:   10 * time.Second,
		Reconnect: time.Second,
		Events:    deps.Events,
		Log:       log.With().Str("component", "mempool").Logger(),
	})
	if r.minter, err = NewMinter(c.Chain, c.Keys, e.db, watch, e.cfg.Clock); err != nil {
		return nil, fmt.Errorf("%s: %w", c.Chain.Name(), err)
	}
	return r, nil
}

// NewCallbackQueues returns the callback queue of each coin, for the
// notifier that delivers them; key signs the callbacks (see Sign).
func NewCallbackQueues(cfg Config, db *store.DB, coins []Coin, key []byte, m Metrics, log zerolog.Logger) []notify.Queue {
	var qs []notify.Queue
	for _, c := range coins {
		qs = append(qs, NewCallbackQueue(CallbackQueueConfig{
			Coin:             c.Chain,
			Store:            db,
			Key:              key,
			MaxConfirmations: cfg.MaxCallbackConfirmations,
			Clock:            cfg.Clock,
			Metrics:          m,
			Log:              log.With().Str("component", "callbacks").Str("coin", c.Chain.ID()).Logger(),
		}))
	}
	return qs
}

// Prepare sets the scan cursor of every coin that has none yet (a first
// start) at its node's best block, for the nodes that answer within ctx.
// Until a coin has a cursor its addresses are not handed out, so calling
// Prepare before serving the API spares the first clients a refusal. Run
// does the same for the nodes that did not answer.
func (e *Engine) Prepare(ctx context.Context) {
	for _, r := range e.order {
		if _, err := r.scanner.Cursor(ctx); err != nil {
			r.log.Warn().Err(err).Msg("node not reachable yet; addresses are handed out once it is")
		}
	}
}

// Run runs every coin's pipeline, mempool watcher and minter (which keeps
// input addresses derived ahead) until ctx is done, and
// returns nil then. It returns an error early only if a coin cannot go on
// safely: a reorg deeper than the store can undo, or a store failure.
func (e *Engine) Run(ctx context.Context) error {
	e.runMu.Lock()
	if e.started {
		e.runMu.Unlock()
		return errors.New("relay: Run called twice")
	}
	e.started = true
	e.runMu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(e.order))
	var watchers sync.WaitGroup
	for _, r := range e.order {
		go func() { errs <- r.run(ctx) }()
		watchers.Go(func() { r.mempool.Run(ctx) })
		watchers.Go(func() { r.minter.Run(ctx) })
	}
	var first error
	for range e.order {
		if err := <-errs; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	cancel()
	watchers.Wait()
	return first
}

// coin returns the running coin with id, or an error that says why there
// is none.
func (e *Engine) coin(id string) (*coinRunner, error) {
	if r, ok := e.coins[id]; ok {
		return r, nil
	}
	if name := chain.CoinName(id); name != "" {
		return nil, ferry.Errorf(ferry.KindUnavailable, "%s is not enabled on this server", name)
	}
	return nil, ferry.Errorf(ferry.KindUnsupported, "coin %.20q is not supported: this server relays ltc and btc only", id)
}
