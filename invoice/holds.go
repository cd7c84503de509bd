package invoice

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/store"
)

// Holding: an invoice created with Request.Hold keeps at its input address
// every payment it does not take (one that leaves it underpaid, or comes
// once it is paid, expired or cancelled) for the vendor to accept
// (forwarded, less the fee, as a paid invoice) or refund (sent back, less
// the refund's service fee and the network fee); a payment held for
// HoldExpiry with no decision is forwarded. The payments that pay it,
// within the tolerance or above, are forwarded as every deposit is. The
// relay asks Holds.Release before it builds a deposit's forward, at every
// pass until it has one; decisions are recorded in the store before anyone
// is told of them, and the forward (refund) is recorded before it is
// broadcast, as every forward is.

// HoldStore is what the hold policy reads and records. *store.DB implements
// it.
type HoldStore interface {
	InvoiceOfAddress(coin string, index uint32) (*store.Invoice, error)
	Invoice(id string) (*store.Invoice, error)
	UpdateInvoice(inv *store.Invoice) error
	Address(coin string, index uint32) (*store.Address, error)
	Release(coin string, op ferry.OutPoint) (*store.Release, error)
	PutReleases(inv *store.Invoice, rs ...*store.Release) error
}

var _ HoldStore = (*store.DB)(nil)

// DepositLedger tells where the deposits of an input address stand, from
// the store alone. *relay.Ledger implements it.
type DepositLedger interface {
	Tip(coin string) (int64, error)
	Deposits(coin string, a *store.Address, tip int64) ([]ferry.Deposit, error)
}

var _ DepositLedger = (*relay.Ledger)(nil)

// HoldsConfig configures Holds.
type HoldsConfig struct {
	Store  HoldStore
	Ledger DepositLedger
	Clock  clock.Clock
	// ForwardConfirmations is the confirmations that make a payment count
	// (the relay's); Tolerance how far from the amount a payment may be
	// and still count as exact; HoldExpiry how long a held payment waits
	// for the vendor's decision before it is forwarded.
	ForwardConfirmations int64
	Tolerance            ferry.Fraction
	HoldExpiry           time.Duration
	Log                  zerolog.Logger
}

// Holds is the hold policy: it decides, for the relay, what becomes of each
// deposit to an invoice that holds the payments it does not take. It needs
// nothing of the relay engine, so that it is built before the relay and
// handed to it (relay.Deps.Releaser); the invoice engine is then built
// over it, and shares its lock. It is safe for concurrent use.
type Holds struct {
	cfg HoldsConfig
	log zerolog.Logger
	// mu serializes the read-modify-writes of invoice records, the
	// invoice engine's and the policy's: a status change, a cancellation,
	// a new quote, a hold, a decision.
	mu sync.Mutex
}

var _ relay.Releaser = (*Holds)(nil)

// DefaultHoldsConfig returns the defaults: a payment counts at its first
// confirmation, half a percent of tolerance either way, payments held 7
// days at most, the system clock.
func DefaultHoldsConfig() HoldsConfig {
	tol, _ := ferry.ParseFraction("0.005")
	return HoldsConfig{ForwardConfirmations: 1, Tolerance: tol, HoldExpiry: 7 * 24 * time.Hour, Clock: clock.System{}, Log: zerolog.Nop()}
}

// NewHolds returns the hold policy of cfg.
func NewHolds(cfg HoldsConfig) (*Holds, error) {
	switch {
	case cfg.Store == nil || cfg.Ledger == nil || cfg.Clock == nil:
		return nil, errors.New("invoice: holds need a Store, a Ledger and a Clock")
	case cfg.ForwardConfirmations < 1:
		return nil, &relay.FieldError{Field: "ForwardConfirmations", Err: errors.New("must be at least 1")}
	case cfg.HoldExpiry < time.Minute:
		return nil, &relay.FieldError{Field: "HoldExpiry", Err: fmt.Errorf("must be at least a minute, not %v", cfg.HoldExpiry)}
	}
	return &Holds{cfg: cfg, log: cfg.Log.With().Str("component", "holds").Logger()}, nil
}

// Release implements relay.Releaser: a deposit to an invoice that holds is
// forwarded if it pays it, refunded or forwarded as the vendor decided,
// forwarded once its hold expired, and held otherwise.
func (h *Holds) Release(_ context.Context, coin string, d *ferry.Deposit) (relay.Release, error) {
	inv, err := h.cfg.Store.InvoiceOfAddress(coin, d.AddrIndex)
	if errors.Is(err, store.ErrNotFound) {
		return relay.Release{}, nil // not an invoice's address
	}
	if err != nil || !inv.Hold {
		return relay.Release{}, err
	}
	r, err := h.decided(coin, d.OutPoint)
	if err != nil || r != nil && r.Decision != ferry.DecisionHold {
		return released(r), err
	}

	// Under the lock, read again what was decided: a vendor's decision
	// made meanwhile (a refund) stands, never overwritten by a hold or a
	// lapse read before it.
	h.mu.Lock()
	defer h.mu.Unlock()
	if r, err = h.decided(coin, d.OutPoint); err != nil || r != nil && r.Decision != ferry.DecisionHold {
		return released(r), err
	}
	if inv, err = h.cfg.Store.Invoice(inv.ID); err != nil {
		return relay.Release{}, err
	}
	if err := h.markExpired(inv, h.cfg.Ledger.Tip); err != nil {
		return relay.Release{}, err
	}
	pays, err := h.pays(inv, coin, d.ID())
	if err != nil || pays {
		return relay.Release{}, err
	}
	now := h.cfg.Clock.Now().UTC()
	if r == nil {
		r = &store.Release{Coin: coin, OutPoint: d.OutPoint, Invoice: inv.ID, Decision: ferry.DecisionHold, Since: now, At: now}
		if err := h.cfg.Store.PutReleases(nil, r); err != nil {
			return relay.Release{}, err
		}
		h.log.Info().Str("invoice", inv.ID).Str("outpoint", d.OutPoint.String()).Int64("value", int64(d.Value)).Msg("payment held")
	}
	if now.Sub(r.Since) >= h.cfg.HoldExpiry {
		r.Decision, r.At = ferry.DecisionLapse, now
		if err := h.cfg.Store.PutReleases(nil, r); err != nil {
			return relay.Release{}, err
		}
		h.log.Warn().Str("invoice", inv.ID).Str("outpoint", d.OutPoint.String()).Dur("held", now.Sub(r.Since)).
			Msg("held payment forwarded: nobody accepted or refunded it in time")
		return relay.Release{}, nil
	}
	return relay.Release{Hold: true}, nil
}

// decided returns what was decided about the deposit at op, nil for
// nothing yet.
func (h *Holds) decided(coin string, op ferry.OutPoint) (*store.Release, error) {
	r, err := h.cfg.Store.Release(coin, op)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return r, err
}

// released is what a recorded decision makes of a deposit (nil: forwarded).
func released(r *store.Release) relay.Release {
	if r != nil && r.Decision == ferry.DecisionRefund {
		return relay.Release{Refund: &chain.Destination{Address: r.Dest, Script: r.DestScript}}
	}
	return relay.Release{} // accepted, or lapsed: forwarded
}

// pays reports whether the payment id in coin is among those that pay inv,
// from the deposits in blocks the ledger has.
func (h *Holds) pays(inv *store.Invoice, coin, id string) (bool, error) {
	for _, c := range inv.Coins {
		if c.Coin != coin {
			continue
		}
		a, err := h.cfg.Store.Address(coin, c.Index)
		if err != nil {
			return false, err
		}
		tip, err := h.cfg.Ledger.Tip(coin)
		if err != nil {
			return false, err
		}
		deps, err := h.cfg.Ledger.Deposits(coin, a, tip)
		if err != nil {
			return false, err
		}
		cv, err := h.coinView(inv, c, deps, 0)
		if err != nil {
			return false, err
		}
		paying, _ := payingSet(cv, h.cfg.Tolerance.Of(c.Due), inv.Cancelled)
		return slices.Contains(paying, id), nil
	}
	return false, nil
}

// coinView works out an invoice's side in one coin from its deposits:
// each payment (donations and deposits a reorg took away are not), whether
// it counts, is late, was forwarded or refunded, and what was seen and
// confirmed. min is the smallest payment the relay forwards, shown as
// CoinView.MinPayment.
func (h *Holds) coinView(inv *store.Invoice, c store.InvoiceCoin, deps []ferry.Deposit, min ferry.Amount) (CoinView, error) {
	cv := CoinView{InvoiceCoin: c, MinPayment: min}
	for _, d := range deps {
		switch d.State {
		case ferry.DepositVanished:
			continue
		case ferry.DepositDonated:
			// Not forwarded to the vendor: it pays nothing of the invoice.
			cv.Ignored++
			continue
		}
		p := Payment{Deposit: d, Counts: d.Confirmations >= h.cfg.ForwardConfirmations,
			Forwarded: d.Forward != nil && d.State != ferry.DepositRefunded, Refunded: d.State == ferry.DepositRefunded}
		p.Late = inv.Hold && c.ExpiredAt > 0 && p.Height > c.ExpiredAt
		if inv.Hold && p.Counts {
			if err := h.decision(&p); err != nil {
				return CoinView{}, err
			}
		}
		// A payment refunded pays nothing of the invoice.
		if !p.Late && !p.Refunded {
			cv.Seen += p.Value
			if p.Counts {
				cv.Confirmed += p.Value
			}
		}
		cv.Payments = append(cv.Payments, p)
	}
	sort.SliceStable(cv.Payments, func(i, j int) bool { return cv.Payments[i].Confirmations > cv.Payments[j].Confirmations })
	if inv.Hold {
		// Once some payments pay it, only they do: a later one pays an
		// invoice already paid, and is held.
		if paying, sum := payingSet(cv, h.cfg.Tolerance.Of(c.Due), inv.Cancelled); paying != nil {
			cv.Seen, cv.Confirmed = sum, sum
		}
	}
	return cv, nil
}

// decision reads what was decided about a payment to an invoice that
// holds: a refund decided makes it Refunded, before it is sent.
func (h *Holds) decision(p *Payment) error {
	r, err := h.cfg.Store.Release(string(p.Coin), p.OutPoint)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	p.decision = r.Decision
	if r.Decision == ferry.DecisionRefund {
		p.Refunded, p.Forwarded = true, false
	}
	return nil
}

// markExpired records, for an invoice that holds and is past its expiry,
// each coin's height (tip tells it) at the moment it is first seen
// expired: payments in later blocks come after it. The caller holds h.mu.
func (h *Holds) markExpired(inv *store.Invoice, tip func(coin string) (int64, error)) error {
	if !inv.Hold || h.cfg.Clock.Now().Before(inv.Expires) {
		return nil
	}
	changed := false
	for i := range inv.Coins {
		if c := &inv.Coins[i]; c.ExpiredAt == 0 {
			t, err := tip(c.Coin)
			if err != nil {
				return err
			}
			c.ExpiredAt = max(t, 1)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return h.cfg.Store.UpdateInvoice(inv)
}

// payingSet returns the ids of the payments that pay a coin's side of an
// invoice, and their sum; nil if they do not reach the amount (less the
// tolerance), or the invoice was cancelled.
func payingSet(c CoinView, tolerance ferry.Amount, cancelled bool) ([]string, ferry.Amount) {
	if cancelled {
		return nil, 0
	}
	ps := slices.DeleteFunc(slices.Clone(c.Payments), func(p Payment) bool { return p.Refunded })
	slices.SortStableFunc(ps, func(a, b Payment) int {
		if a.Height != b.Height {
			return int(a.Height - b.Height)
		}
		return strings.Compare(a.ID(), b.ID())
	})
	var sum ferry.Amount
	var paying []string
	for _, p := range ps {
		if !p.Counts || p.Late {
			continue
		}
		sum += p.Value
		paying = append(paying, p.ID())
		if sum >= c.Due-tolerance {
			return paying, sum
		}
	}
	return nil, 0
}
