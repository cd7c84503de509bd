package store_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/store"
)

func TestExpiry(t *testing.T) {
	db := MustOpen(t)
	mustStart(t, db, "ltc") // addresses 0 and 1, idle since 1600000000
	t0 := time.Unix(1600000000, 0)
	late := &store.Address{Coin: "ltc", Index: 2, Created: t0.Add(time.Hour)}
	copy(late.Program[:], "late-address-program")
	if err := db.PutAddress(late); err != nil {
		t.Fatal(err)
	}

	idle, err := db.IdleAddresses("ltc", t0.Add(time.Minute), 10)
	if err != nil || len(idle) != 2 || idle[0].Index != 0 || idle[1].Index != 1 {
		t.Fatalf("idle before t0+1m: %v, %v", idle, err)
	}
	if idle, _ := db.IdleAddresses("ltc", t0.Add(2*time.Hour), 1); len(idle) != 1 {
		t.Fatalf("limit not honoured: %d", len(idle))
	}

	// Block 101 pays address 0 (its idle time restarts) and expires
	// addresses 1 and 0; 0 stays, being paid.
	b := chainBlock("ltc", 101, 0, 5000)
	b.Now = t0.Add(48 * time.Hour)
	b.Expire = []uint32{1, 0}
	if err := db.Apply(b); err != nil {
		t.Fatal(err)
	}
	a0, _ := db.Address("ltc", 0)
	a1, _ := db.Address("ltc", 1)
	if !a0.LastActivity.Equal(b.Now) {
		t.Errorf("address 0 idle since %v, want %v", a0.LastActivity, b.Now)
	}
	if w, _ := db.Watched("ltc", a0.Program[:]); !w {
		t.Error("a paid address expired")
	}
	if w, _ := db.Watched("ltc", a1.Program[:]); w {
		t.Error("address 1 still watched")
	}
	idle, _ = db.IdleAddresses("ltc", b.Now.Add(time.Second), 10)
	if len(idle) != 2 || idle[0].Index != 2 || idle[1].Index != 0 {
		t.Fatalf("expiry queue after block 101: %v", idle)
	}
	ws, _ := db.LoadWatchSet("ltc")
	if ws.Len() != 2 || ws.MayContain(a1.Program[:]) {
		t.Errorf("watch set after expiry: %d entries", ws.Len())
	}

	// Rolling block 101 back watches address 1 again and restores 0's idle
	// time.
	undo, err := db.Rollback("ltc")
	if err != nil {
		t.Fatal(err)
	}
	if len(undo.Rewatched) != 1 || string(undo.Rewatched[0]) != string(a1.Program[:]) {
		t.Errorf("Rewatched = %x", undo.Rewatched)
	}
	if w, _ := db.Watched("ltc", a1.Program[:]); !w {
		t.Error("rollback did not rewatch address 1")
	}
	if a0, _ := db.Address("ltc", 0); !a0.LastActivity.Equal(t0) {
		t.Errorf("address 0 idle since %v after rollback, want %v", a0.LastActivity, t0)
	}
	if idle, _ := db.IdleAddresses("ltc", t0.Add(time.Minute), 10); len(idle) != 2 {
		t.Errorf("expiry queue after rollback: %d entries", len(idle))
	}
}

// TestCallbacks follows callbacks through the queue: started due at a
// height, read only once due, moved to the next block by a failed attempt,
// retired by an *ok*, given up, and restarted after vanishing with their
// deposit.
func TestCallbacks(t *testing.T) {
	db := MustOpen(t)
	op := ferry.OutPoint{Hash: hashOf(7), Index: 1}
	other := ferry.OutPoint{Hash: hashOf(8), Index: 0}
	if _, err := db.Callback("ltc", store.OutPointRef(op)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Callback before start: %v", err)
	}
	if err := db.StartCallback("ltc", store.OutPointRef(op), "shop.example:443", 10); err != nil {
		t.Fatal(err)
	}
	if err := db.StartCallback("ltc", store.OutPointRef(other), "other.example:80", 12); err != nil {
		t.Fatal(err)
	}
	if err := db.StartCallback("ltc", store.OutPointRef(op), "shop.example:443", 11); err != nil { // idempotent
		t.Fatal(err)
	}
	due := func(tip int64) []ferry.OutPoint {
		t.Helper()
		var ops []ferry.OutPoint
		var after []byte
		for range 10 { // one at a time, resuming where the last read ended
			cs, next, err := db.DueCallbacks("ltc", tip, after, 1, func(string) (int, []byte) { return 1, nil })
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cs {
				op, err := store.RefOutPoint(c.Ref)
				if err != nil {
					t.Fatal(err)
				}
				ops = append(ops, op)
			}
			if next == nil {
				return ops
			}
			after = next
		}
		t.Fatal("DueCallbacks does not end")
		return nil
	}
	if got := due(9); len(got) != 0 {
		t.Fatalf("due at 9: %v", got)
	}
	if got := due(11); len(got) != 1 || got[0] != op {
		t.Fatalf("due at 11: %v", got)
	}
	// Host by host: other.example sorts before shop.example.
	if got := due(12); len(got) != 2 || got[0] != other || got[1] != op {
		t.Fatalf("due at 12: %v", got)
	}
	if n, _ := db.QueuedCallbacks("ltc"); n != 2 {
		t.Fatalf("%d queued", n)
	}

	// A failed attempt at height 12 makes it due at 13.
	t0 := time.Unix(1700000000, 0).UTC()
	fail := store.Attempt{Time: t0, Confirmations: 3, Status: 500, Error: "HTTP 500", Duration: time.Millisecond}
	c, err := db.RecordAttempt("ltc", store.OutPointRef(op), fail, ferry.DeliveryPending, 13)
	if err != nil || c.Attempts != 1 || c.State != ferry.DeliveryPending || c.Due != 13 {
		t.Fatalf("after a failure: %+v, %v", c, err)
	}
	if got := due(12); len(got) != 1 || got[0] != other {
		t.Fatalf("due at 12 after the attempt: %v", got)
	}
	ok := store.Attempt{Time: t0.Add(time.Minute), Confirmations: 4, Status: 200}
	if c, err = db.RecordAttempt("ltc", store.OutPointRef(op), ok, ferry.DeliveryAcked, 0); err != nil || c.State != ferry.DeliveryAcked {
		t.Fatalf("after *ok*: %+v, %v", c, err)
	}
	// Starting an acked callback again changes nothing.
	if err := db.StartCallback("ltc", store.OutPointRef(op), "shop.example:443", 20); err != nil {
		t.Fatal(err)
	}
	if c, _ := db.Callback("ltc", store.OutPointRef(op)); c.State != ferry.DeliveryAcked || c.Attempts != 2 || c.Last.Confirmations != 4 {
		t.Errorf("acked callback: %+v", c)
	}
	if got := due(100); len(got) != 1 || got[0] != other {
		t.Errorf("due after the ack: %v", got)
	}
	as, err := db.Attempts("ltc", store.OutPointRef(op))
	if err != nil || len(as) != 2 || as[0] != fail || as[1] != ok {
		t.Errorf("attempts %+v, %v", as, err)
	}

	// A late attempt, and a give-up, leave an acked callback acked.
	if c, err := db.RecordAttempt("ltc", store.OutPointRef(op), fail, ferry.DeliveryPending, 30); err != nil || c.State != ferry.DeliveryAcked || c.Attempts != 3 {
		t.Errorf("late attempt on an acked callback: %+v, %v", c, err)
	}
	if err := db.EndCallback("ltc", store.OutPointRef(op), ferry.DeliveryGaveUp); err != nil {
		t.Fatal(err)
	}
	if c, _ := db.Callback("ltc", store.OutPointRef(op)); c.State != ferry.DeliveryAcked {
		t.Errorf("giving up an acked callback made it %v", c.State)
	}
	if got := due(100); len(got) != 1 {
		t.Errorf("%d due after a late attempt", len(got))
	}

	// The other deposit vanishes with a reorg, then comes back.
	if err := db.EndCallback("ltc", store.OutPointRef(other), ferry.DeliveryVanished); err != nil {
		t.Fatal(err)
	}
	if c, _ := db.Callback("ltc", store.OutPointRef(other)); c.State != ferry.DeliveryVanished {
		t.Errorf("state %v after vanishing", c.State)
	}
	if got := due(100); len(got) != 0 {
		t.Errorf("%d due after vanishing", len(got))
	}
	if err := db.StartCallback("ltc", store.OutPointRef(other), "other.example:80", 40); err != nil {
		t.Fatal(err)
	}
	if got := due(40); len(got) != 1 || got[0] != other {
		t.Errorf("due after the deposit came back: %v", got)
	}
	if err := db.EndCallback("ltc", store.OutPointRef(other), ferry.DeliveryGaveUp); err != nil {
		t.Fatal(err)
	}
	if c, _ := db.Callback("ltc", store.OutPointRef(other)); c.State != ferry.DeliveryGaveUp {
		t.Errorf("state %v after giving up", c.State)
	}
	if n, _ := db.QueuedCallbacks("ltc"); n != 0 {
		t.Errorf("%d queued after giving up", n)
	}
}

// TestCallbackQueueByHost: the queue is read host by host, taking from
// each host only what the reader wants of it, so that a host with a long
// backlog the reader wants none of costs one seek.
func TestCallbackQueueByHost(t *testing.T) {
	db := MustOpen(t)
	hosts := []string{"a.example:80", "dead.example:80", "z.example:80"}
	count := map[string]int{"a.example:80": 3, "dead.example:80": 1000, "z.example:80": 2}
	n := 0
	for _, h := range hosts {
		for i := range count[h] {
			n++
			if err := db.StartCallback("ltc", store.OutPointRef(ferry.OutPoint{Hash: hashOf(int64(n)), Index: uint32(i)}), h, int64(100+i%3)); err != nil {
				t.Fatal(err)
			}
		}
	}
	asked := map[string]int{}
	want := func(h string) (int, []byte) {
		asked[h]++
		if h == "dead.example:80" {
			return 0, nil
		}
		return 2, nil
	}
	got, next, err := db.DueCallbacks("ltc", 101, nil, 100, want)
	if err != nil {
		t.Fatal(err)
	}
	if next != nil {
		t.Errorf("next = %q after reading every host", next)
	}
	per := map[string]int{}
	for _, c := range got {
		per[c.Host]++
		if c.Due > 101 {
			t.Errorf("%x due at %d, read at 101", c.Ref, c.Due)
		}
	}
	// a: due at 100, 101 (the third at 102 is not due); z: 100, 101.
	if per["a.example:80"] != 2 || per["z.example:80"] != 2 || per["dead.example:80"] != 0 {
		t.Errorf("read %v", per)
	}
	if asked["dead.example:80"] != 1 {
		t.Errorf("the dead host was asked about %d times", asked["dead.example:80"])
	}

	// A limit stops mid-way; reading resumes after the host it stopped in.
	first, next, err := db.DueCallbacks("ltc", 101, nil, 1, want)
	if err != nil || len(first) != 1 || first[0].Host != "a.example:80" || string(next) != "a.example:80" {
		t.Fatalf("limit 1: %v, next %q, %v", first, next, err)
	}
	rest, next, err := db.DueCallbacks("ltc", 101, next, 10, want)
	if err != nil || len(rest) != 2 || rest[0].Host != "z.example:80" || next != nil {
		t.Fatalf("after a.example: %v, next %q, %v", rest, next, err)
	}

	// Resuming a host after the last callback taken, and back to its first
	// once nothing due is left after it.
	resume := func(h string) (int, []byte) {
		if h == "a.example:80" {
			return 5, first[0].Pos
		}
		return 0, nil
	}
	again, _, err := db.DueCallbacks("ltc", 101, nil, 10, resume)
	if err != nil || len(again) != 1 || bytes.Equal(again[0].Ref, first[0].Ref) || again[0].Host != "a.example:80" {
		t.Fatalf("resumed after the first: %v, %v", again, err)
	}
	wrapped, _, err := db.DueCallbacks("ltc", 101, nil, 10, func(h string) (int, []byte) {
		if h == "a.example:80" {
			return 5, again[0].Pos
		}
		return 0, nil
	})
	if err != nil || len(wrapped) != 2 || !bytes.Equal(wrapped[0].Ref, first[0].Ref) {
		t.Fatalf("resumed at the end of what is due: %v, %v", wrapped, err)
	}
}

// TestQueueRefs: a queue's references may be any bytes, of any length:
// one that extends another keeps its attempts apart; Reschedule moves a
// pending callback's due time.
func TestQueueRefs(t *testing.T) {
	db := MustOpen(t)
	short, long := []byte("inv-1"), []byte("inv-10")
	for _, r := range [][]byte{short, long} {
		if err := db.StartCallback("hooks", r, "shop.example:443", 1000); err != nil {
			t.Fatal(err)
		}
	}
	fail := store.Attempt{Time: time.Unix(1, 0).UTC(), Status: 500, Error: "HTTP 500"}
	if _, err := db.RecordAttempt("hooks", long, fail, ferry.DeliveryPending, 2000); err != nil {
		t.Fatal(err)
	}
	if as, _ := db.Attempts("hooks", short); len(as) != 0 {
		t.Errorf("inv-1 has %d attempts of inv-10", len(as))
	}
	if as, _ := db.Attempts("hooks", long); len(as) != 1 {
		t.Errorf("inv-10 has %d attempts", len(as))
	}
	all := func(string) (int, []byte) { return 10, nil }
	if due, _, _ := db.DueCallbacks("hooks", 1500, nil, 10, all); len(due) != 1 || string(due[0].Ref) != "inv-1" {
		t.Fatalf("due at 1500: %v", due)
	}
	if err := db.Reschedule("hooks", short, 1<<62); err != nil {
		t.Fatal(err)
	}
	if due, _, _ := db.DueCallbacks("hooks", 1500, nil, 10, all); len(due) != 0 {
		t.Errorf("a rescheduled callback is still due: %v", due)
	}
	if due, _, _ := db.DueCallbacks("hooks", 2000, nil, 10, all); len(due) != 1 || string(due[0].Ref) != "inv-10" {
		t.Errorf("due at 2000: %v", due)
	}
	if c, _ := db.Callback("hooks", short); c.Due != 1<<62 || c.State != ferry.DeliveryPending {
		t.Errorf("rescheduled: %+v", c)
	}
}
