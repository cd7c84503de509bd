// Package notifytest holds the fakes notify's tests and its users' tests
// share: an in-memory queue, a counting HTTP endpoint, and a notifier run
// over queues (with what it costs in memory) for benchmarks.
package notifytest

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-relay/ferry/notify"
)

// MemQueue is an in-memory notify.Queue: the seam where the notifier is
// tested without a store. Items stay due until delivered; every result is
// kept. It is safe for concurrent use.
type MemQueue struct {
	mu    sync.Mutex
	items map[string]*memItem // by key
	// Reads counts the items Due returned.
	Reads   atomic.Int64
	results map[string][]notify.Result
}

type memItem struct {
	key, host, url string
	ack            notify.Ack
	delivered      bool
}

// NewMemQueue returns an empty queue.
func NewMemQueue() *MemQueue {
	return &MemQueue{items: map[string]*memItem{}, results: map[string][]notify.Result{}}
}

// Add queues a GET of rawURL under key, delivered by ack's rule.
func (q *MemQueue) Add(key, rawURL string, ack notify.Ack) {
	u, _ := url.Parse(rawURL)
	q.mu.Lock()
	defer q.mu.Unlock()
	q.items[key] = &memItem{key: key, host: u.Host, url: rawURL, ack: ack}
}

// Due returns the undelivered items, host by host in host order.
func (q *MemQueue) Due(_ context.Context, after []byte, limit int, want func(string) (int, []byte)) ([]notify.Item, []byte, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	byHost := map[string][]*memItem{}
	var hosts []string
	for _, it := range q.items {
		if it.delivered {
			continue
		}
		if byHost[it.host] == nil {
			hosts = append(hosts, it.host)
		}
		byHost[it.host] = append(byHost[it.host], it)
	}
	sort.Strings(hosts)
	var out []notify.Item
	var last []byte
	for _, h := range hosts {
		if after != nil && h <= string(after) {
			continue
		}
		if len(out) >= limit {
			return out, last, nil
		}
		its := byHost[h]
		sort.Slice(its, func(i, j int) bool { return its[i].key < its[j].key })
		n, from := want(h)
		if from != nil {
			// Resume after from, or from the first once none is after it.
			i := sort.Search(len(its), func(i int) bool { return its[i].key > string(from) })
			if i < len(its) {
				its = its[i:]
			}
		}
		for _, it := range its[:min(len(its), n, limit-len(out))] {
			out = append(out, notify.Item{Key: it.key, Host: it.host, Pos: []byte(it.key), Ref: it})
		}
		last = []byte(h)
	}
	q.Reads.Add(int64(len(out)))
	return out, nil, nil
}

// Build makes an item's GET request.
func (q *MemQueue) Build(_ context.Context, it notify.Item) (*notify.Request, error) {
	m := it.Ref.(*memItem)
	u, _ := url.Parse(m.url)
	return &notify.Request{Method: http.MethodGet, URL: u, Ack: m.ack}, nil
}

// Done keeps the result; a delivered item is due no more.
func (q *MemQueue) Done(_ context.Context, it notify.Item, res notify.Result) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.results[it.Key] = append(q.results[it.Key], res)
	if res.Delivered() {
		q.items[it.Key].delivered = true
	}
	return nil
}

// Results returns the results of key's deliveries, in order.
func (q *MemQueue) Results(key string) []notify.Result {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]notify.Result(nil), q.results[key]...)
}

// Delivered returns how many items were delivered.
func (q *MemQueue) Delivered() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, it := range q.items {
		if it.delivered {
			n++
		}
	}
	return n
}

// Endpoint is a loopback HTTP server that counts the requests it gets and
// the most it had in flight at once.
type Endpoint struct {
	*httptest.Server
	Requests, inflight, Peak atomic.Int64
}

// NewEndpoint serves answer on 127.0.0.1 until the end of the test.
func NewEndpoint(t testing.TB, answer http.HandlerFunc) *Endpoint {
	t.Helper()
	e := &Endpoint{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.Requests.Add(1)
		now := e.inflight.Add(1)
		defer e.inflight.Add(-1)
		for p := e.Peak.Load(); now > p && !e.Peak.CompareAndSwap(p, now); p = e.Peak.Load() {
		}
		answer(w, r)
	}))
	t.Cleanup(e.Close)
	return e
}

// OK answers *ok*, after a millisecond: long enough for requests to
// overlap.
func OK(w http.ResponseWriter, r *http.Request) {
	time.Sleep(time.Millisecond)
	w.Write([]byte("*ok*"))
}

// Run runs a notifier with the default configuration (workers, per-host
// limits) over qs, dialing directly, until the returned stop is called,
// which waits for it.
func Run(tb testing.TB, qs ...notify.Queue) (stop func()) {
	tb.Helper()
	cfg := notify.DefaultConfig()
	cfg.Queues, cfg.Outbound = qs, &net.Dialer{}
	n, err := notify.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

// DeadURL returns the base URL ("http://127.0.0.1:port") of a loopback
// port that nothing listens on: every connection to it is refused.
func DeadURL(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return "http://" + ln.Addr().String()
}

// HeapAdded runs a notifier over qs for d (Run), and returns how much the
// heap in use grew meanwhile, in MB, from after a collection before it
// started: what the deliveries qs holds cost in memory while they are
// tried.
func HeapAdded(tb testing.TB, d time.Duration, qs ...notify.Queue) float64 {
	tb.Helper()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	stop := Run(tb, qs...)
	time.Sleep(d)
	runtime.ReadMemStats(&after)
	stop()
	return float64(int64(after.HeapInuse)-int64(before.HeapInuse)) / (1 << 20)
}
