package invoice_test

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/relay/relaytest"
)

// TestLedger: an address handed out with a label is the vendor's alone;
// its deposit and the forward that paid it out are listed, with the fees
// and the block's time; an invoice's refund is listed as a refund.
func TestLedger(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, err := f.inv.NewAddress(ctx, f.vendor, "ltc", "my_label")
	if err != nil || a.Destination != payout {
		t.Fatalf("new address: %+v, %v", a, err)
	}
	if _, err := f.inv.NewAddress(ctx, f.vendor, "btc", ""); kindOf(err) != ferry.KindUnsupported {
		t.Errorf("a coin not relayed: %v", err)
	}
	other, _ := f.inv.AddVendor(ctx, invoice.NewVendor{Name: "Tea", Email: "tea@shop.example", Payout: map[string]string{"ltc": payout}})
	if _, err := f.inv.Transactions(ctx, other.Vendor.ID, "ltc", a.Address); kindOf(err) != ferry.KindNotFound {
		t.Errorf("another vendor's address: %v", err)
	}
	f.payTo(t, a.Address, 5_000_000)
	relaytest.WaitFor(t, "the forward", func() bool { f.pass(t); return len(f.sent(t)) == 1 })
	f.pass(t)
	ts, err := f.inv.Transactions(ctx, f.vendor.ID, "ltc", a.Address)
	if err != nil || len(ts) != 2 {
		t.Fatalf("transactions: %+v, %v", ts, err)
	}
	dep, fwd := ts[0], ts[1]
	if dep.Kind != invoice.KindDeposit || dep.Amount() != 5_000_000 || dep.To != a.Address || dep.Time.IsZero() || dep.Confirmations < 2 {
		t.Errorf("deposit %+v", dep)
	}
	// The scripted node does not mine what it is sent: broadcast.
	if fwd.Kind != invoice.KindForward || fwd.ID() != dep.ID()+invoice.OutSuffix || fwd.To != payout || fwd.ServiceFee() != 50_000 ||
		fwd.Amount()+fwd.ServiceFee()+fwd.NetworkFee() != 5_000_000 || fwd.TxID() != f.sent(t)[0].ID || fwd.Status() != "broadcast" || fwd.Time.IsZero() {
		t.Errorf("forward %+v", fwd)
	}
	if got, err := f.inv.Transaction(ctx, f.vendor.ID, "ltc", fwd.ID()); err != nil || !reflect.DeepEqual(*got, fwd) {
		t.Errorf("the forward by id: %+v, %v", got, err)
	}
	if _, err := f.inv.Transaction(ctx, other.Vendor.ID, "ltc", dep.ID()); kindOf(err) != ferry.KindNotFound {
		t.Errorf("another vendor's transaction: %v", err)
	}

	// An invoice's refund, less the service fee and the network fee.
	v := f.createHolding(t, 0)
	f.pay(t, v, 6_000_000)
	f.pass(t)
	f.heldView(t, v.ID, 6_000_000)
	if ts, _ := f.inv.Transactions(ctx, f.vendor.ID, "ltc", v.Coins[0].Address); len(ts) != 1 || !ts[0].Held {
		t.Errorf("a payment held: %+v", ts)
	}
	if _, err := f.inv.Refund(ctx, v.ID, "ltc", refundTo, 6_000_000); err != nil {
		t.Fatal(err)
	}
	relaytest.WaitFor(t, "the refund", func() bool { f.pass(t); return len(f.sent(t)) == 2 })
	g, _ := f.inv.Get(ctx, v.ID)
	ts, err = f.inv.PaymentTransactions(ctx, g, "")
	if err != nil || len(ts) != 2 || ts[1].Kind != invoice.KindRefund || ts[1].To != refundTo || ts[1].ServiceFee() != 60_000 ||
		ts[1].Amount()+ts[1].ServiceFee()+ts[1].NetworkFee() != 6_000_000 || ts[0].Held {
		t.Errorf("the invoice's transactions: %+v, %v", ts, err)
	}
}

// TestQuoteKept: an invoice created with a quote still valid keeps it;
// one that ran out is quoted again.
func TestQuoteKept(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	q, err := f.inv.Quote(ctx, "10.00", "usd", "ltc")
	if err != nil || q.Amount != "10" || q.Currency != "USD" || q.Coin.Due != 12_500_000 || q.Coin.Rate != "80" {
		t.Fatalf("quote: %+v, %v", q, err)
	}
	if _, err := f.inv.Quote(ctx, "1", "BTC", "ltc"); kindOf(err) != ferry.KindInvalid {
		t.Errorf("an amount in another coin: %v", err)
	}
	f.quoter.set("100")
	v, err := f.inv.Create(ctx, invoice.Request{Vendor: f.vendor, Amount: "10", Currency: "USD", Coins: []string{"ltc"}, Quote: q})
	if err != nil || v.Coins[0].Due != 12_500_000 {
		t.Fatalf("with the quote: %+v, %v", v.Coins, err)
	}
	f.clk.Advance(16 * time.Minute)
	v, err = f.inv.Create(ctx, invoice.Request{Vendor: f.vendor, Amount: "10", Currency: "USD", Coins: []string{"ltc"}, Quote: q})
	if err != nil || v.Coins[0].Due != 10_000_000 {
		t.Errorf("with a quote run out: %+v, %v", v.Coins, err)
	}
	if _, err := f.inv.Create(ctx, invoice.Request{Vendor: f.vendor, Amount: "1", Currency: "LTC", Fields: map[string]string{"a": "\x00"}}); kindOf(err) != ferry.KindInvalid {
		t.Errorf("a field not printable: %v", err)
	}
	list, err := f.inv.Invoices(ctx, f.vendor.ID, "", 1, 5)
	if err != nil || len(list) != 1 || list[0].ID != v.ID {
		t.Errorf("the vendor's invoices after the first: %v, %v", list, err)
	}
}

// recorder is an Announcer that keeps what it was asked.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

// Announce implements invoice.Announcer.
func (r *recorder) Announce(v *invoice.View, from ferry.InvoiceStatus) []invoice.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range v.Coins {
		n += len(c.Payments)
	}
	r.calls = append(r.calls, string(from)+">"+string(v.Status)+":"+string(rune('0'+n)))
	return nil
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

// TestAnnounceEachPayment: a dialect is told of each payment, seen and
// counting, even when the status does not change.
func TestAnnounceEachPayment(t *testing.T) {
	rec := &recorder{}
	f := newFixtureWith(t, func(c *invoice.Config) { c.Announcers = map[string]invoice.Announcer{"rec": rec} })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.inv.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	v, err := f.inv.Create(context.Background(), invoice.Request{Vendor: f.vendor, Dialect: "rec", Amount: "10", Currency: "USD", Hold: true})
	if err != nil {
		t.Fatal(err)
	}
	f.pay(t, v, 3_000_000)
	relaytest.WaitFor(t, "the first payment told", func() bool { return len(rec.all()) == 1 })
	f.node.Announce(mustTx(t, v, 4_000_000))
	relaytest.WaitFor(t, "the second, seen", func() bool { f.clk.Advance(10 * time.Second); return len(rec.all()) == 2 })
	f.pay(t, v, 2_000_000)
	relaytest.WaitFor(t, "the third", func() bool { return len(rec.all()) == 3 })
	got := rec.all()
	if want := []string{"pending>underpaid:1", "underpaid>underpaid:2", "underpaid>underpaid:3"}; !equal(got, want) {
		t.Errorf("told %q, want %q", got, want)
	}
}
