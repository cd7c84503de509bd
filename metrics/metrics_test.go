package metrics_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/metrics"
)

func get(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

// TestReasons: a node's rejection reasons become labels without their
// numbers and hashes, and there are never more than a bounded number.
func TestReasons(t *testing.T) {
	m := metrics.New(clock.System{})
	for _, tt := range []struct{ msg, label string }{
		{"min relay fee not met, 140 < 141", "min relay fee not met, N < N"},
		{"min relay fee not met, 9 < 300", "min relay fee not met, N < N"},
		{"bad-txns-inputs-missingorspent", "bad-txns-inputs-missingorspent"},
		{"Transaction already in block chain (code -27)", "transaction already in block chain"},
		{"mempool conflict: 1e8c3a4f5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9", "mempool conflict"},
	} {
		m.Rejected("ltc", tt.msg)
		if out := get(t, m); !strings.Contains(out, `reason="`+tt.label+`"`) {
			t.Errorf("%q: no label %q in\n%s", tt.msg, tt.label, out)
		}
	}
	for i := range 100 {
		m.Rejected("ltc", strings.Repeat("x", i%50+1)+" unique")
	}
	if n := strings.Count(get(t, m), "ferry_forward_rejections_total{"); n > 33 {
		t.Errorf("%d reasons kept", n)
	}
	if !strings.Contains(get(t, m), `reason="other"`) {
		t.Error("no reason counted as other")
	}
}

// TestQueueDepthCached: a queue's depth is read at most once per refresh.
func TestQueueDepthCached(t *testing.T) {
	clk := clock.NewTest(time.Unix(1_800_000_000, 0))
	m := metrics.New(clk)
	reads := 0
	m.QueueDepth("wh", 15*time.Second, func() (int, error) { reads++; return 7, nil })
	for range 3 {
		if out := get(t, m); !strings.Contains(out, `ferry_notify_queue_depth{queue="wh"} 7`) {
			t.Fatalf("no depth in\n%s", out)
		}
	}
	clk.Advance(16 * time.Second)
	get(t, m)
	if reads != 2 {
		t.Errorf("%d reads, want 2", reads)
	}
}
