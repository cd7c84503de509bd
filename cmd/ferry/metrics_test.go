package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ferry-relay/ferry/chain/regtest"
)

// scrape reads /metrics with Prometheus' own text parser.
func scrape(t *testing.T, u string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// sample returns the value of family's sample with labels (a counter's or
// gauge's value, a histogram's count), or -1 if it has none.
func sample(fams map[string]*dto.MetricFamily, family string, labels ...string) float64 {
	f := fams[family]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.Metric {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.Label {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// TestMetrics scrapes /metrics after a payment (its forward refused once
// by the node, then accepted, and its callback answered *ok*), a
// donation, a reorg and a rate-limited client, and reads every family
// with Prometheus' parser.
func TestMetrics(t *testing.T) {
	n := startNode(t, "litecoin")
	cfg := merchantConfig(t, n)
	rpc, proxied := newCountingRPC(t, n.rpcURL)
	cfg.LTCRPC = proxied
	rpc.refuse.Store(1)
	port, err := regtest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cfg.MetricsListen = fmt.Sprintf("127.0.0.1:%d", port)
	cfg.RateLimit = 6
	d := startFerry(t, cfg)
	m := startMerchant(t, cfg.DataDir)
	dest := newAddress(t, n)
	in := receive(t, d.URL, n.coin, dest, m.callbackURL(nil)).InputAddress
	small := receive(t, d.URL, n.coin, dest, "").InputAddress

	op := pay(t, n, in, 20_000_000)
	pay(t, n, small, 500_000) // below the minimum: a donation
	mine(t, n, 1)
	// One of the two is refused once, and broadcast again at the next block.
	waitFor(t, "both signed", func() bool { return d.Log.count("forward signed", nil) == 2 })
	mine(t, n, 1)
	waitFor(t, "both broadcast", func() bool { return d.Log.count("forward broadcast", nil) == 2 })
	waitFor(t, "the callback", func() bool { return len(m.calls(t, "end", nil)) >= 1 })
	spender(t, n, op)
	top := mine(t, n, 2)
	waitScanned(t, n, d.URL)
	if err := n.InvalidateBlock(t.Context(), top[1]); err != nil {
		t.Fatal(err)
	}
	mine(t, n, 2)
	waitScanned(t, n, d.URL)
	for range 10 {
		http.Get(d.URL + "/api/check?method=litecoin&address=" + in)
	}

	u := "http://" + cfg.MetricsListen + "/metrics"
	var fams map[string]*dto.MetricFamily
	waitFor(t, "the callback's delay observed", func() bool {
		fams = scrape(t, u)
		return sample(fams, "ferry_callback_delay_seconds", "coin", "ltc") == 1
	})
	height := float64(waitScannedHeight(t, n))
	for _, c := range []struct {
		family string
		labels []string
		want   func(float64) bool
		say    string
	}{
		{"ferry_node_height", []string{"coin", "ltc"}, func(v float64) bool { return v == height }, "the node's height"},
		{"ferry_scan_height", []string{"coin", "ltc"}, func(v float64) bool { return v == height }, "the node's height"},
		{"ferry_blocks_scanned_total", []string{"coin", "ltc"}, func(v float64) bool { return v >= 5 }, "at least 5"},
		{"ferry_blocks_rolled_back_total", []string{"coin", "ltc"}, func(v float64) bool { return v == 1 }, "1"},
		{"ferry_watched_addresses", []string{"coin", "ltc"}, func(v float64) bool { return v == 2 }, "2"},
		{"ferry_deposits_detected_total", []string{"coin", "ltc"}, func(v float64) bool { return v == 2 }, "2"},
		{"ferry_deposits_forwarded_total", []string{"coin", "ltc"}, func(v float64) bool { return v == 1 }, "1"},
		{"ferry_deposits_donated_total", []string{"coin", "ltc"}, func(v float64) bool { return v == 1 }, "1"},
		{"ferry_deposits_held_total", []string{"coin", "ltc"}, func(v float64) bool { return v == 0 }, "0"},
		{"ferry_forward_rejections_total", []string{"coin", "ltc", "reason", "min relay fee not met, N < N"}, func(v float64) bool { return v == 1 }, "1"},
		{"ferry_forward_delay_seconds", []string{"coin", "ltc"}, func(v float64) bool { return v == 1 }, "1 observation"},
		{"ferry_callback_delay_seconds", []string{"coin", "ltc"}, func(v float64) bool { return v == 1 }, "1 observation"},
		{"ferry_notify_attempts_total", []string{"queue", "ltc", "outcome", "delivered"}, func(v float64) bool { return v == 1 }, "1"},
		{"ferry_notify_queue_depth", []string{"queue", "ltc"}, func(v float64) bool { return v == 0 }, "0"},
		{"ferry_http_requests_total", []string{"route", "/api/receive", "status", "200"}, func(v float64) bool { return v == 2 }, "2"},
		{"ferry_http_requests_total", []string{"route", "/api/check", "status", "429"}, func(v float64) bool { return v >= 1 }, "at least 1"},
		{"ferry_rate_limited_total", []string{"route", "/api/check"}, func(v float64) bool { return v >= 1 }, "at least 1"},
		{"ferry_store_batch_seconds", nil, func(v float64) bool { return v >= 5 }, "at least 5 observations"},
	} {
		if v := sample(fams, c.family, c.labels...); !c.want(v) {
			t.Errorf("%s%v = %v, want %s", c.family, c.labels, v, c.say)
		}
	}
	// Metrics are not on the API's listener.
	if resp, err := http.Get(d.URL + "/metrics"); err != nil || resp.StatusCode != 404 {
		t.Errorf("/metrics on the API: %v %v", resp, err)
	}
}

// waitScannedHeight returns the node's height once ferry has scanned it.
func waitScannedHeight(t *testing.T, n *node) int64 {
	t.Helper()
	h, err := n.NodeClient().BlockCount(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return h
}
