package invoice_test

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/mail"
	"github.com/ferry-relay/ferry/rates"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/relay/relaytest"
	"github.com/ferry-relay/ferry/store"
)

const payout = "rltc1qjmxnz78nmc8nq77wuxh25n2es7rzm5c23g5xdr"

// outbox records the email the engine queues: the seam where mail is
// tested without SMTP (package mail tests SMTP for real).
type outbox struct {
	mu   sync.Mutex
	sent []mail.Message
}

func (o *outbox) Enqueue(m mail.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sent = append(o.sent, m)
	return nil
}

func (o *outbox) all() []mail.Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]mail.Message(nil), o.sent...)
}

// movingQuoter prices LTC in USD at whatever the test sets: the seam of a
// price that moves.
type movingQuoter struct {
	mu    sync.Mutex
	price string
}

func (q *movingQuoter) set(p string) { q.mu.Lock(); q.price = p; q.mu.Unlock() }

func (q *movingQuoter) Price(_ context.Context, p rates.Pair) (rates.Price, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	d, err := rates.ParseDecimal(q.price)
	return rates.Price{Pair: p, Value: d, Source: "test"}, err
}

// fixture is an engine on a scripted node and a test clock, an invoice
// engine over it, and a vendor.
type fixture struct {
	env    *relaytest.Env
	node   *relaytest.Node
	clk    *clock.Test
	inv    *invoice.Engine
	vendor *store.Vendor
	mails  *outbox
	quoter *movingQuoter
}

func newFixture(t *testing.T) *fixture { return newFixtureWith(t, nil) }

// newFixtureWith is newFixture with the invoice engine's configuration
// changed by config.
func newFixtureWith(t *testing.T, config func(*invoice.Config)) *fixture {
	t.Helper()
	return newFixtureOf(t, nil, config, nil)
}

// newFixtureOf is newFixtureWith with the relay's configuration changed by
// relayConfig too, and the quoter quoter makes on the fixture's clock
// (nil, or a quoter that makes nil: the fixture's movingQuoter).
func newFixtureOf(t *testing.T, relayConfig func(*relay.Config), config func(*invoice.Config), quoter func(*clock.Test) invoice.Quoter) *fixture {
	t.Helper()
	f := &fixture{node: relaytest.NewNode(t, 100), clk: relaytest.Clock(), mails: &outbox{}, quoter: &movingQuoter{price: "80"}}
	cfg := relay.DefaultConfig()
	cfg.Clock = f.clk
	if relayConfig != nil {
		relayConfig(&cfg)
	}
	f.env = relaytest.NewEngine(t, relaytest.Options{Config: &cfg, Node: f.node})
	f.env.Run(t)
	var q invoice.Quoter = f.quoter
	if quoter == nil {
		quoter = func(*clock.Test) invoice.Quoter { return nil }
	}
	if qq := quoter(f.clk); qq != nil {
		q = qq
	}
	f.inv = f.env.Invoices(t, relaytest.InvoiceOptions{Clock: f.clk, Mailer: f.mails, Quoter: q, Config: config})
	creds, err := f.inv.AddVendor(context.Background(), invoice.NewVendor{Name: "Coffee Shop", Email: "owner@shop.example", Payout: map[string]string{"ltc": payout}})
	if err != nil {
		t.Fatal(err)
	}
	f.vendor = creds.Vendor
	f.scanned(t)
	return f
}

// scanned moves the clock until the engine has scanned the node's tip.
func (f *fixture) scanned(t *testing.T) {
	t.Helper()
	tip := f.node.Tip().Height
	for range 100 {
		if f.env.Engine.Height("ltc") == tip {
			return
		}
		f.clk.Advance(250 * time.Millisecond)
		time.Sleep(time.Millisecond) // lets the scanner take the wake-up; not a timing assertion
	}
	relaytest.WaitFor(t, "the scan", func() bool { return f.env.Engine.Height("ltc") == tip })
}

// create makes a $10 invoice (0.125 LTC at 80).
func (f *fixture) create(t *testing.T, number string) *invoice.View {
	t.Helper()
	v, err := f.inv.Create(context.Background(), invoice.Request{Vendor: f.vendor, Number: number, Amount: "10", Currency: "USD",
		CallbackURL: "https://shop.example/cb?i=" + url.QueryEscape(number), Prefix: "LTPP-"})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// pay mines a block paying the invoice's address sat.
func (f *fixture) pay(t *testing.T, v *invoice.View, sat int64) {
	t.Helper()
	f.payTo(t, v.Coins[0].Address, sat)
}

// payTo mines a block paying address sat.
func (f *fixture) payTo(t *testing.T, address string, sat int64) {
	t.Helper()
	prog, ok := chain.P2WPKHProgram(mustScript(t, address))
	if !ok {
		t.Fatal("not a P2WPKH address")
	}
	var p [20]byte
	copy(p[:], prog)
	f.node.Mine(t, chain.Output{Value: sat, Script: chain.P2WPKHScript(p)})
	f.scanned(t)
}

func mustScript(t *testing.T, addr string) []byte {
	t.Helper()
	c, _ := chain.Litecoin(chain.Regtest)
	d, err := c.ParseDestination(addr)
	if err != nil {
		t.Fatal(err)
	}
	return d.Script
}

func (f *fixture) status(t *testing.T, id string) ferry.InvoiceStatus {
	t.Helper()
	v, err := f.inv.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return v.Status
}

// TestStatuses pays invoices each way there is, and reads their status.
func TestStatuses(t *testing.T) {
	f := newFixture(t)
	const due = 12_500_000 // $10 at $80
	tol := int64(due * 5 / 1000)
	tests := []struct {
		name     string
		payments []int64
		want     ferry.InvoiceStatus
	}{
		{"nothing", nil, ferry.InvoicePending},
		{"exact", []int64{due}, ferry.InvoicePaid},
		{"short within the tolerance", []int64{due - tol}, ferry.InvoicePaid},
		{"over within the tolerance", []int64{due + tol}, ferry.InvoicePaid},
		{"short", []int64{due - tol - 1}, ferry.InvoiceUnderpaid},
		{"over", []int64{due + tol + 1}, ferry.InvoiceOverpaid},
		{"two payments adding up", []int64{due / 2, due - due/2}, ferry.InvoicePaid},
		// Below the relay's minimum (1,000,000), a payment is a donation,
		// never forwarded to the vendor: it pays nothing of the invoice.
		{"below the minimum", []int64{999_999}, ferry.InvoicePending},
		{"the rest below the minimum", []int64{due - 900_000, 900_000}, ferry.InvoiceUnderpaid},
	}
	for i, tt := range tests {
		v := f.create(t, tt.name)
		if v.Coins[0].Due != due {
			t.Fatalf("%s: due %d", tt.name, v.Coins[0].Due)
		}
		for _, p := range tt.payments {
			f.pay(t, v, p)
		}
		if got := f.status(t, v.ID); got != tt.want {
			t.Errorf("%d %s: %s, want %s", i, tt.name, got, tt.want)
		}
	}
}

// TestUnconfirmed: a payment seen in the mempool, enough for the amount,
// makes the invoice unconfirmed; less does not.
func TestUnconfirmed(t *testing.T) {
	f := newFixture(t)
	v := f.create(t, "1")
	tx := &chain.Tx{ID: ferry.Hash{1}, Outputs: []chain.Output{{Value: 12_500_000, Script: mustScript(t, v.Coins[0].Address)}}}
	f.node.Announce(tx)
	relaytest.WaitFor(t, "the unconfirmed status", func() bool { return f.status(t, v.ID) == ferry.InvoiceUnconfirmed })
}

// TestExpiryAndNotifications runs the engine's loop: a paid invoice and one
// part paid get their callbacks queued and their email sent, once; at
// expiry the part-paid one ends underpaid and an unpaid one expires.
func TestExpiryAndNotifications(t *testing.T) {
	f := newFixture(t)
	paid, part, unpaid := f.create(t, "paid"), f.create(t, "part"), f.create(t, "unpaid")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.inv.Run(ctx) }()
	defer func() { cancel(); <-done }()

	f.pay(t, paid, 12_500_000)
	relaytest.WaitFor(t, "the paid email", func() bool { return len(f.mails.all()) == 1 })
	f.pay(t, part, 5_000_000)
	m := f.mails.all()[0]
	if m.Subject != "ferry Merchant | Invoice paid has been paid!" || m.To[0] != "owner@shop.example" ||
		!strings.Contains(m.Body, "Hello, Coffee Shop") || !strings.Contains(m.Body, paid.Coins[0].Address) ||
		!strings.Contains(m.Body, "0.125 LTC / ~10.00 USD") || !strings.Contains(m.Body, "Payment has 1 confirmations") {
		t.Errorf("paid email: %q\n%s", m.Subject, m.Body)
	}
	cb, err := f.env.Store.Callback("inv-ltc", []byte(paid.ID+"/paid"))
	if err != nil || cb.State != ferry.DeliveryPending || cb.Host != "shop.example" {
		t.Errorf("the paid callback: %+v, %v", cb, err)
	}
	if _, err := f.env.Store.Callback("inv-ltc", []byte(part.ID+"/underpaid")); err == nil {
		t.Error("a part-paid invoice was reported before it expired")
	}

	// 30 days on.
	f.clk.Advance(31 * 24 * time.Hour)
	relaytest.WaitFor(t, "the expiry email", func() bool { return len(f.mails.all()) == 3 })
	subjects := map[string]bool{}
	for _, m := range f.mails.all() {
		subjects[m.Subject] = true
	}
	for _, want := range []string{"ferry Merchant | Invoice part has ended underpaid", "ferry Merchant | Invoice unpaid has expired unpaid"} {
		if !subjects[want] {
			t.Errorf("no email %q among %v", want, subjects)
		}
	}
	if s := f.status(t, part.ID); s != ferry.InvoiceUnderpaid {
		t.Errorf("part paid after expiry: %s", s)
	}
	if s := f.status(t, unpaid.ID); s != ferry.InvoiceExpired {
		t.Errorf("unpaid after expiry: %s", s)
	}
	relaytest.WaitFor(t, "the invoices closed", func() bool { ids, _ := f.env.Store.OpenInvoices(); return len(ids) == 0 })
	if n := len(f.mails.all()); n != 3 {
		t.Errorf("%d emails, want 3", n)
	}
}

// TestRequote: an unpaid invoice's page, shown after its quote ran out,
// has a new quote at the price of the moment.
func TestRequote(t *testing.T) {
	f := newFixture(t)
	v := f.create(t, "1")
	f.quoter.set("100")
	if s, _ := f.inv.Show(context.Background(), v.ID); s.Coins[0].Due != 12_500_000 {
		t.Errorf("requoted before the quote ran out: %d", s.Coins[0].Due)
	}
	f.clk.Advance(16 * time.Minute)
	s, err := f.inv.Show(context.Background(), v.ID)
	if err != nil || s.Coins[0].Due != 10_000_000 || s.Coins[0].Rate != "100" || !s.Coins[0].QuoteExpires.After(f.clk.Now()) {
		t.Errorf("after the quote ran out: %+v, %v", s.Coins[0], err)
	}
	// Once paid in part, the quote stays.
	f.pay(t, s, 1_000_000)
	f.quoter.set("50")
	f.clk.Advance(16 * time.Minute)
	if s, _ = f.inv.Show(context.Background(), v.ID); s.Coins[0].Due != 10_000_000 {
		t.Errorf("requoted after a payment: %d", s.Coins[0].Due)
	}
}

// TestCancel: an invoice nothing was paid to can be cancelled; one paid
// to cannot.
func TestCancel(t *testing.T) {
	f := newFixture(t)
	v := f.create(t, "1")
	if c, err := f.inv.Cancel(context.Background(), v.ID); err != nil || c.Status != ferry.InvoiceCancelled {
		t.Fatalf("cancel: %+v, %v", c, err)
	}
	w := f.create(t, "2")
	f.pay(t, w, 1_000_000)
	if _, err := f.inv.Cancel(context.Background(), w.ID); err == nil {
		t.Error("an invoice with a payment was cancelled")
	} else if k, _ := ferry.Explain(err); k != ferry.KindConflict {
		t.Errorf("cancel of a paid invoice: %v", err)
	}
}

// TestReference: a vendor's invoices with one reference are listed by it,
// those of its dialect only, with their status; a reference that is not
// printable text is refused and creates nothing.
func TestReference(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var want []string
	for _, r := range []struct{ dialect, ref string }{{"openapi", "1001"}, {"openapi", "1002"}, {"coinremitter", "1001"}, {"openapi", "1001"}} {
		v, err := f.inv.Create(ctx, invoice.Request{Vendor: f.vendor, Dialect: r.dialect, Amount: "10", Currency: "USD", Reference: r.ref})
		if err != nil {
			t.Fatal(err)
		}
		if r.dialect == "openapi" && r.ref == "1001" {
			want = append(want, v.ID)
		}
	}
	if _, err := f.inv.Cancel(ctx, want[0]); err != nil {
		t.Fatal(err)
	}
	vs, err := f.inv.InvoicesByReference(ctx, f.vendor.ID, "openapi", "1001", 0, 10)
	if err != nil || len(vs) != 2 || vs[0].ID != want[0] || vs[1].ID != want[1] || vs[0].Status != ferry.InvoiceCancelled || vs[1].Reference != "1001" {
		t.Fatalf("by reference: %v, %v", vs, err)
	}
	before, _ := f.env.Store.NextIndex("ltc")
	for _, bad := range []string{"a\x00b", "line\nbreak", strings.Repeat("x", invoice.MaxFieldLen+1)} {
		if _, err := f.inv.Create(ctx, invoice.Request{Vendor: f.vendor, Dialect: "openapi", Amount: "10", Currency: "USD", Reference: bad}); err == nil {
			t.Errorf("reference %.20q accepted", bad)
		}
	}
	if after, _ := f.env.Store.NextIndex("ltc"); after != before {
		t.Errorf("%d addresses minted for refused references", after-before)
	}
}

// TestCreateInCoin: an amount in a coin is that amount, in that coin, not
// quoted.
func TestCreateInCoin(t *testing.T) {
	f := newFixture(t)
	v, err := f.inv.Create(context.Background(), invoice.Request{Vendor: f.vendor, Amount: "0.05", Currency: "LTC", Prefix: "S-"})
	if err != nil || v.Coins[0].Due != 5_000_000 || v.Coins[0].Rate != "" || v.Amount != "0.05" || v.Currency != "LTC" || !strings.HasPrefix(v.ID, "S-") {
		t.Fatalf("%+v %+v, %v", v.Invoice, v.Coins, err)
	}
	for _, bad := range []string{"0", "-1", "0.123456789", "abc", "1e3"} {
		if _, err := f.inv.Create(context.Background(), invoice.Request{Vendor: f.vendor, Amount: bad, Currency: "LTC"}); err == nil {
			t.Errorf("amount %q accepted", bad)
		}
	}
	if _, err := f.inv.Create(context.Background(), invoice.Request{Vendor: f.vendor, Amount: "0.05", Currency: "BTC"}); err == nil {
		t.Error("a BTC amount for a vendor without a BTC address was accepted")
	}
}

// TestBelowMinimum: an invoice smaller than the relay's minimum deposit
// (0.01 LTC here) is refused, and creates nothing; a quote renewed at a
// dearer coin never asks for less than the minimum.
func TestBelowMinimum(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, r := range []invoice.Request{
		{Vendor: f.vendor, Amount: "0.79", Currency: "USD"}, // 0.009875 LTC
		{Vendor: f.vendor, Amount: "0.00999999", Currency: "LTC"},
	} {
		_, err := f.inv.Create(ctx, r)
		if k, msg := ferry.Explain(err); k != ferry.KindInvalid || !strings.Contains(msg, "below the smallest payment this server forwards (0.01 LTC)") {
			t.Errorf("%s %s: %v", r.Amount, r.Currency, err)
		}
	}
	if n, _ := f.env.Store.NextIndex("ltc"); n != 0 {
		t.Errorf("%d addresses minted for refused invoices", n)
	}
	if ids, _ := f.env.Store.OpenInvoices(); len(ids) != 0 {
		t.Errorf("%d invoices made", len(ids))
	}

	v, err := f.inv.Create(ctx, invoice.Request{Vendor: f.vendor, Amount: "0.80", Currency: "USD"})
	if err != nil || v.Coins[0].Due != 1_000_000 {
		t.Fatalf("$0.80 at $80: %+v, %v", v, err)
	}
	f.quoter.set("160")
	f.clk.Advance(16 * time.Minute)
	if s, err := f.inv.Show(ctx, v.ID); err != nil || s.Coins[0].Due != 1_000_000 || s.Coins[0].Rate != "160" {
		t.Errorf("requoted at $160: %+v, %v", s.Coins[0], err)
	}
}
