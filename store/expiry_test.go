package store_test

import (
	"errors"
	"testing"
	"time"

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
	if err := db.ApplyBlock(b); err != nil {
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

func TestCallbacks(t *testing.T) {
	db := MustOpen(t)
	op := store.OutPoint{TxID: hashOf(7), Vout: 1}
	other := store.OutPoint{TxID: hashOf(8), Vout: 0}
	if _, err := db.Callback("ltc", op); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Callback before start: %v", err)
	}
	for _, o := range []store.OutPoint{op, other} {
		if err := db.StartCallback("ltc", o); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.StartCallback("ltc", op); err != nil { // idempotent
		t.Fatal(err)
	}
	if p, _ := db.PendingCallbacks("ltc"); len(p) != 2 {
		t.Fatalf("%d pending", len(p))
	}

	t0 := time.Unix(1700000000, 0).UTC()
	fail := store.Attempt{Time: t0, Confirmations: 1, Status: 500, Error: "HTTP 500", Duration: time.Millisecond}
	c, err := db.RecordAttempt("ltc", op, fail, store.CallbackPending)
	if err != nil || c.Attempts != 1 || c.State != store.CallbackPending {
		t.Fatalf("after a failure: %+v, %v", c, err)
	}
	ok := store.Attempt{Time: t0.Add(time.Minute), Confirmations: 2, Status: 200}
	if c, err = db.RecordAttempt("ltc", op, ok, store.CallbackAcked); err != nil || c.State != store.CallbackAcked {
		t.Fatalf("after *ok*: %+v, %v", c, err)
	}
	// Starting an acked callback again changes nothing.
	if err := db.StartCallback("ltc", op); err != nil {
		t.Fatal(err)
	}
	if c, _ := db.Callback("ltc", op); c.State != store.CallbackAcked || c.Attempts != 2 || c.Last.Confirmations != 2 {
		t.Errorf("acked callback: %+v", c)
	}
	if p, _ := db.PendingCallbacks("ltc"); len(p) != 1 || p[0].OutPoint != other {
		t.Errorf("pending after the ack: %v", p)
	}
	as, err := db.Attempts("ltc", op)
	if err != nil || len(as) != 2 || as[0] != fail || as[1] != ok {
		t.Errorf("attempts %+v, %v", as, err)
	}

	// A late attempt, and a give-up, leave an acked callback acked.
	if c, err := db.RecordAttempt("ltc", op, fail, store.CallbackPending); err != nil || c.State != store.CallbackAcked || c.Attempts != 3 {
		t.Errorf("late attempt on an acked callback: %+v, %v", c, err)
	}
	if err := db.GiveUpCallback("ltc", op); err != nil {
		t.Fatal(err)
	}
	if c, _ := db.Callback("ltc", op); c.State != store.CallbackAcked {
		t.Errorf("giving up an acked callback made it %v", c.State)
	}
	if p, _ := db.PendingCallbacks("ltc"); len(p) != 1 {
		t.Errorf("%d pending after a late attempt", len(p))
	}

	if err := db.GiveUpCallback("ltc", other); err != nil {
		t.Fatal(err)
	}
	if c, _ := db.Callback("ltc", other); c.State != store.CallbackGaveUp {
		t.Errorf("state %v after giving up", c.State)
	}
	if p, _ := db.PendingCallbacks("ltc"); len(p) != 0 {
		t.Errorf("%d pending after giving up", len(p))
	}
}
