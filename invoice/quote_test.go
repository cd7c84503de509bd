package invoice_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/rates"
)

// stuckAPI is a local CoinGecko that answers until it is stuck, then holds
// every request until released: the seam of a price API that never
// answers.
type stuckAPI struct {
	*httptest.Server
	requests atomic.Int64
	arrived  chan struct{}

	mu      sync.Mutex
	stuck   bool
	release chan struct{}
}

func newStuckAPI(t *testing.T) *stuckAPI {
	t.Helper()
	a := &stuckAPI{arrived: make(chan struct{}, 100), release: make(chan struct{})}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.requests.Add(1)
		a.mu.Lock()
		stuck := a.stuck
		a.mu.Unlock()
		if stuck {
			a.arrived <- struct{}{}
			select {
			case <-a.release:
			case <-r.Context().Done():
			}
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"litecoin":{"usd":80}}`))
	}))
	t.Cleanup(a.Close)
	t.Cleanup(a.unstick)
	return a
}

func (a *stuckAPI) stick() { a.mu.Lock(); a.stuck = true; a.mu.Unlock() }

// unstick lets the held requests go, with an error.
func (a *stuckAPI) unstick() {
	a.mu.Lock()
	defer a.mu.Unlock()
	select {
	case <-a.release:
	default:
		close(a.release)
	}
}

// TestRequoteOutsideLock: with a price API that never answers, 20 views
// of an invoice page whose quote ran out send one price request between
// them, and a vendor's cancel does not wait for it; a failed requote is
// remembered, not asked again at once.
func TestRequoteOutsideLock(t *testing.T) {
	api := newStuckAPI(t)
	f := newFixtureOf(t, nil, nil, func(clk *clock.Test) invoice.Quoter {
		// No client timeout: only the fetch's own bound ends a request.
		src, err := rates.New("coingecko", rates.Options{BaseURL: api.URL, Client: &http.Client{}, Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		return rates.NewCache(src, time.Minute, clk)
	})
	v := f.create(t, "1")
	other := f.create(t, "2")
	if n := api.requests.Load(); n != 1 {
		t.Fatalf("%d price requests to create two invoices, want 1", n)
	}

	api.stick()
	f.clk.Advance(16 * time.Minute) // the quotes and the cached price ran out
	const views = 20
	var wg sync.WaitGroup
	shown := make(chan *invoice.View, views)
	for range views {
		wg.Go(func() {
			s, err := f.inv.Show(context.Background(), v.ID)
			if err != nil {
				t.Errorf("show: %v", err)
			}
			shown <- s
		})
	}
	select {
	case <-api.arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("no price request")
	}

	// The vendor's cancel goes through while the price request hangs.
	cancelled := make(chan error, 1)
	go func() {
		c, err := f.inv.Cancel(context.Background(), other.ID)
		if err == nil && c.Status != ferry.InvoiceCancelled {
			t.Errorf("cancelled invoice is %s", c.Status)
		}
		cancelled <- err
	}()
	select {
	case err := <-cancelled:
		if err != nil {
			t.Fatalf("cancel: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the vendor's cancel waited for the price API")
	}
	if n := api.requests.Load(); n != 2 {
		t.Errorf("%d price requests for %d views, want 1 more than the creation's", n, views)
	}

	// The request fails: every view shows the old quote, run out.
	api.unstick()
	wg.Wait()
	close(shown)
	for s := range shown {
		if s == nil || s.Coins[0].Due != 12_500_000 || s.Coins[0].QuoteExpires.After(f.clk.Now()) {
			t.Fatalf("view after a failed requote: %+v", s)
		}
	}
	// The failure is remembered: the next views ask nothing.
	for range views {
		if _, err := f.inv.Show(context.Background(), v.ID); err != nil {
			t.Fatal(err)
		}
	}
	if n := api.requests.Load(); n > 2 {
		t.Errorf("%d price requests in all, want 2 at most", n)
	}
}
