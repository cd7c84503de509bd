package invoice

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/store"
)

// Holding: an invoice created with Request.Hold keeps at its input address
// every payment it does not take (one that leaves it underpaid, or comes
// once it is paid, expired or cancelled) for the vendor to accept
// (forwarded, less the fee, as a paid invoice) or refund (sent back, less
// the network fee only); a payment held for HoldExpiry with no decision is
// forwarded. The payments that pay it, within the tolerance or above, are
// forwarded as every deposit is. The relay asks Release before it builds a
// deposit's forward, at every pass until it has one; decisions are recorded
// in the store before anyone is told of them, and the forward (refund) is
// recorded before it is broadcast, as every forward is.

// ReleaseStore is what holding keeps. *store.DB implements it.
type ReleaseStore interface {
	InvoiceOfAddress(coin string, index uint32) (*store.Invoice, error)
	Release(coin string, op ferry.OutPoint) (*store.Release, error)
	PutReleases(inv *store.Invoice, rs ...*store.Release) error
}

var _ relay.Releaser = (*Engine)(nil)

// Release implements relay.Releaser: a deposit to an invoice that holds is
// forwarded if it pays it, refunded or forwarded as the vendor decided,
// forwarded once its hold expired, and held otherwise.
func (e *Engine) Release(ctx context.Context, coin string, d *ferry.Deposit) (relay.Release, error) {
	inv, err := e.cfg.Store.InvoiceOfAddress(coin, d.AddrIndex)
	if errors.Is(err, store.ErrNotFound) {
		return relay.Release{}, nil // not an invoice's address
	}
	if err != nil || !inv.Hold {
		return relay.Release{}, err
	}
	r, err := e.cfg.Store.Release(coin, d.OutPoint)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return relay.Release{}, err
	}
	if r != nil && r.Decision != ferry.DecisionHold {
		return released(r), nil
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	if inv, err = e.cfg.Store.Invoice(inv.ID); err != nil {
		return relay.Release{}, err
	}
	v, err := e.view(ctx, inv)
	if err != nil {
		return relay.Release{}, err
	}
	if err := e.markExpired(v); err != nil {
		return relay.Release{}, err
	}
	if v.pays(coin, d.OutPoint.String()) {
		return relay.Release{}, nil
	}
	now := e.cfg.Clock.Now().UTC()
	if r == nil {
		r = &store.Release{Coin: coin, OutPoint: d.OutPoint, Invoice: inv.ID, Decision: ferry.DecisionHold, Since: now, At: now}
		if err := e.cfg.Store.PutReleases(nil, r); err != nil {
			return relay.Release{}, err
		}
		e.log.Info().Str("invoice", inv.ID).Str("outpoint", d.OutPoint.String()).Int64("value", int64(d.Value)).Msg("payment held")
		e.Wake() // its status, and its dialect's word of it
	}
	if now.Sub(r.Since) >= e.cfg.HoldExpiry {
		r.Decision, r.At = ferry.DecisionLapse, now
		if err := e.cfg.Store.PutReleases(nil, r); err != nil {
			return relay.Release{}, err
		}
		e.log.Warn().Str("invoice", inv.ID).Str("outpoint", d.OutPoint.String()).Dur("held", now.Sub(r.Since)).
			Msg("held payment forwarded: nobody accepted or refunded it in time")
		return relay.Release{}, nil
	}
	return relay.Release{Hold: true}, nil
}

// released is what a recorded decision makes of a deposit.
func released(r *store.Release) relay.Release {
	if r.Decision == ferry.DecisionRefund {
		return relay.Release{Refund: &chain.Destination{Address: r.Dest, Script: r.DestScript}}
	}
	return relay.Release{} // accepted, or lapsed: forwarded
}

// pays reports whether the payment id in coin is among those that pay the
// invoice: its earliest confirmed payments in that coin, up to the one
// that brings them to the amount (within the tolerance), when they do,
// and before the invoice expired or was cancelled.
func (v *View) pays(coin, id string) bool {
	c, ok := v.Coin(coin)
	if !ok {
		return false
	}
	paying, _ := payingSet(c, v.Tolerance[coin], v.Cancelled)
	return slices.Contains(paying, id)
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

// decision reads what was decided about a payment to an invoice that
// holds: a refund decided makes it Refunded, before it is sent.
func (e *Engine) decision(p *Payment) error {
	r, err := e.cfg.Store.Release(string(p.Coin), p.OutPoint)
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

// markHeld works out which of a holding invoice's payments are held: those
// confirmed, not paying it, with no forward and no decision but to hold.
func (e *Engine) markHeld(v *View) error {
	for i := range v.Coins {
		c := &v.Coins[i]
		for j := range c.Payments {
			p := &c.Payments[j]
			if p.Refunded {
				c.Refunded += p.Value
			}
			if !p.Counts || p.Forwarded || p.Refunded || v.pays(c.Coin, p.ID()) {
				continue
			}
			if p.decision == 0 || p.decision == ferry.DecisionHold {
				p.Held = true
				c.Held += p.Value
			}
		}
	}
	return nil
}

// markExpired records, for an invoice past its expiry, each coin's height
// at the moment it is first seen expired: payments in later blocks come
// after it. The caller holds e.mu.
func (e *Engine) markExpired(v *View) error {
	if !v.Hold || !v.Expired {
		return nil
	}
	changed := false
	for i := range v.Invoice.Coins {
		if c := &v.Invoice.Coins[i]; c.ExpiredAt == 0 {
			c.ExpiredAt = max(e.cfg.Relay.Height(c.Coin), 1)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return e.cfg.Store.UpdateInvoice(v.Invoice)
}

// held returns the payments of v held in coin ("" for every coin).
func (v *View) held(coin string) []Payment {
	var out []Payment
	for _, c := range v.Coins {
		if coin != "" && c.Coin != coin {
			continue
		}
		for _, p := range c.Payments {
			if p.Held {
				out = append(out, p)
			}
		}
	}
	return out
}

// Accept forwards the payments an invoice holds, less the fee, as the
// payment of the invoice, which is then paid. amount (satoshis) must be
// their sum, as the vendor read it: a payment that arrived meanwhile is not
// accepted unseen. It is a conflict for an invoice that holds nothing.
func (e *Engine) Accept(ctx context.Context, id string, amount ferry.Amount) (*View, error) {
	return e.decide(ctx, id, "", amount, nil)
}

// Refund sends the payments an invoice holds in coin back to address, each
// less its service fee (the relay's refund fee) and its network fee; the
// invoice is then refunded.
// amount (satoshis) must be their sum. An address of another coin or
// network is refused.
func (e *Engine) Refund(ctx context.Context, id, coin, address string, amount ferry.Amount) (*View, error) {
	c, err := chain.CoinByID(coin, e.cfg.Network)
	if err != nil {
		return nil, &ferry.Error{Kind: ferry.KindUnsupported, Message: fmt.Sprintf("coin %.20q: ferry relays ltc and btc", coin)}
	}
	dest, err := c.ParseDestination(address)
	if err != nil {
		return nil, invalid("invalid " + c.Name() + " refund address: " + relay.DestinationError(err))
	}
	return e.decide(ctx, id, coin, amount, &dest)
}

// decide records the vendor's decision about what an invoice holds: all of
// it (in coin, for a refund), with the invoice's new state, in one batch.
func (e *Engine) decide(ctx context.Context, id, coin string, amount ferry.Amount, refund *chain.Destination) (*View, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	v, err := e.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if !v.Hold {
		return nil, &ferry.Error{Kind: ferry.KindConflict, Message: "invoice " + clip(id) + " forwards every payment: none is held"}
	}
	held := v.held(coin)
	if len(held) == 0 {
		return nil, &ferry.Error{Kind: ferry.KindConflict, Message: "invoice " + clip(id) + " holds no payment"}
	}
	var sum ferry.Amount
	for _, p := range held {
		sum += p.Value
	}
	if amount != sum {
		return nil, invalid(fmt.Sprintf("the amount must be %s, what the invoice holds, not %s", sum.Short(), amount.Short()))
	}
	// The status what it holds gave the invoice is recorded and announced
	// first, if the engine's own pass has not yet: the vendor hears of it
	// underpaid, then of the decision.
	if err := e.settle(ctx, v); err != nil {
		return nil, err
	}
	now := e.cfg.Clock.Now().UTC()
	var rs []*store.Release
	coins := map[string]bool{}
	for _, p := range held {
		r := &store.Release{Coin: string(p.Coin), OutPoint: p.OutPoint, Invoice: id, Decision: ferry.DecisionAccept, Since: now, At: now}
		if old, err := e.cfg.Store.Release(string(p.Coin), p.OutPoint); err == nil {
			r.Since = old.Since
		}
		if refund != nil {
			r.Decision, r.Dest, r.DestScript = ferry.DecisionRefund, refund.Address, refund.Script
		}
		rs = append(rs, r)
		coins[string(p.Coin)] = true
	}
	if refund != nil {
		v.Refunded = true
	} else {
		v.Accepted = true
	}
	if err := e.cfg.Store.PutReleases(v.Invoice, rs...); err != nil {
		return nil, err
	}
	e.log.Info().Str("invoice", id).Bool("refund", refund != nil).Int64("value", int64(sum)).Int("payments", len(rs)).Msg("held payments released")
	for c := range coins {
		e.cfg.Relay.Nudge(c)
	}
	if v, err = e.view(ctx, v.Invoice); err != nil {
		return nil, err
	}
	return v, e.settle(ctx, v)
}
