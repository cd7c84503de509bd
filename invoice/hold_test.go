package invoice_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/relay/relaytest"
)

// refundTo is a customer's regtest address for refunds.
const refundTo = "rltc1qk8hjy3lf245r7ppr2lfy8zxn8nwrmuas7tq53e"

// createHolding makes a $10 invoice (12,500,000 sat) that holds what it
// does not take.
func (f *fixture) createHolding(t *testing.T, expiry time.Duration) *invoice.View {
	t.Helper()
	v, err := f.inv.Create(context.Background(), invoice.Request{Vendor: f.vendor, Amount: "10", Currency: "USD", Hold: true, Expiry: expiry})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// sent returns the transactions the node was sent, decoded, in order.
func (f *fixture) sent(t *testing.T) []*chain.Tx {
	t.Helper()
	c, _ := chain.Litecoin(chain.Regtest)
	var txs []*chain.Tx
	seen := map[ferry.Hash]bool{}
	for _, raw := range f.node.Sent() {
		tx, err := c.DecodeTx(raw)
		if err != nil {
			t.Fatal(err)
		}
		if !seen[tx.ID] {
			seen[tx.ID] = true
			txs = append(txs, tx)
		}
	}
	return txs
}

// pass mines an empty block: the forwarder looks at every deposit again.
func (f *fixture) pass(t *testing.T) {
	t.Helper()
	f.node.Mine(t)
	f.scanned(t)
}

// paysTo returns what tx pays to addr.
func paysTo(t *testing.T, tx *chain.Tx, addr string) int64 {
	t.Helper()
	var sum int64
	for _, o := range tx.Outputs {
		if string(o.Script) == string(mustScript(t, addr)) {
			sum += o.Value
		}
	}
	return sum
}

// heldView returns an invoice's view once it shows held what it should.
func (f *fixture) heldView(t *testing.T, id string, held ferry.Amount) *invoice.View {
	t.Helper()
	var v *invoice.View
	relaytest.WaitFor(t, "the payment held", func() bool {
		var err error
		v, err = f.inv.Get(context.Background(), id)
		return err == nil && v.Coins[0].Held == held
	})
	return v
}

// TestHoldAccept: a payment that leaves an invoice underpaid is held, not
// forwarded; accepting it (its exact amount) forwards it less the fee, and
// the invoice is paid.
func TestHoldAccept(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	v := f.createHolding(t, 0)
	f.pay(t, v, 6_000_000)
	f.pass(t)
	v = f.heldView(t, v.ID, 6_000_000)
	if v.Status != ferry.InvoiceUnderpaid || len(f.sent(t)) != 0 {
		t.Fatalf("underpaid: %s, %d sent", v.Status, len(f.sent(t)))
	}
	if _, err := f.inv.Accept(ctx, v.ID, 5_000_000); kindOf(err) != ferry.KindInvalid {
		t.Errorf("accept of another amount: %v", err)
	}
	a, err := f.inv.Accept(ctx, v.ID, 6_000_000)
	if err != nil || a.Status != ferry.InvoicePaid {
		t.Fatalf("accept: %+v, %v", a, err)
	}
	relaytest.WaitFor(t, "the forward", func() bool { f.pass(t); return len(f.sent(t)) == 1 })
	tx := f.sent(t)[0]
	if got := paysTo(t, tx, payout); got <= 6_000_000-60_000-10_000 || got >= 6_000_000-60_000 {
		t.Errorf("forward pays the vendor %d of 6,000,000 (less 1%% and the network fee)", got)
	}
	if got := paysTo(t, tx, relaytest.FeeAddress); got != 60_000 {
		t.Errorf("fee %d, want 60,000", got)
	}
	if _, err := f.inv.Accept(ctx, v.ID, 6_000_000); kindOf(err) != ferry.KindConflict {
		t.Errorf("accepted twice: %v", err)
	}
}

// TestHoldRefund: a held payment refunded goes to the address the vendor
// names less the service fee (the refund fee, 1% by default) and the
// network fee, as a forward does (review 18, item 4); with a refund fee of
// 0, less the network fee only.
func TestHoldRefund(t *testing.T) {
	zero, _ := ferry.ParseFraction("0")
	for _, tt := range []struct {
		name    string
		fee     *ferry.Fraction
		service int64
	}{
		{"the fee percent", nil, 60_000},
		{"no refund fee", &zero, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixtureOf(t, func(c *relay.Config) { c.RefundFeePercent = tt.fee }, nil, nil)
			ctx := context.Background()
			v := f.createHolding(t, 0)
			f.pay(t, v, 6_000_000)
			f.pass(t)
			f.heldView(t, v.ID, 6_000_000)
			if _, err := f.inv.Refund(ctx, v.ID, "ltc", "ltc1qk8hjy3lf245r7ppr2lfy8zxn8nwrmuasqrx6uc", 6_000_000); kindOf(err) != ferry.KindInvalid {
				t.Errorf("a mainnet refund address: %v", err)
			}
			r, err := f.inv.Refund(ctx, v.ID, "ltc", refundTo, 6_000_000)
			if err != nil || r.Status != ferry.InvoiceRefunded {
				t.Fatalf("refund: %+v, %v", r, err)
			}
			relaytest.WaitFor(t, "the refund", func() bool { f.pass(t); return len(f.sent(t)) == 1 })
			tx := f.sent(t)[0]
			var outs int64
			for _, o := range tx.Outputs {
				outs += o.Value
			}
			network := 6_000_000 - outs
			if paysTo(t, tx, relaytest.FeeAddress) != tt.service || paysTo(t, tx, refundTo) != 6_000_000-tt.service-network ||
				network <= 0 || network >= 10_000 {
				t.Errorf("refund outputs %+v: want %d to the fee address, the rest less the network fee to the payer", tx.Outputs, tt.service)
			}
			relaytest.WaitFor(t, "the refund recorded", func() bool {
				g, _ := f.inv.Get(ctx, v.ID)
				return g.Coins[0].Payments[0].Refunded || g.Coins[0].Held == 0
			})
			ts, err := f.inv.Transactions(ctx, f.vendor.ID, "ltc", v.Coins[0].Address)
			if err != nil {
				t.Fatal(err)
			}
			refunds := 0
			for _, m := range ts {
				if m.Kind == invoice.KindRefund {
					refunds++
					if int64(m.ServiceFee()) != tt.service || int64(m.NetworkFee()) != network || int64(m.Amount()) != 6_000_000-tt.service-network || m.To != refundTo {
						t.Errorf("the refund's record: %+v", m)
					}
				}
			}
			if refunds != 1 {
				t.Errorf("%d refunds in the ledger, want 1", refunds)
			}
		})
	}
}

// TestHoldPaidInParts: the first part of a payment is held while the
// invoice is underpaid; once the rest comes, both are forwarded.
func TestHoldPaidInParts(t *testing.T) {
	f := newFixture(t)
	v := f.createHolding(t, 0)
	f.pay(t, v, 6_000_000)
	f.pass(t)
	f.heldView(t, v.ID, 6_000_000)
	f.pay(t, v, 6_500_000)
	relaytest.WaitFor(t, "both forwarded", func() bool { f.pass(t); return len(f.sent(t)) == 2 })
	if s := f.status(t, v.ID); s != ferry.InvoicePaid {
		t.Errorf("status %s", s)
	}
}

// TestHoldLateAndCancelled: a payment after the invoice is paid, or to a
// cancelled invoice, is held; an exact payment and an overpayment are
// forwarded at once.
func TestHoldLateAndCancelled(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	exact, over, cancelled := f.createHolding(t, 0), f.createHolding(t, 0), f.createHolding(t, 0)
	if _, err := f.inv.Cancel(ctx, cancelled.ID); err != nil {
		t.Fatal(err)
	}
	f.pay(t, exact, 12_500_000)
	f.pay(t, over, 20_000_000)
	relaytest.WaitFor(t, "both forwarded", func() bool { f.pass(t); return len(f.sent(t)) == 2 })
	if got := paysTo(t, f.sent(t)[1], payout) + paysTo(t, f.sent(t)[0], payout); got < 32_000_000 {
		t.Errorf("the overpayment was not forwarded whole: %d in all", got)
	}
	f.pay(t, exact, 3_000_000) // after it was paid
	f.pay(t, cancelled, 12_500_000)
	f.pass(t)
	f.heldView(t, exact.ID, 3_000_000)
	f.heldView(t, cancelled.ID, 12_500_000)
	if n := len(f.sent(t)); n != 2 {
		t.Errorf("%d transactions, want the 2 forwards only", n)
	}
	if s := f.status(t, exact.ID); s != ferry.InvoicePaid {
		t.Errorf("paid, then paid again: %s", s)
	}
}

// TestHoldExpires: a held payment nobody decides about is forwarded once
// the hold expires; a payment after the invoice expired does not pay it.
func TestHoldExpires(t *testing.T) {
	f := newFixture(t)
	v := f.createHolding(t, time.Hour)
	f.pay(t, v, 6_000_000)
	f.pass(t)
	f.heldView(t, v.ID, 6_000_000)

	f.clk.Advance(2 * time.Hour) // the invoice expires
	relaytest.WaitFor(t, "underpaid at expiry", func() bool {
		f.pass(t)
		g, _ := f.inv.Get(context.Background(), v.ID)
		return g.Expired && g.Coins[0].ExpiredAt > 0
	})
	f.pay(t, v, 6_500_000) // would have made it paid, had it come in time
	f.pass(t)
	f.heldView(t, v.ID, 12_500_000)
	if s := f.status(t, v.ID); s != ferry.InvoiceUnderpaid || len(f.sent(t)) != 0 {
		t.Fatalf("a late payment: %s, %d sent", s, len(f.sent(t)))
	}

	f.clk.Advance(7 * 24 * time.Hour)
	relaytest.WaitFor(t, "both forwarded after the hold", func() bool { f.pass(t); return len(f.sent(t)) == 2 })
	for _, tx := range f.sent(t) {
		if paysTo(t, tx, payout) == 0 {
			t.Errorf("a lapsed hold went elsewhere: %+v", tx.Outputs)
		}
	}
	// Forwarded, nothing is left to refund or accept.
	if _, err := f.inv.Refund(context.Background(), v.ID, "ltc", refundTo, 12_500_000); kindOf(err) != ferry.KindConflict {
		t.Errorf("a refund after the hold lapsed: %v", err)
	}
	if g, _ := f.inv.Get(context.Background(), v.ID); g.Coins[0].Held != 0 {
		t.Errorf("still held after the lapse: %d", g.Coins[0].Held)
	}
}

// TestNoHold: an invoice that does not hold forwards an underpayment as it
// comes, and has nothing to accept.
func TestNoHold(t *testing.T) {
	f := newFixture(t)
	v := f.create(t, "1")
	f.pay(t, v, 6_000_000)
	relaytest.WaitFor(t, "the forward", func() bool { f.pass(t); return len(f.sent(t)) == 1 })
	if _, err := f.inv.Accept(context.Background(), v.ID, 6_000_000); kindOf(err) != ferry.KindConflict {
		t.Errorf("accept on an invoice that does not hold: %v", err)
	}
}

// kindOf is the kind of an engine error (KindInternal for nil).
func kindOf(err error) ferry.Kind {
	var e *ferry.Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ferry.KindInternal
}

// TestHoldCancelled: a cancelled invoice paid in full stays cancelled and
// holds the payment; refunded, it is refunded.
func TestHoldCancelled(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	v := f.createHolding(t, 0)
	if _, err := f.inv.Cancel(ctx, v.ID); err != nil {
		t.Fatal(err)
	}
	f.pay(t, v, 12_500_000)
	f.pass(t)
	if g := f.heldView(t, v.ID, 12_500_000); g.Status != ferry.InvoiceCancelled {
		t.Errorf("a cancelled invoice paid: %s", g.Status)
	}
	if r, err := f.inv.Refund(ctx, v.ID, "ltc", refundTo, 12_500_000); err != nil || r.Status != ferry.InvoiceRefunded {
		t.Fatalf("refund: %+v, %v", r, err)
	}
	relaytest.WaitFor(t, "the refund", func() bool { f.pass(t); return len(f.sent(t)) == 1 })
	// Less the 1% service fee and the network fee.
	if got := paysTo(t, f.sent(t)[0], refundTo); got <= 12_500_000-125_000-10_000 || got >= 12_500_000-125_000 {
		t.Errorf("refunded %d", got)
	}
}

// TestHoldRefundLate: a paid invoice whose late payment is refunded stays
// paid; a payment refunded pays nothing of an invoice paid after it.
func TestHoldRefundLate(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	paid, part := f.createHolding(t, 0), f.createHolding(t, 0)
	f.pay(t, paid, 12_500_000)
	f.pay(t, paid, 2_000_000) // after it was paid
	f.pay(t, part, 6_000_000)
	f.pass(t)
	f.heldView(t, paid.ID, 2_000_000)
	f.heldView(t, part.ID, 6_000_000)
	if r, err := f.inv.Refund(ctx, paid.ID, "ltc", refundTo, 2_000_000); err != nil || r.Status != ferry.InvoicePaid {
		t.Fatalf("refund of the late payment: %+v, %v", r.Status, err)
	}
	if _, err := f.inv.Refund(ctx, part.ID, "ltc", refundTo, 6_000_000); err != nil {
		t.Fatal(err)
	}
	// 6,500,000 more would have paid it with the payment refunded.
	f.pay(t, part, 6_500_000)
	f.pass(t)
	g := f.heldView(t, part.ID, 6_500_000)
	if g.Status != ferry.InvoiceRefunded || g.Coins[0].Refunded != 6_000_000 || g.Coins[0].Seen != 6_500_000 {
		t.Errorf("after a refund, the rest: %s, seen %d, refunded %d", g.Status, g.Coins[0].Seen, g.Coins[0].Refunded)
	}
	relaytest.WaitFor(t, "the forward and both refunds", func() bool { f.pass(t); return len(f.sent(t)) == 3 })
	f.pass(t)
	if n := len(f.sent(t)); n != 3 {
		t.Errorf("%d transactions, want the forward and two refunds", n)
	}
}

// TestHoldDecidedFirst: a vendor who accepts or refunds a held payment
// before the engine's own pass has recorded the invoice underpaid is told
// of it underpaid all the same, then of the decision: the events of a
// status nobody recorded yet are not skipped.
func TestHoldDecidedFirst(t *testing.T) {
	for _, tt := range []struct {
		name   string
		decide func(f *fixture, id string) (*invoice.View, error)
		want   []string
	}{
		{"refund", func(f *fixture, id string) (*invoice.View, error) {
			return f.inv.Refund(context.Background(), id, "ltc", refundTo, 6_000_000)
		}, []string{"invoice.underpaid", "invoice.refunded"}},
		{"accept", func(f *fixture, id string) (*invoice.View, error) {
			return f.inv.Accept(context.Background(), id, 6_000_000)
		}, []string{"invoice.underpaid", "invoice.paid"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// The invoice engine does not run: only calls record statuses.
			f := newFixtureWith(t, func(c *invoice.Config) {
				c.Announcers = map[string]invoice.Announcer{"test": testAnnouncer{"https://shop.example/wh"}}
			})
			v, err := f.inv.Create(context.Background(), invoice.Request{Vendor: f.vendor, Dialect: "test", Amount: "10", Currency: "USD", Hold: true})
			if err != nil {
				t.Fatal(err)
			}
			f.pay(t, v, 6_000_000)
			f.pass(t)
			f.heldView(t, v.ID, 6_000_000)
			if _, err := tt.decide(f, v.ID); err != nil {
				t.Fatal(err)
			}
			ds, err := f.inv.Deliveries(context.Background(), f.vendor.ID, v.ID)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range ds {
				got = append(got, d.Type)
			}
			if !equal(got, tt.want) {
				t.Errorf("webhooks %v, want %v", got, tt.want)
			}
		})
	}
}
