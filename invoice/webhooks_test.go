package invoice_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/notify"
	"github.com/ferry-relay/ferry/relay/relaytest"
	"github.com/ferry-relay/ferry/webhook"
)

// testAnnouncer announces every status change of the "test" dialect's
// invoices: to url, or to every endpoint if url is "".
type testAnnouncer struct{ url string }

func (a testAnnouncer) Announce(v *invoice.View, from ferry.InvoiceStatus) []invoice.Event {
	body, _ := json.Marshal(map[string]string{"id": v.ID, "from": string(from), "to": string(v.Status)})
	return []invoice.Event{{Type: "invoice." + string(v.Status), URL: a.url, Body: body}}
}

// lateWaker wakes a notifier made after the engine that wakes it.
type lateWaker struct {
	n atomic.Pointer[notify.Notifier]
}

func (w *lateWaker) Wake() {
	if n := w.n.Load(); n != nil {
		n.Wake()
	}
}

// received is one webhook an endpoint got.
type received struct {
	ID, Timestamp, Signature string
	Body                     []byte
	At                       time.Time // the test clock's time
}

// hook is a webhook endpoint: it answers with answer(n) for its nth
// request (from 1) and keeps every request.
type hook struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	answer func(n int) int
	clk    clock.Clock
}

func newHook(t *testing.T, clk clock.Clock, answer func(n int) int) *hook {
	t.Helper()
	h := &hook{answer: answer, clk: clk}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.got = append(h.got, received{r.Header.Get(webhook.HeaderID), r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature), body, h.clk.Now()})
		n := len(h.got)
		h.mu.Unlock()
		w.WriteHeader(h.answer(n))
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hook) all() []received {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]received(nil), h.got...)
}

// verify checks that every webhook h got was signed with secret.
func (h *hook) verify(t *testing.T, secret string) {
	t.Helper()
	for _, r := range h.all() {
		hd := http.Header{}
		hd.Set(webhook.HeaderID, r.ID)
		hd.Set(webhook.HeaderTimestamp, r.Timestamp)
		hd.Set(webhook.HeaderSignature, r.Signature)
		if err := webhook.Verify(secret, hd, r.Body, r.At); err != nil {
			t.Errorf("webhook %s: %v", r.ID, err)
		}
	}
}

// webhookFixture is the invoice fixture with a notifier on the test clock
// and the "test" dialect announcing to url.
func webhookFixture(t *testing.T, url string) (*fixture, *invoice.Credentials) {
	t.Helper()
	waker := &lateWaker{}
	f := newFixtureWith(t, func(c *invoice.Config) {
		c.Waker = waker
		c.Announcers = map[string]invoice.Announcer{"test": testAnnouncer{url}}
	})
	ncfg := notify.DefaultConfig()
	ncfg.Outbound, ncfg.Clock, ncfg.Queues = &net.Dialer{}, f.clk, f.inv.Queues()
	n, err := notify.New(ncfg)
	if err != nil {
		t.Fatal(err)
	}
	waker.n.Store(n)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { n.Run(ctx); done <- struct{}{} }()
	go func() { f.inv.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done })
	creds, err := f.inv.Admin().WebhookSecret(context.Background(), f.vendor.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	return f, &invoice.Credentials{Vendor: f.vendor, WebhookSecret: creds}
}

// createTest makes a $10 invoice of the "test" dialect.
func (f *fixture) createTest(t *testing.T) *invoice.View {
	t.Helper()
	v, err := f.inv.Create(context.Background(), invoice.Request{Vendor: f.vendor, Dialect: "test", Amount: "10", Currency: "USD"})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestWebhookRetries: an endpoint that fails 5 times gets the event again
// on the schedule, and once it answers 200, never again; every attempt is
// signed and listed.
func TestWebhookRetries(t *testing.T) {
	var h *hook
	clk := relaytest.Clock()
	h = newHook(t, clk, func(n int) int {
		if n <= 5 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	f, creds := webhookFixture(t, h.URL+"/wh")
	h.clk = f.clk
	v := f.createTest(t)
	f.pay(t, v, 12_500_000)

	schedule := []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute}
	for i, wait := range schedule {
		relaytest.WaitFor(t, "attempt", func() bool { return len(h.all()) == i+1 })
		// Not before its time.
		f.clk.Advance(wait - time.Second)
		if n := len(h.all()); n != i+1 {
			t.Fatalf("attempt %d came %v early", n, time.Second)
		}
		f.clk.Advance(time.Second)
	}
	relaytest.WaitFor(t, "the sixth attempt", func() bool { return len(h.all()) == 6 })
	relaytest.WaitFor(t, "the delivery recorded", func() bool {
		ds, _ := f.inv.Deliveries(context.Background(), f.vendor.ID, v.ID)
		return len(ds) == 1 && ds[0].State == "acked"
	})
	for range 10 {
		f.clk.Advance(12 * time.Hour)
	}
	if n := len(h.all()); n != 6 {
		t.Errorf("%d requests after the 200, want 6", n)
	}
	got := h.all()
	for _, r := range got[1:] {
		if r.ID != got[0].ID || string(r.Body) != string(got[0].Body) {
			t.Errorf("a retry differs: %s %s, first %s %s", r.ID, r.Body, got[0].ID, got[0].Body)
		}
	}
	h.verify(t, creds.WebhookSecret)
	ds, err := f.inv.Deliveries(context.Background(), f.vendor.ID, v.ID)
	if err != nil || len(ds) != 1 || len(ds[0].Attempts) != 6 || ds[0].Attempts[0].Status != 500 || ds[0].Attempts[5].Status != 200 ||
		ds[0].Type != "invoice.paid" {
		t.Errorf("deliveries: %+v, %v", ds, err)
	}
	if _, err := f.inv.Deliveries(context.Background(), "someone else", v.ID); err == nil {
		t.Error("another vendor listed the deliveries")
	}
}

// TestWebhookGivesUp: an endpoint that never answers 2xx is tried for 72
// hours, then no more.
func TestWebhookGivesUp(t *testing.T) {
	clk := relaytest.Clock()
	h := newHook(t, clk, func(int) int { return http.StatusServiceUnavailable })
	f, _ := webhookFixture(t, h.URL)
	h.clk = f.clk
	v := f.createTest(t)
	f.pay(t, v, 12_500_000)
	// Each retry at its time, until the delivery ends.
	waits := []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 12 * time.Hour}
	state := ""
	for k := 1; k < 40 && state != "gave_up"; k++ {
		relaytest.WaitFor(t, "an attempt recorded", func() bool {
			ds, _ := f.inv.Deliveries(context.Background(), f.vendor.ID, v.ID)
			if len(ds) == 1 && len(ds[0].Attempts) == k {
				state = ds[0].State
				return true
			}
			return false
		})
		f.clk.Advance(waits[min(k-1, len(waits)-1)])
	}
	if state != "gave_up" {
		t.Fatalf("still %s after 40 attempts", state)
	}
	got := h.all()
	last := got[len(got)-1].At.Sub(got[0].At)
	if last < invoice.GiveUpAfter || last > invoice.GiveUpAfter+12*time.Hour {
		t.Errorf("last attempt %v after the first, want from %v to %v", last, invoice.GiveUpAfter, invoice.GiveUpAfter+12*time.Hour)
	}
	n := len(got)
	f.clk.Advance(48 * time.Hour)
	if len(h.all()) != n {
		t.Errorf("attempts after giving up")
	}
}

// TestWebhookOrder: the events of one invoice reach an endpoint in order:
// the second waits while the first is retried.
func TestWebhookOrder(t *testing.T) {
	clk := relaytest.Clock()
	h := newHook(t, clk, func(n int) int {
		if n <= 2 {
			return http.StatusBadGateway
		}
		return http.StatusNoContent
	})
	f, _ := webhookFixture(t, h.URL)
	h.clk = f.clk
	v := f.createTest(t)
	// Unconfirmed (seen), then paid.
	tx := mustTx(t, v, 12_500_000)
	f.node.Announce(tx)
	relaytest.WaitFor(t, "the first attempt", func() bool { return len(h.all()) == 1 })
	f.node.Mine(t, tx.Outputs...)
	f.scanned(t)
	relaytest.WaitFor(t, "the paid event queued", func() bool {
		ds, _ := f.inv.Deliveries(context.Background(), f.vendor.ID, v.ID)
		return len(ds) == 2
	})
	f.clk.Advance(5 * time.Second)
	relaytest.WaitFor(t, "the second attempt", func() bool { return len(h.all()) == 2 })
	f.clk.Advance(30 * time.Second)
	relaytest.WaitFor(t, "both delivered", func() bool { return len(h.all()) == 4 })
	var tos []string
	for _, r := range h.all() {
		var b map[string]string
		json.Unmarshal(r.Body, &b)
		tos = append(tos, b["to"])
	}
	if want := []string{"unconfirmed", "unconfirmed", "unconfirmed", "paid"}; !equal(tos, want) {
		t.Errorf("events in the order %v, want %v", tos, want)
	}
}

// TestWebhookEndpoints: an event for every endpoint reaches each of the
// vendor's; an endpoint that hangs holds back no other.
func TestWebhookEndpoints(t *testing.T) {
	clk := relaytest.Clock()
	release := make(chan struct{})
	hang := newHook(t, clk, func(int) int { <-release; return 200 })
	defer close(release)
	fine := newHook(t, clk, func(int) int { return 200 })
	f, _ := webhookFixture(t, "")
	hang.clk, fine.clk = f.clk, f.clk
	ctx := context.Background()
	for _, u := range []string{hang.URL + "/a", fine.URL + "/b"} {
		if _, err := f.inv.Admin().AddEndpoint(ctx, f.vendor.ID, u); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.inv.Admin().AddEndpoint(ctx, f.vendor.ID, "ftp://shop.example/"); err == nil {
		t.Error("an ftp endpoint was taken")
	}
	vs := []*invoice.View{f.createTest(t), f.createTest(t), f.createTest(t)}
	for _, v := range vs {
		f.pay(t, v, 12_500_000)
	}
	relaytest.WaitFor(t, "the three events at the endpoint that answers", func() bool { return len(fine.all()) == 3 })
	if n := len(hang.all()); n > 2 {
		t.Errorf("%d requests in flight to one host, want at most 2", n)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// mustTx is a transaction paying an invoice's address sat.
func mustTx(t *testing.T, v *invoice.View, sat int64) *chain.Tx {
	t.Helper()
	return &chain.Tx{ID: ferry.Hash{byte(sat), 7}, Outputs: []chain.Output{{Value: sat, Script: mustScript(t, v.Coins[0].Address)}}}
}
