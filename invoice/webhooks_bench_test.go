package invoice_test

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/notify"
	"github.com/ferry-relay/ferry/notify/notifytest"
	"github.com/ferry-relay/ferry/relay/relaytest"
	"github.com/ferry-relay/ferry/store"
)

// webhookCount is how many webhooks BenchmarkWebhooks queues: make test
// runs it at 1,000, make bench at 100,000.
var webhookCount = flag.Int("webhooks", 1000, "webhooks queued by BenchmarkWebhooks")

// queueWebhooks records n webhook messages to base, each the first event
// of an invoice of one vendor, due now, the way the engine records them;
// it returns the store and the engine's queues.
func queueWebhooks(tb testing.TB, n int, base string) (*store.DB, []notify.Queue) {
	tb.Helper()
	env := relaytest.NewEngine(tb, relaytest.Options{Started: true, Down: true})
	inv := env.Invoices(tb, relaytest.InvoiceOptions{})
	creds, err := inv.AddVendor(context.Background(), invoice.NewVendor{Name: "Bench", Email: "b@shop.example", Payout: map[string]string{"ltc": payout}})
	if err != nil {
		tb.Fatal(err)
	}
	host := strings.TrimPrefix(base, "http://")
	now := time.Now()
	for i := range n {
		id := fmt.Sprint(i + 1)
		m := &store.Message{Queue: "wh", Ref: []byte("p/" + id + "/0000000001.00"), ID: "evt_" + id + "_1_0", Type: "order.successful",
			Vendor: creds.Vendor.ID, Invoice: id, URL: base + "/wh", Body: []byte(`{"id":"` + id + `","status":"SUCCESSFUL"}`), Created: now}
		if _, err := env.Store.StartMessage(m, host, now.Unix()); err != nil {
			tb.Fatal(err)
		}
	}
	return env.Store, inv.Queues()
}

// BenchmarkWebhooks delivers -webhooks webhooks due at once, through the
// store-backed queue (each read, signed, POSTed over loopback, its attempt
// recorded, the next of its invoice looked for) and the notifier with its
// defaults (32 workers, 2 per host), to a local endpoint answering 204
// ("sink", in webhooks per second); and keeps as many pending to a host
// that refuses every connection ("dead", in MB of heap added while the
// notifier runs over them).
func BenchmarkWebhooks(b *testing.B) {
	n := *webhookCount
	b.Run("sink", func(b *testing.B) {
		sink := notifytest.NewEndpoint(b, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
		var rate float64
		for range b.N {
			b.StopTimer()
			db, qs := queueWebhooks(b, n, sink.URL)
			sent := sink.Requests.Load()
			b.StartTimer()
			start := time.Now()
			stop := notifytest.Run(b, qs...)
			relaytest.WaitWithin(b, 10*time.Minute, "every webhook", func() bool { return sink.Requests.Load()-sent >= int64(n) })
			stop()
			elapsed := time.Since(start)
			if left, err := db.QueuedCallbacks("wh"); err != nil || left != 0 {
				b.Fatalf("%d webhooks left in the queue, %v", left, err)
			}
			rate = float64(n) / elapsed.Seconds()
		}
		b.ReportMetric(rate, "webhooks/s")
	})
	b.Run("dead", func(b *testing.B) {
		dead := notifytest.DeadURL(b)
		var grown float64
		for range b.N {
			b.StopTimer()
			_, qs := queueWebhooks(b, n, dead)
			b.StartTimer()
			// The first attempts fail and the host is paused.
			grown = notifytest.HeapAdded(b, 2*time.Second, qs...)
		}
		b.ReportMetric(grown, "MB")
	})
}
