package relay

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/store"
)

// Node is what the service needs from a coin's full node. *chain.Node
// implements it.
type Node interface {
	BlockCount(ctx context.Context) (int64, error)
	BestBlockHash(ctx context.Context) (chain.Hash, error)
	BlockHash(ctx context.Context, height int64) (chain.Hash, error)
	RawBlock(ctx context.Context, hash chain.Hash) ([]byte, error)
	// WaitForNewBlock returns when the node's best block changes or
	// timeout passes; an error wrapping chain.ErrMethodNotFound makes the
	// scanner poll instead.
	WaitForNewBlock(ctx context.Context, timeout time.Duration) error
	SendRawTransaction(ctx context.Context, raw []byte) (chain.Hash, error)
	// EstimateFeeRate and MinFeeRate answer in satoshis per 1000 vbytes.
	EstimateFeeRate(ctx context.Context, target int) (int64, error)
	MinFeeRate(ctx context.Context) (int64, error)
	// RawMempool and RawTransaction show the unconfirmed deposits.
	RawMempool(ctx context.Context) ([]chain.Hash, error)
	RawTransaction(ctx context.Context, txid chain.Hash) ([]byte, error)
}

// Clock is the service's source of time, a seam for tests.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Config is the part of the service's configuration shared by all coins.
type Config struct {
	// FeePercent is the service fee, a fraction of each deposit.
	FeePercent Fraction
	// ForwardConfirmations is the number of confirmations a deposit needs
	// before it is forwarded; at least 1.
	ForwardConfirmations int64
	// FeeTarget is the confirmation target, in blocks, asked of the node's
	// fee estimator.
	FeeTarget int
	// PollInterval is how often the scanner asks a node without long
	// polling for its best block.
	PollInterval time.Duration
	// AddressExpiry is the idle time, counted in block time, after which
	// an input address leaves the watch set; 0 keeps every address.
	AddressExpiry time.Duration
	// Callbacks configures the merchant callbacks.
	Callbacks CallbackConfig
	// RateLimit is the number of API requests a client may make per
	// minute; 0 turns the limit off.
	RateLimit int
	// ClientIPHeader names a header, set by the operator's reverse proxy,
	// that carries the client's IP for the rate limit; empty uses the
	// connection's address.
	ClientIPHeader string
	// Clock defaults to the system clock.
	Clock Clock
}

// CallbackConfig configures the merchant callbacks.
type CallbackConfig struct {
	// Outbound checks callback hosts and connects to them. It is
	// required.
	Outbound Outbound
	// Key signs callbacks: X-Ferry-Signature carries
	// HMAC-SHA256(Key, t + "." + URL).
	Key []byte
	// MaxConfirmations is the confirmation count after which a callback
	// that never got *ok* is no longer sent.
	MaxConfirmations int64
	// Timeout bounds one request.
	Timeout time.Duration
	// Workers bounds the requests in flight; PerHost bounds those to one
	// host, so that a dead merchant holds at most PerHost workers.
	Workers, PerHost int
}

// Outbound is how callbacks reach merchants; *torproxy.Dialer implements
// it.
type Outbound interface {
	// DialContext connects, refusing forbidden addresses at dial time.
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
	// CheckHost reports whether callbacks may reach host.
	CheckHost(ctx context.Context, host string) error
}

// DefaultConfig returns the defaults: a 1% fee, one confirmation, a fee
// target of 3 blocks, 250 ms polling, addresses idle for 30 days expire,
// callbacks up to 100 confirmations with a 10 s timeout, 100 API requests
// per minute per client.
func DefaultConfig() Config {
	fee, _ := ParseFraction("0.01")
	return Config{
		FeePercent:           fee,
		ForwardConfirmations: 1,
		FeeTarget:            3,
		PollInterval:         250 * time.Millisecond,
		AddressExpiry:        720 * time.Hour,
		Callbacks:            CallbackConfig{MaxConfirmations: 100, Timeout: 10 * time.Second, Workers: 32, PerHost: 2},
		RateLimit:            100,
	}
}

// Chain is one coin as the service runs it.
type Chain struct {
	Coin *chain.Coin
	Node Node
	Keys *chain.Keychain
	// FeeAddress receives the service fees and swept donations.
	FeeAddress chain.Destination
	// MinDeposit, in satoshis: smaller deposits are donations.
	MinDeposit int64
	// FallbackFeeRate, in satoshis per 1000 vbytes, is used when the node
	// has no fee estimate.
	FallbackFeeRate int64
}

// Service is ferry's relay: the API, and for each coin a scanner and a
// forwarder. Create it with New, serve Handler, and call Run.
type Service struct {
	cfg       Config
	db        *store.DB
	log       zerolog.Logger
	coins     map[string]*coinRunner // by Coin.Name()
	order     []*coinRunner
	callbacks *callbacker
	limiter   *rateLimiter
	// onionLimiter is the onion service's one shared budget.
	onionLimiter *rateLimiter
	onion        atomic.Pointer[Onion]
	runMu        sync.Mutex
	started      bool
}

// New returns a service for chains over db. It loads each coin's watch set
// and open deposits; it does not contact the nodes.
func New(cfg Config, db *store.DB, chains []Chain, log zerolog.Logger) (*Service, error) {
	if cfg.ForwardConfirmations < 1 {
		return nil, fmt.Errorf("forward confirmations must be at least 1, not %d", cfg.ForwardConfirmations)
	}
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultConfig().PollInterval
	}
	if cfg.FeeTarget <= 0 {
		cfg.FeeTarget = DefaultConfig().FeeTarget
	}
	if len(chains) == 0 {
		return nil, errors.New("no coin is enabled")
	}
	if cfg.Callbacks.Outbound == nil {
		return nil, errors.New("callbacks need an outbound dialer")
	}
	def := DefaultConfig().Callbacks
	if cfg.Callbacks.Timeout <= 0 {
		cfg.Callbacks.Timeout = def.Timeout
	}
	if cfg.Callbacks.Workers <= 0 {
		cfg.Callbacks.Workers = def.Workers
	}
	if cfg.Callbacks.PerHost <= 0 {
		cfg.Callbacks.PerHost = def.PerHost
	}
	if cfg.Callbacks.MaxConfirmations <= 0 {
		cfg.Callbacks.MaxConfirmations = def.MaxConfirmations
	}
	s := &Service{cfg: cfg, db: db, log: log, coins: map[string]*coinRunner{}}
	s.callbacks = newCallbacker(cfg.Callbacks, db, cfg.Clock, log.With().Str("component", "callbacks").Logger())
	s.limiter = newRateLimiter(cfg.RateLimit, cfg.Clock)
	s.onionLimiter = newRateLimiter(cfg.RateLimit*onionRateFactor, cfg.Clock)
	for _, ch := range chains {
		if _, dup := s.coins[ch.Coin.Name()]; dup {
			return nil, fmt.Errorf("%s configured twice", ch.Coin.Name())
		}
		r, err := newCoinRunner(s, ch)
		if err != nil {
			return nil, err
		}
		s.coins[ch.Coin.Name()] = r
		s.order = append(s.order, r)
	}
	return s, nil
}

// Prepare sets the scan cursor of every coin that has none yet (a first
// start) at its node's best block, for the nodes that answer within ctx.
// Until a coin has a cursor its addresses are not handed out, so calling
// Prepare before serving the API spares the first clients a refusal. Run
// does the same for the nodes that did not answer.
func (s *Service) Prepare(ctx context.Context) {
	for _, r := range s.order {
		if _, err := r.cursor(ctx); err != nil {
			r.log.Warn().Err(err).Msg("node not reachable yet; addresses are handed out once it is")
		}
	}
}

// Run runs every coin's scanner and forwarder until ctx is done, and returns
// nil then. It returns an error early only if a coin cannot go on safely: a
// reorg deeper than the store can undo, or a store failure.
func (s *Service) Run(ctx context.Context) error {
	s.runMu.Lock()
	if s.started {
		s.runMu.Unlock()
		return errors.New("relay: Run called twice")
	}
	s.started = true
	s.runMu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(s.order))
	var mempools sync.WaitGroup
	for _, r := range s.order {
		go func() { errs <- r.run(ctx) }()
		mempools.Go(func() { r.watchMempool(ctx) })
	}
	var first error
	for range s.order {
		if err := <-errs; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	cancel()
	mempools.Wait()
	s.callbacks.wait()
	return first
}
