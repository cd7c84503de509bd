package invoice

import (
	"context"
	"fmt"
	"slices"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/store"
)

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
	e.cfg.Holds.mu.Lock()
	defer e.cfg.Holds.mu.Unlock()
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
