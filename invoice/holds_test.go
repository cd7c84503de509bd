package invoice_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/store"
)

// pausedStore is a hold policy's store that stops after the policy's
// first read of a decision, until the test lets it go on: the moment
// between that read, made outside the policy's lock, and the lock.
type pausedStore struct {
	invoice.HoldStore
	once         sync.Once
	read, resume chan struct{}
}

func (p *pausedStore) Release(coin string, op ferry.OutPoint) (*store.Release, error) {
	r, err := p.HoldStore.Release(coin, op)
	p.once.Do(func() { close(p.read); <-p.resume })
	return r, err
}

// TestDecisionNotOverwritten: a vendor's refund recorded while the hold
// policy is between its first read of the decision and its lock stands:
// the policy neither lapses the payment (forwarding it to the vendor) nor
// holds it again, but refunds it.
func TestDecisionNotOverwritten(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	v := f.createHolding(t, 0)
	f.pay(t, v, 6_000_000) // underpaid: held
	f.pass(t)
	d := f.heldView(t, v.ID, 6_000_000).Coins[0].Payments[0].Deposit

	// A policy whose hold has run out asks about the deposit, and stops
	// after reading "held".
	ps := &pausedStore{HoldStore: f.env.Store, read: make(chan struct{}), resume: make(chan struct{})}
	hc := invoice.DefaultHoldsConfig()
	hc.Store, hc.Ledger, hc.Clock, hc.HoldExpiry = ps, relay.NewLedger(f.env.Store, f.env.Coins), f.clk, time.Minute
	late, err := invoice.NewHolds(hc)
	if err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(2 * time.Minute)
	got := make(chan relay.Release, 1)
	go func() {
		r, err := late.Release(ctx, "ltc", &d)
		if err != nil {
			t.Errorf("release: %v", err)
		}
		got <- r
	}()
	select {
	case <-ps.read:
	case <-time.After(30 * time.Second):
		t.Fatal("the policy did not ask")
	}

	// The vendor refunds meanwhile; then the policy goes on.
	if _, err := f.inv.Refund(ctx, v.ID, "ltc", refundTo, 6_000_000); err != nil {
		t.Fatal(err)
	}
	close(ps.resume)
	var r relay.Release
	select {
	case r = <-got:
	case <-time.After(30 * time.Second):
		t.Fatal("the policy did not answer")
	}
	if r.Hold || r.Refund == nil || r.Refund.Address != refundTo {
		t.Errorf("the policy answered %+v, want the refund to %s", r, refundTo)
	}
	if rel, err := f.env.Store.Release("ltc", d.OutPoint); err != nil || rel.Decision != ferry.DecisionRefund {
		t.Errorf("the decision recorded is %v (%v), want refund", rel.Decision, err)
	}
}
