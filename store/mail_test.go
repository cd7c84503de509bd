package store_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/ferry-relay/ferry/store"
	"github.com/ferry-relay/ferry/store/storetest"
)

var mailT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// newMail returns a message queued at q.
func newMail(id string, q time.Time) *store.Mail {
	return &store.Mail{ID: id, To: []string{"vendor@example.com", "Ops <ops@example.org>"}, Subject: "Invoice " + id + " — payé", Body: "paid\n", Queued: q}
}

// dueIDs returns the IDs DueMail gives at now.
func dueIDs(t *testing.T, db *store.DB, now time.Time, limit int) []string {
	t.Helper()
	ms, err := db.DueMail(now, limit)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, m := range ms {
		if m.State != store.MailPending {
			t.Errorf("DueMail gave %s in state %v", m.ID, m.State)
		}
		ids = append(ids, m.ID)
	}
	return ids
}

func TestMailRoundTrip(t *testing.T) {
	db := storetest.Open(t)
	in := newMail("inv-1", mailT0)
	if err := db.PutMail(in); err != nil {
		t.Fatal(err)
	}
	got, err := db.Mail("inv-1")
	if err != nil {
		t.Fatal(err)
	}
	want := *in
	want.State, want.Due = store.MailPending, mailT0
	if !reflect.DeepEqual(got, &want) {
		t.Errorf("got %+v\nwant %+v", got, &want)
	}
	if _, err := db.Mail("nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown mail: %v", err)
	}
	if err := db.PutMail(&store.Mail{}); err == nil {
		t.Error("a mail without ID was recorded")
	}
}

// TestMailIdempotent: a second PutMail of one ID changes nothing, not even
// after the first was sent.
func TestMailIdempotent(t *testing.T) {
	db := storetest.Open(t)
	if err := db.PutMail(newMail("a", mailT0)); err != nil {
		t.Fatal(err)
	}
	again := newMail("a", mailT0.Add(time.Hour))
	again.Subject = "other"
	if err := db.PutMail(again); err != nil {
		t.Fatal(err)
	}
	if got := dueIDs(t, db, mailT0.Add(2*time.Hour), 10); !reflect.DeepEqual(got, []string{"a"}) {
		t.Fatalf("due %v", got)
	}
	if _, err := db.RecordMail("a", store.MailAttempt{Time: mailT0}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutMail(newMail("a", mailT0)); err != nil {
		t.Fatal(err)
	}
	m, err := db.Mail("a")
	if err != nil {
		t.Fatal(err)
	}
	if m.State != store.MailSent || m.Subject == "other" {
		t.Errorf("after a second PutMail: %+v", m)
	}
	if got := dueIDs(t, db, mailT0.Add(2*time.Hour), 10); len(got) != 0 {
		t.Errorf("sent mail is due again: %v", got)
	}
}

func TestDueMail(t *testing.T) {
	db := storetest.Open(t)
	// Queued in an order unlike their due order.
	for i, mins := range []int{30, 10, 20, 0} {
		m := newMail(fmt.Sprintf("m%d", i), mailT0)
		m.Due = mailT0.Add(time.Duration(mins) * time.Minute)
		if err := db.PutMail(m); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		now   time.Duration
		limit int
		want  []string
	}{
		{"before all", -time.Second, 10, []string{}},
		{"at the first", 0, 10, []string{"m3"}},
		{"at the third, inclusive", 20 * time.Minute, 10, []string{"m3", "m1", "m2"}},
		{"limited", time.Hour, 2, []string{"m3", "m1"}},
		{"all", time.Hour, 10, []string{"m3", "m1", "m2", "m0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dueIDs(t, db, mailT0.Add(tt.now), tt.limit); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	next, ok, err := db.NextMailDue()
	if err != nil || !ok || !next.Equal(mailT0) {
		t.Errorf("NextMailDue = %v, %v, %v", next, ok, err)
	}
}

// TestRecordMail walks one message through a retry, a give-up and a late
// attempt, and another to sent.
func TestRecordMail(t *testing.T) {
	db := storetest.Open(t)
	for _, id := range []string{"retry", "ok"} {
		if err := db.PutMail(newMail(id, mailT0)); err != nil {
			t.Fatal(err)
		}
	}

	// A failure: due again at next, out of the due part until then.
	fail := store.MailAttempt{Time: mailT0, Error: "550 no such user", Permanent: true}
	m, err := db.RecordMail("retry", fail, mailT0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if m.State != store.MailPending || m.Attempts != 1 || m.Rejections != 1 || !m.Due.Equal(mailT0.Add(time.Minute)) || m.Last != fail {
		t.Errorf("after a failure: %+v", m)
	}
	if got := dueIDs(t, db, mailT0.Add(time.Second), 10); !reflect.DeepEqual(got, []string{"ok"}) {
		t.Errorf("due %v", got)
	}

	// Sent: it leaves the queue.
	sent := store.MailAttempt{Time: mailT0.Add(time.Second)}
	if m, err = db.RecordMail("ok", sent, time.Time{}); err != nil || m.State != store.MailSent || m.Attempts != 1 {
		t.Fatalf("after sending: %+v, %v", m, err)
	}

	// Given up: the queue is empty.
	tmp := store.MailAttempt{Time: mailT0.Add(time.Minute), Error: "dial: connection refused"}
	if m, err = db.RecordMail("retry", tmp, time.Time{}); err != nil || m.State != store.MailGaveUp || m.Attempts != 2 || m.Rejections != 1 {
		t.Fatalf("after giving up: %+v, %v", m, err)
	}
	if _, ok, err := db.NextMailDue(); ok || err != nil {
		t.Errorf("NextMailDue with nothing pending: %v, %v", ok, err)
	}
	if got := dueIDs(t, db, mailT0.Add(24*time.Hour), 10); len(got) != 0 {
		t.Errorf("due %v", got)
	}

	// A late attempt is counted but moves nothing.
	if m, err = db.RecordMail("retry", sent, mailT0.Add(time.Hour)); err != nil || m.State != store.MailGaveUp || m.Attempts != 3 {
		t.Errorf("after a late attempt: %+v, %v", m, err)
	}
	if _, err := db.RecordMail("nope", sent, time.Time{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("record unknown: %v", err)
	}
}

func TestMailsLatestFirst(t *testing.T) {
	db := storetest.Open(t)
	for i := range 5 {
		if err := db.PutMail(newMail(fmt.Sprintf("m%d", i), mailT0.Add(time.Duration(i)*time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	ms, err := db.Mails(3)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	if want := []string{"m4", "m3", "m2"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("Mails(3) = %v, want %v", ids, want)
	}
}

// TestMailSurvivesReopen: the outbox is on disk.
func TestMailSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.PutMail(newMail("x", mailT0)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db, err = store.Open(dir); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := dueIDs(t, db, mailT0, 10); !reflect.DeepEqual(got, []string{"x"}) {
		t.Errorf("after reopening, due %v", got)
	}
}

func TestMailStateString(t *testing.T) {
	for s, want := range map[store.MailState]string{store.MailPending: "pending", store.MailSent: "sent", store.MailGaveUp: "gave_up", 0: "none"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q", s, s.String())
		}
	}
}
