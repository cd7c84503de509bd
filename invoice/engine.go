// Package invoice is ferry's invoice engine: the one place where invoices
// (and the payment sessions and orders other gateways call them) live.
//
// An invoice is an amount a vendor asks, in fiat (quoted in each coin the
// vendor takes, a quote valid for a while) or in a coin. It gets one input
// address per coin from the relay engine: an ordinary input address paying
// the vendor's payout address, so that its payments take the money path
// every deposit takes (forwarded less the fee, after the configured
// confirmations). Its status is worked out from those payments (the
// relay's ferry.Deposit values), the clock and its expiry; the engine
// follows the relay's deposit events to look at an invoice as soon as it
// is paid, and tells the vendor when its status changes for good: a
// callback through the notifier, an email through the mailer, webhooks in
// the words of the dialect that created it.
//
// The hold policy (Holds) decides, for the relay, what becomes of a
// payment an invoice does not take: held for the vendor to accept or
// refund. It is built before the relay and handed to it; the Engine is
// built over both, and shares the policy's lock. The API's dialects are
// thin adapters over Create, Show, Find, Cancel, Accept, Refund and the
// vendor calls.
package invoice

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/mail"
	"github.com/ferry-relay/ferry/notify"
	"github.com/ferry-relay/ferry/rates"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/store"
)

// Relay is what invoices need of the relay engine. *relay.Engine
// implements it.
type Relay interface {
	Mint(ctx context.Context, req relay.MintRequest) (*store.Address, error)
	Report(ctx context.Context, coin, address string) (*relay.Report, error)
	Coins() []string
	Height(coin string) int64
	MinDeposit(coin string) ferry.Amount
	Nudge(coin string)
	CheckHost(ctx context.Context, host string) error
}

var _ Relay = (*relay.Engine)(nil)

// Store is what the engine keeps. *store.DB implements it.
type Store interface {
	VendorStore
	PutInvoice(inv *store.Invoice, ids store.IDs, maxOpen int) error
	UpdateInvoice(inv *store.Invoice) error
	CloseInvoice(id string) error
	OpenInvoicesOf(vendor string) (int, error)
	Invoice(id string) (*store.Invoice, error)
	InvoiceByNumber(vendor, dialect, number string) (*store.Invoice, error)
	OpenInvoices() ([]string, error)
	CallbackStore
	WebhookStore
	HoldStore
	LedgerStore
}

var _ Store = (*store.DB)(nil)

// Quoter prices coins in fiat currencies. *rates.Cache implements it.
type Quoter interface {
	Price(ctx context.Context, p rates.Pair) (rates.Price, error)
}

// Mailer queues email to vendors, to be sent in the background.
// *mail.Mailer implements it.
type Mailer interface {
	Enqueue(m mail.Message) error
}

// Config configures an Engine.
type Config struct {
	// Network is the chain network of the vendors' payout addresses.
	Network chain.Network
	Relay   Relay
	Store   Store
	Quoter  Quoter
	// Mailer sends vendors their email; nil sends none.
	Mailer Mailer
	// Waker is woken when an invoice's callback is queued.
	Waker relay.Waker
	// Holds is the hold policy the relay asks (built before it): the
	// engine shares its rules (confirmations, tolerance) and its lock.
	Holds *Holds
	// Events are the relay's (relay.Deps.Events): a deposit of an
	// invoice's address has its invoice looked at at once, a block every
	// open invoice; nil: the engine looks every Recheck only.
	Events <-chan relay.Event
	Clock  clock.Clock
	// QuoteValidity is how long a fiat quote holds (LitePay: 15 minutes);
	// Expiry how long an invoice stays payable (LitePay: 30 days).
	QuoteValidity time.Duration
	Expiry        time.Duration
	// MaxCallbackBlocks bounds how many blocks a callback never answered
	// *ok* is sent again. Invoice callbacks are signed with their vendor's
	// webhook secret, never with the relay's callback key.
	MaxCallbackBlocks int64
	// Recheck is how often open invoices are looked at between blocks
	// (unconfirmed payments, expiry).
	Recheck time.Duration
	// Name is how emails sign ("ferry").
	Name string
	// Announcers tell of invoices' status changes in webhooks, by the
	// dialect that created them; a dialect without one sends none.
	Announcers map[string]Announcer
	// MaxOpen is the most unpaid open invoices a vendor may have (0: no
	// limit): the engine looks at every open invoice every Recheck, so one
	// key must not open them without bound, and one nobody paid costs its
	// maker nothing (see store.DB.OpenInvoicesOf).
	MaxOpen int
	Log     zerolog.Logger
}

// DefaultMaxOpen is the default of Config.MaxOpen: 20,000 unpaid open
// invoices a vendor, about 660 abandoned a day at the default expiry of 30
// days.
const DefaultMaxOpen = 20_000

// DefaultConfig returns the defaults: quotes valid 15 minutes, invoices
// payable 30 days, half a percent of tolerance, callbacks for 100 blocks, a
// look at open invoices every 10 seconds, at most DefaultMaxOpen open
// invoices a vendor.
func DefaultConfig() Config {
	return Config{
		QuoteValidity:     15 * time.Minute,
		Expiry:            720 * time.Hour,
		MaxCallbackBlocks: 100,
		Recheck:           10 * time.Second,
		Name:              "ferry",
		MaxOpen:           DefaultMaxOpen,
		Clock:             clock.System{},
		Log:               zerolog.Nop(),
	}
}

// Validate returns a *relay.FieldError for the first field out of range.
func (c Config) Validate() error {
	field := func(name, format string, args ...any) error {
		return &relay.FieldError{Field: name, Err: fmt.Errorf(format, args...)}
	}
	switch {
	case c.Network == "" || c.Relay == nil || c.Store == nil || c.Quoter == nil || c.Waker == nil || c.Holds == nil || c.Clock == nil:
		return errors.New("invoice: Network, Relay, Store, Quoter, Waker, Holds and Clock are required")
	case c.QuoteValidity < time.Minute:
		return field("QuoteValidity", "must be at least a minute, not %v", c.QuoteValidity)
	case c.Expiry < time.Minute:
		return field("Expiry", "must be at least a minute, not %v", c.Expiry)
	case c.MaxCallbackBlocks < 1:
		return field("MaxCallbackBlocks", "must be at least 1")
	case c.Recheck <= 0:
		return field("Recheck", "must be positive")
	case c.MaxOpen < 0:
		return field("MaxOpen", "must not be negative (0: no limit), not %d", c.MaxOpen)
	}
	return nil
}

// Engine is the invoice engine. Create it with New; run Run, and give
// Queues to the notifier. Its calls are safe for concurrent use.
type Engine struct {
	cfg      Config
	log      zerolog.Logger
	vendors  *Vendors
	queues   map[string]*notify.BlockQueue // by coin
	webhooks *WebhookQueue
	// keyMu serializes the making of a webhook secret for a vendor that
	// has none, when its invoice callbacks are signed.
	keyMu sync.Mutex
}

// New returns an engine for cfg.
func New(cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, log: cfg.Log.With().Str("component", "invoices").Logger(), queues: map[string]*notify.BlockQueue{}}
	e.vendors = &Vendors{Store: cfg.Store, Destination: PayoutParser(cfg.Network), CheckHost: cfg.Relay.CheckHost, Clock: cfg.Clock, Log: e.log}
	for _, coin := range cfg.Relay.Coins() {
		e.queues[coin] = newCallbackQueue(e, coin)
	}
	e.webhooks = &WebhookQueue{e: e}
	return e, nil
}

// Queues returns the engine's delivery queues, for the notifier: invoice
// callbacks, one per coin, and webhooks.
func (e *Engine) Queues() []notify.Queue {
	var qs []notify.Queue
	for _, coin := range e.cfg.Relay.Coins() {
		qs = append(qs, e.queues[coin])
	}
	return append(qs, e.webhooks)
}

// Run looks at the open invoices after every block, and every Recheck
// between blocks, and at an invoice whenever the relay tells of a deposit
// to its address, until ctx is done: an invoice whose status changed has
// it recorded and its vendor told.
func (e *Engine) Run(ctx context.Context) error {
	events := e.cfg.Events
	for ctx.Err() == nil {
		if err := e.reconcile(ctx); err != nil && ctx.Err() == nil {
			e.log.Error().Err(err).Msg("invoices")
		}
		events = e.follow(ctx, events)
	}
	return nil
}

// follow takes the relay's events until a block is scanned, Recheck has
// passed or ctx is done: each deposit to an invoice's address has its
// invoice looked at at once. It returns the channel to read next (nil once
// it is closed).
func (e *Engine) follow(ctx context.Context, events <-chan relay.Event) <-chan relay.Event {
	recheck := e.cfg.Clock.After(e.cfg.Recheck)
	for {
		select {
		case <-ctx.Done():
			return events
		case <-recheck:
			return events
		case ev, ok := <-events:
			switch {
			case !ok:
				events = nil
			case ev.Deposit == nil:
				return events // a block: every open invoice
			default:
				if err := e.reconcileDeposit(ctx, ev.Deposit); err != nil && ctx.Err() == nil {
					e.log.Error().Err(err).Str("outpoint", ev.Deposit.ID()).Msg("invoices")
				}
			}
		}
	}
}

// reconcileDeposit looks at the invoice a deposit paid, if it paid one.
func (e *Engine) reconcileDeposit(ctx context.Context, d *ferry.Deposit) error {
	inv, err := e.cfg.Store.InvoiceOfAddress(string(d.Coin), d.AddrIndex)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return e.reconcileOne(ctx, inv.ID)
}

// reconcile works out the status of every open invoice and records each
// change.
func (e *Engine) reconcile(ctx context.Context) error {
	ids, err := e.cfg.Store.OpenInvoices()
	if err != nil {
		return err
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := e.reconcileOne(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// reconcileOne works out one invoice's status and records a change.
func (e *Engine) reconcileOne(ctx context.Context, id string) error {
	e.cfg.Holds.mu.Lock()
	defer e.cfg.Holds.mu.Unlock()
	inv, err := e.cfg.Store.Invoice(id)
	if err != nil {
		return err
	}
	v, err := e.view(ctx, inv)
	if err != nil {
		e.log.Warn().Err(err).Str("invoice", id).Msg("look at invoice")
		return nil
	}
	return e.settle(ctx, v)
}
