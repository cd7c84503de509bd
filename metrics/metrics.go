// Package metrics is ferry's Prometheus instrumentation: the metric
// families (ferry_…), the calls the relay, the notifier and the API make
// as things happen, and the handler that serves them in Prometheus' text
// format. Each of those packages declares the small interface it calls;
// *Metrics implements them all. It is safe for concurrent use.
package metrics

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ferry-relay/ferry/clock"
)

// delayBuckets spread from a few seconds to a few hours: a block, a
// confirmation, a retried callback.
var delayBuckets = []float64{1, 5, 15, 30, 60, 150, 300, 600, 1800, 3600, 7200, 14400}

// maxReasons bounds the distinct rejection reasons kept as labels; more
// are counted as "other".
const maxReasons = 32

// Metrics holds ferry's metric families on a registry of its own.
type Metrics struct {
	reg *prometheus.Registry

	nodeHeight, scanHeight          *prometheus.GaugeVec
	blocksScanned, blocksRolledBack *prometheus.CounterVec
	detected, forwarded, donated    *prometheus.CounterVec
	held, refunded, rejections      *prometheus.CounterVec
	forwardDelay, callbackDelay     *prometheus.HistogramVec
	attempts, requests, rateLimited *prometheus.CounterVec
	batch                           prometheus.Histogram
	clk                             clock.Clock
	mu                              sync.Mutex
	reasons                         map[string]bool
}

// New returns the metrics, registered with Go's and the process's own;
// clk times the caches of gauges read at scrape time.
func New(clk clock.Clock) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), reasons: map[string]bool{}, clk: clk}
	coin := []string{"coin"}
	m.nodeHeight = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ferry_node_height", Help: "The node's best block height, as the scanner last asked it."}, coin)
	m.scanHeight = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ferry_scan_height", Help: "The height of the last block the scanner recorded."}, coin)
	m.blocksScanned = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ferry_blocks_scanned_total", Help: "Blocks scanned and recorded."}, coin)
	m.blocksRolledBack = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ferry_blocks_rolled_back_total", Help: "Blocks rolled back after a reorg."}, coin)
	m.detected = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ferry_deposits_detected_total", Help: "Deposits found in blocks."}, coin)
	m.forwarded = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ferry_deposits_forwarded_total", Help: "Deposits whose forward a node accepted."}, coin)
	m.donated = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ferry_deposits_donated_total", Help: "Deposits below the minimum, swept to the fee address."}, coin)
	m.held = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ferry_deposits_held_total", Help: "Deposits an invoice holds, counted when first seen held by this process."}, coin)
	m.refunded = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ferry_deposits_refunded_total", Help: "Held deposits whose refund a node accepted."}, coin)
	m.rejections = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ferry_forward_rejections_total", Help: "Broadcasts of forwards a node refused, by its reason."}, []string{"coin", "reason"})
	m.forwardDelay = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ferry_forward_delay_seconds",
		Help: "Time from a deposit's block to the first acceptance of its forward.", Buckets: delayBuckets}, coin)
	m.callbackDelay = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ferry_callback_delay_seconds",
		Help: "Time from a deposit's block to its callback's *ok*.", Buckets: delayBuckets}, coin)
	m.attempts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ferry_notify_attempts_total",
		Help: "Deliveries tried by the notifier, by queue and outcome (delivered, refused, no_answer)."}, []string{"queue", "outcome"})
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ferry_http_requests_total", Help: "API requests, by route and status."}, []string{"route", "status"})
	m.rateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ferry_rate_limited_total", Help: "API requests refused for the rate limit, by route."}, []string{"route"})
	m.batch = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ferry_store_batch_seconds",
		Help: "Time to commit one block's synced batch to the store.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)})
	m.reg.MustRegister(m.nodeHeight, m.scanHeight, m.blocksScanned, m.blocksRolledBack, m.detected, m.forwarded, m.donated, m.held,
		m.refunded, m.rejections, m.forwardDelay, m.callbackDelay, m.attempts, m.requests, m.rateLimited, m.batch,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Coin makes a coin's families show from the start, at zero, and its watch
// set's size read from watched at each scrape.
func (m *Metrics) Coin(coin string, watched func() int) {
	for _, v := range []*prometheus.GaugeVec{m.nodeHeight, m.scanHeight} {
		v.WithLabelValues(coin)
	}
	for _, v := range []*prometheus.CounterVec{m.blocksScanned, m.blocksRolledBack, m.detected, m.forwarded, m.donated, m.held, m.refunded} {
		v.WithLabelValues(coin)
	}
	for _, v := range []*prometheus.HistogramVec{m.forwardDelay, m.callbackDelay} {
		v.WithLabelValues(coin)
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ferry_watched_addresses",
		Help: "Addresses in the watch set.", ConstLabels: prometheus.Labels{"coin": coin}}, func() float64 { return float64(watched()) }))
}

// NodeHeight records a coin's node's best height.
func (m *Metrics) NodeHeight(coin string, height int64) {
	m.nodeHeight.WithLabelValues(coin).Set(float64(height))
}

// Scanned records a block the scanner recorded at height, the deposits it
// found, and how long its batch took to commit.
func (m *Metrics) Scanned(coin string, height int64, deposits int, batch time.Duration) {
	m.scanHeight.WithLabelValues(coin).Set(float64(height))
	m.blocksScanned.WithLabelValues(coin).Inc()
	m.detected.WithLabelValues(coin).Add(float64(deposits))
	m.batch.Observe(batch.Seconds())
}

// RolledBack records a block rolled back, and the height it leaves.
func (m *Metrics) RolledBack(coin string, height int64) {
	m.blocksRolledBack.WithLabelValues(coin).Inc()
	m.scanHeight.WithLabelValues(coin).Set(float64(height))
}

// Forwarded records a forward a node accepted for the first time: kind is
// "forward", "donation" or "refund"; delay is the time since the deposit's
// block (negative if unknown: not observed).
func (m *Metrics) Forwarded(coin, kind string, delay time.Duration) {
	switch kind {
	case "donation":
		m.donated.WithLabelValues(coin).Inc()
		return
	case "refund":
		m.refunded.WithLabelValues(coin).Inc()
		return
	}
	m.forwarded.WithLabelValues(coin).Inc()
	if delay >= 0 {
		m.forwardDelay.WithLabelValues(coin).Observe(delay.Seconds())
	}
}

// Held records a deposit first seen held.
func (m *Metrics) Held(coin string) { m.held.WithLabelValues(coin).Inc() }

// Rejected records a node's refusal of a forward, by its reason.
func (m *Metrics) Rejected(coin, reason string) {
	m.rejections.WithLabelValues(coin, m.reason(reason)).Inc()
}

// CallbackAcked records a deposit's callback answered *ok*, delay after
// the deposit's block (negative if unknown).
func (m *Metrics) CallbackAcked(coin string, delay time.Duration) {
	if delay >= 0 {
		m.callbackDelay.WithLabelValues(coin).Observe(delay.Seconds())
	}
}

// Attempt records one delivery of the notifier: outcome is "delivered",
// "refused" (answered, not acknowledged) or "no_answer".
func (m *Metrics) Attempt(queue, outcome string) {
	m.attempts.WithLabelValues(queue, outcome).Inc()
}

// Request records an API request answered with status.
func (m *Metrics) Request(route string, status int) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
}

// RateLimited records a request refused for the rate limit.
func (m *Metrics) RateLimited(route string) { m.rateLimited.WithLabelValues(route).Inc() }

// QueueDepth reports the pending deliveries of a notifier queue, read
// from depth at most every refresh (a read walks the queue).
func (m *Metrics) QueueDepth(queue string, refresh time.Duration, depth func() (int, error)) {
	var mu sync.Mutex
	var at time.Time
	var last float64
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ferry_notify_queue_depth",
		Help: "Deliveries pending in a notifier queue.", ConstLabels: prometheus.Labels{"queue": queue}}, func() float64 {
		mu.Lock()
		defer mu.Unlock()
		if now := m.clk.Now(); now.Sub(at) >= refresh {
			if n, err := depth(); err == nil {
				last, at = float64(n), now
			}
		}
		return last
	}))
}

// noise is what varies within one reason: numbers, hashes, amounts.
var noise = regexp.MustCompile(`[0-9a-f]{16,}|[0-9]+(\.[0-9]+)?`)

// reason reduces a node's rejection message to a label: its words, without
// numbers or hashes, at most 60 bytes; past maxReasons distinct ones,
// "other".
func (m *Metrics) reason(msg string) string {
	r := strings.ToLower(msg)
	if i := strings.IndexAny(r, "(:"); i > 0 {
		r = r[:i]
	}
	r = strings.Join(strings.Fields(noise.ReplaceAllString(r, "N")), " ")
	if len(r) > 60 {
		r = r[:60]
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.reasons[r] {
		if len(m.reasons) >= maxReasons {
			return "other"
		}
		m.reasons[r] = true
	}
	return r
}
