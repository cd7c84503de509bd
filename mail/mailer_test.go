package mail_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/mail"
	"github.com/ferry-relay/ferry/mail/mailtest"
	"github.com/ferry-relay/ferry/store"
	"github.com/ferry-relay/ferry/store/storetest"
)

// eventTimeout bounds the wait for one log event (real time: it only
// keeps a broken test from hanging).
const eventTimeout = 30 * time.Second

// logEvents receives a Mailer's log, one decoded JSON line at a time, and
// keeps every raw line.
type logEvents struct {
	ch  chan map[string]any
	raw chan string
}

func newLogEvents() *logEvents {
	return &logEvents{ch: make(chan map[string]any, 1024), raw: make(chan string, 1024)}
}

// Write takes one zerolog line.
func (l *logEvents) Write(p []byte) (int, error) {
	var ev map[string]any
	if err := json.Unmarshal(p, &ev); err != nil {
		return 0, err
	}
	l.raw <- string(p)
	l.ch <- ev
	return len(p), nil
}

// next returns the next event about an attempt: each is logged after the
// attempt was recorded.
func (l *logEvents) next(t *testing.T) map[string]any {
	t.Helper()
	deadline := time.After(eventTimeout)
	for range 100 {
		select {
		case ev := <-l.ch:
			if ev["component"] != "mail" {
				t.Errorf("log without component mail: %v", ev)
			}
			if _, ok := ev["attempts"]; ok {
				return ev
			}
			t.Logf("log: %v", ev)
		case <-deadline:
			t.Fatalf("no attempt logged within %v", eventTimeout)
		}
	}
	t.Fatal("no attempt among 100 log events")
	return nil
}

// checkClean fails if a log line shows one of secrets.
func (l *logEvents) checkClean(t *testing.T, secrets ...string) {
	t.Helper()
	for n := len(l.raw); n > 0; n-- {
		line := <-l.raw
		for _, s := range secrets {
			if strings.Contains(line, s) {
				t.Errorf("the log shows %q: %s", s, line)
			}
		}
	}
}

// runner is a running Mailer.
type runner struct {
	*mail.Mailer
	stop func()
}

// runMailer runs a Mailer over db and clk, sending with s, until stop or
// the end of the test.
func runMailer(t *testing.T, s mail.Transport, db mail.OutboxStore, clk clock.Clock, log *logEvents) *runner {
	t.Helper()
	m, err := mail.NewMailer(mail.MailerConfig{Sender: s, Store: db, Clock: clk, Log: zerolog.New(log)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	r := &runner{Mailer: m}
	r.stop = func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(eventTimeout):
			t.Error("Run did not return")
		}
		r.stop = func() {}
	}
	t.Cleanup(func() { r.stop() })
	return r
}

// mailOf reads id's record.
func mailOf(t *testing.T, db *store.DB, id string) *store.Mail {
	t.Helper()
	m, err := db.Mail(id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func wantEvent(t *testing.T, ev map[string]any, msg string, attempts int) {
	t.Helper()
	if ev["message"] != msg || ev["attempts"] != float64(attempts) {
		t.Fatalf("event %v, want %q after %d attempts", ev, msg, attempts)
	}
}

var invoice42 = mail.Message{ID: "inv-42.paid", To: []string{"Vendor <vendor@example.com>"}, Subject: "Invoice 42 — payé", Body: "Invoice 42 has been paid. body-marker-7f3a\n"}

// TestMailerRetriesUntilServerUp: a message queued while the server is
// down is tried again after 1, 2, 4 minutes of the clock, and delivered
// once when the server is up.
func TestMailerRetriesUntilServerUp(t *testing.T) {
	mailtest.Require(t)
	port := mailtest.FreePort(t)
	db, clk, log := storetest.Open(t), clock.NewTest(t0), newLogEvents()
	s := newSender(t, mail.Config{URL: "smtp://127.0.0.1:" + strconv.Itoa(port)})
	r := runMailer(t, s, db, clk, log)
	if err := r.Enqueue(invoice42); err != nil {
		t.Fatal(err)
	}

	var srv *mailtest.Server
	for i, wait := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute} {
		wantEvent(t, log.next(t), "mail not sent, will retry", i+1)
		m := mailOf(t, db, invoice42.ID)
		if m.State != store.MailPending || m.Last.Error == "" || m.Last.Permanent || !m.Due.Equal(clk.Now().Add(wait)) {
			t.Fatalf("after attempt %d: %+v", i+1, m)
		}
		if i == 2 {
			srv = mailtest.Start(t, mailtest.Options{Port: port})
		}
		clk.Advance(wait)
	}
	wantEvent(t, log.next(t), "mail sent", 4)
	r.stop()

	if m := mailOf(t, db, invoice42.ID); m.State != store.MailSent || m.Attempts != 4 || m.Last.Error != "" {
		t.Errorf("after sending: %+v", m)
	}
	got := mailtest.Received(t, srv.Dir)
	if len(got) != 1 {
		t.Fatalf("%d messages received", len(got))
	}
	checkReceived(t, got[0], invoice42)
	log.checkClean(t, "body-marker")
}

// TestMailerEnqueueTwice: one ID is sent once, however often it is
// queued.
func TestMailerEnqueueTwice(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	db, clk, log := storetest.Open(t), clock.NewTest(t0), newLogEvents()
	r := runMailer(t, newSender(t, mail.Config{URL: "smtp://" + srv.Addr()}), db, clk, log)
	for range 2 {
		if err := r.Enqueue(invoice42); err != nil {
			t.Fatal(err)
		}
	}
	wantEvent(t, log.next(t), "mail sent", 1)
	if err := r.Enqueue(invoice42); err != nil {
		t.Fatal(err)
	}
	r.stop()

	// Nothing is left to send, so nothing more can be.
	if due, err := db.DueMail(clk.Now().Add(365*24*time.Hour), 10); err != nil || len(due) != 0 {
		t.Errorf("due after sending: %v, %v", due, err)
	}
	if got := mailtest.Received(t, srv.Dir); len(got) != 1 {
		t.Errorf("%d messages received", len(got))
	}
	if err := r.Enqueue(mail.Message{ID: "bad id", To: invoice42.To}); !errors.Is(err, mail.ErrInvalidMessage) {
		t.Errorf("Enqueue of an invalid message: %v", err)
	}
}

// TestMailerResumesAfterRestart: mail pending when a Mailer stops is sent
// by the next one on the same store.
func TestMailerResumesAfterRestart(t *testing.T) {
	mailtest.Require(t)
	const pass = "hunter2-secret"
	port := mailtest.FreePort(t)
	db, clk, log := storetest.Open(t), clock.NewTest(t0), newLogEvents()
	s := newSender(t, mail.Config{URL: "smtp://ferry:" + pass + "@127.0.0.1:" + strconv.Itoa(port)})
	first := runMailer(t, s, db, clk, log)
	if err := first.Enqueue(invoice42); err != nil {
		t.Fatal(err)
	}
	wantEvent(t, log.next(t), "mail not sent, will retry", 1)
	first.stop()

	srv := mailtest.Start(t, mailtest.Options{Port: port, User: "ferry", Pass: pass})
	runMailer(t, s, db, clk, log)
	clk.Advance(time.Minute)
	wantEvent(t, log.next(t), "mail sent", 2)
	if got := mailtest.Received(t, srv.Dir); len(got) != 1 || !got[0].Authenticated {
		t.Errorf("received %+v", got)
	}
	log.checkClean(t, pass, "body-marker")
}

// TestMailerGivesUp: a server down for good is tried, the wait doubling
// to an hour, until 3 days after the message was queued.
func TestMailerGivesUp(t *testing.T) {
	db, clk, log := storetest.Open(t), clock.NewTest(t0), newLogEvents()
	s := newSender(t, mail.Config{URL: "smtp://127.0.0.1:" + strconv.Itoa(mailtest.FreePort(t))})
	r := runMailer(t, s, db, clk, log)
	if err := r.Enqueue(invoice42); err != nil {
		t.Fatal(err)
	}
	end := t0.Add(72 * time.Hour)
	want, attempts := time.Minute, 0
	for range 200 {
		ev := log.next(t)
		attempts++
		m := mailOf(t, db, invoice42.ID)
		if ev["message"] == "mail not sent, given up" {
			break
		}
		if got := m.Due.Sub(m.Last.Time); got != min(want, end.Sub(m.Last.Time)) {
			t.Errorf("wait after attempt %d: %v, want %v", attempts, got, min(want, end.Sub(m.Last.Time)))
		}
		want = min(2*want, time.Hour)
		clk.SetTime(m.Due)
	}
	m := mailOf(t, db, invoice42.ID)
	if m.State != store.MailGaveUp || !m.Last.Time.Equal(end) || m.Attempts != attempts {
		t.Fatalf("at the end, after %d attempts: %+v", attempts, m)
	}
	// At 0, 1, 3, 7, 15, 31 and 63 minutes, then hourly to 71 h 3 min,
	// and at 72 h.
	if attempts != 78 {
		t.Errorf("%d attempts, want 78", attempts)
	}
}

// TestMailerRejected: a permanent rejection is tried 3 times more, then
// given up.
func TestMailerRejected(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{Reject: []string{"vendor@example.com"}})
	db, clk, log := storetest.Open(t), clock.NewTest(t0), newLogEvents()
	r := runMailer(t, newSender(t, mail.Config{URL: "smtp://" + srv.Addr()}), db, clk, log)
	if err := r.Enqueue(invoice42); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		wantEvent(t, log.next(t), "mail not sent, will retry", i+1)
		clk.SetTime(mailOf(t, db, invoice42.ID).Due)
	}
	ev := log.next(t)
	wantEvent(t, ev, "mail not sent, given up", 4)
	if ev["permanent"] != true {
		t.Errorf("event %v", ev)
	}
	if m := mailOf(t, db, invoice42.ID); m.State != store.MailGaveUp || m.Rejections != 4 || !m.Last.Permanent {
		t.Errorf("at the end: %+v", m)
	}
	if got := mailtest.Received(t, srv.Dir); len(got) != 0 {
		t.Errorf("%d messages received", len(got))
	}
}

func TestNewMailer(t *testing.T) {
	db := storetest.Open(t)
	s := newSender(t, mail.Config{URL: "smtp://127.0.0.1"})
	for _, cfg := range []mail.MailerConfig{
		{Store: db},
		{Sender: s},
		{Sender: s, Store: db, FirstRetry: -time.Second},
	} {
		if _, err := mail.NewMailer(cfg); err == nil {
			t.Errorf("NewMailer(%+v) succeeded", cfg)
		}
	}
}
