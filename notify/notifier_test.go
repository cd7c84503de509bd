package notify_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/notify"
	"github.com/ferry-relay/ferry/notify/notifytest"
	"github.com/ferry-relay/ferry/relay/relaytest"
)

// loopback dials anything: the tests' endpoints are all on 127.0.0.1.
type loopback struct{ net.Dialer }

// startNotifier runs a notifier over q until the end of the test.
func startNotifier(t *testing.T, cfg notify.Config, q notify.Queue) *notify.Notifier {
	t.Helper()
	cfg.Queues = []notify.Queue{q}
	if cfg.Outbound == nil {
		cfg.Outbound = &loopback{}
	}
	n, err := notify.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return n
}

// waitFor is relaytest.WaitFor.
var waitFor = relaytest.WaitFor

// TestDelivers: every item is delivered once, at most PerHost at a time to
// one host.
func TestDelivers(t *testing.T) {
	e := notifytest.NewEndpoint(t, notifytest.OK)
	q := notifytest.NewMemQueue()
	for i := range 200 {
		q.Add(fmt.Sprintf("k%03d", i), e.URL+"/cb?i="+fmt.Sprint(i), notify.AckOK)
	}
	cfg := notify.DefaultConfig()
	cfg.PerHost = 3
	startNotifier(t, cfg, q)
	waitFor(t, "every delivery", func() bool { return q.Delivered() == 200 })
	if n := e.Requests.Load(); n != 200 {
		t.Errorf("%d requests for 200 items", n)
	}
	if p := e.Peak.Load(); p > 3 || p < 2 {
		t.Errorf("at most %d requests at once to one host, want 2 to 3", p)
	}
}

// TestDeadHostDelaysNoOther queues a thousand items to a host that refuses
// connections ahead of others: the others are delivered while the dead
// host is paused after its first failures, never tried more than PerHost
// at once, and its backlog is not read.
func TestDeadHostDelaysNoOther(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String()
	ln.Close()
	live := notifytest.NewEndpoint(t, notifytest.OK)
	q := notifytest.NewMemQueue()
	for i := range 1000 {
		q.Add(fmt.Sprintf("dead%04d", i), dead+"/cb", notify.AckOK)
	}
	for i := range 5 {
		q.Add(fmt.Sprintf("live%d", i), live.URL+"/cb", notify.AckOK)
	}
	clk := clock.NewTest(time.Unix(1_700_000_000, 0))
	cfg := notify.DefaultConfig()
	cfg.Clock = clk
	startNotifier(t, cfg, q)
	waitFor(t, "the live host's items", func() bool { return q.Delivered() == 5 })
	tried := 0
	for i := range 1000 {
		tried += len(q.Results(fmt.Sprintf("dead%04d", i)))
	}
	if tried == 0 || tried > cfg.PerHost {
		t.Errorf("the dead host was tried %d times before its pause, want 1 to %d", tried, cfg.PerHost)
	}
	if r := q.Reads.Load(); r > 100 {
		t.Errorf("%d items read for 5 deliveries: the dead host's backlog was read", r)
	}
}

// TestHostBackoff follows a dead host's pause on the test clock: 5 s after
// its first failure, then 10 s, doubling; no time passes without the clock.
func TestHostBackoff(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String()
	ln.Close()
	q := notifytest.NewMemQueue()
	q.Add("a", dead+"/cb", notify.Ack2xx)
	clk := clock.NewTest(time.Unix(1_700_000_000, 0))
	cfg := notify.DefaultConfig()
	cfg.Clock = clk
	cfg.PerHost, cfg.Workers = 1, 1
	startNotifier(t, cfg, q)
	attempts := func() int { return len(q.Results("a")) }
	waitFor(t, "the first attempt", func() bool { return attempts() == 1 })
	if r := q.Results("a")[0]; !r.NoAnswer || !strings.Contains(r.Err, "refused") {
		t.Fatalf("first attempt: %+v", r)
	}
	for i, pause := range []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second} {
		// The notifier waits on the clock for the pause's end.
		if !clk.BlockUntil(1, 10*time.Second) {
			t.Fatal("the notifier does not wait on the clock")
		}
		// Short of the pause the notifier's wait has not fired (Advance
		// removes a wait it fires at once).
		clk.Advance(pause - time.Millisecond)
		if clk.Waiters() != 1 || attempts() != i+1 {
			t.Fatalf("attempt %d came before the %v pause ended", i+2, pause)
		}
		clk.Advance(time.Millisecond)
		waitFor(t, fmt.Sprintf("attempt %d", i+2), func() bool { return attempts() == i+2 })
	}
}

// TestAnswers checks which answers count as delivered.
func TestAnswers(t *testing.T) {
	target := notifytest.NewEndpoint(t, notifytest.OK)
	tests := []struct {
		name   string
		ack    notify.Ack
		answer func(w http.ResponseWriter, r *http.Request)
		err    string
	}{
		{"ok", notify.AckOK, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(" *ok*\n")) }, ""},
		{"not ok", notify.AckOK, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("thanks")) }, "not *ok*"},
		{"ok past 1 KiB", notify.AckOK, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(strings.Repeat(" ", 2000) + "*ok*")) }, "not *ok*"},
		{"ok with 500", notify.AckOK, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500); w.Write([]byte("*ok*")) }, "HTTP 500"},
		{"2xx", notify.Ack2xx, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }, ""},
		{"4xx", notify.Ack2xx, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) }, "HTTP 404"},
		{"redirect", notify.Ack2xx, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, target.URL, http.StatusFound) }, "redirect (HTTP 302) not followed"},
		{"hangs", notify.Ack2xx, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, "timeout"},
	}
	q := notifytest.NewMemQueue()
	for _, tt := range tests {
		q.Add(tt.name, notifytest.NewEndpoint(t, tt.answer).URL+"/cb", tt.ack)
	}
	cfg := notify.DefaultConfig()
	cfg.Timeout = 300 * time.Millisecond
	startNotifier(t, cfg, q)
	for _, tt := range tests {
		waitFor(t, tt.name, func() bool { return len(q.Results(tt.name)) > 0 })
		r := q.Results(tt.name)[0]
		if tt.err == "" && r.Err != "" || tt.err != "" && !strings.Contains(r.Err, tt.err) {
			t.Errorf("%s: error %q, want %q", tt.name, r.Err, tt.err)
		}
	}
	if n := target.Requests.Load(); n != 0 {
		t.Errorf("the redirect was followed %d times", n)
	}
}
