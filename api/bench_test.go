package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-relay/ferry/api"
	"github.com/ferry-relay/ferry/torproxy"
)

// BenchmarkReceiveHTTP mints addresses through /api/receive over loopback
// HTTP with 64 concurrent clients (synced store, no rate limit), next to a
// bare net/http handler answering a fixed JSON body the same way. It
// reports requests per second and the p50 and p99 latencies.
func BenchmarkReceiveHTTP(b *testing.B) {
	body := []byte(`{"callback_url":"","input_address":"rltc1qk8hjy3lf245r7ppr2lfy8zxn8nwrmuas7tq53e","destination":"` + dest + `","fee_percent":"0.01","callback_req":"0"}` + "\n")
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	b.Run("bare", func(b *testing.B) {
		srv := httptest.NewServer(bare)
		defer srv.Close()
		loadHTTP(b, srv.URL+"/api/receive?method=litecoin&callback_req=0&address="+dest)
	})
	b.Run("receive", func(b *testing.B) {
		cfg := api.DefaultConfig()
		cfg.RateLimit = 0
		srv, _ := newAPIWith(b, cfg, &torproxy.Dialer{})
		loadHTTP(b, srv.URL+"/api/receive?method=litecoin&callback_req=0&address="+dest)
	})
}

// loadHTTP makes b.N GETs of u from 64 concurrent clients.
func loadHTTP(b *testing.B, u string) {
	const clients = 64
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}
	defer client.CloseIdleConnections()
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				t0 := time.Now()
				resp, err := client.Get(u)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("HTTP %d", resp.StatusCode)
					return
				}
				lat[i] = time.Since(t0)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkInvoicePage loads an invoice's payment page over loopback HTTP
// with 64 concurrent clients (the invoice and its address read from the
// store, the QR code drawn, the template run), next to a bare handler
// answering the same bytes.
func BenchmarkInvoicePage(b *testing.B) {
	srv, v := pageEnv(b)
	u := srv.URL + "/merch/inv?id=" + url.QueryEscape(v.ID)
	resp, err := http.Get(u)
	if err != nil {
		b.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	b.Run("bare", func(b *testing.B) {
		bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write(page)
		}))
		defer bare.Close()
		loadHTTP(b, bare.URL+"/merch/inv?id="+url.QueryEscape(v.ID))
	})
	b.Run("page", func(b *testing.B) { loadHTTP(b, u) })
}
