package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/syndtr/goleveldb/leveldb"
)

// CallbackState is where a deposit's callback stands.
type CallbackState uint8

// The states of a callback.
const (
	// CallbackPending: sent again at every new block until acknowledged.
	CallbackPending CallbackState = iota + 1
	// CallbackAcked: the merchant answered *ok*; never sent again.
	CallbackAcked
	// CallbackGaveUp: the deposit passed the confirmation limit without
	// an *ok*.
	CallbackGaveUp
)

// String returns "pending", "acked" or "gave_up".
func (s CallbackState) String() string {
	switch s {
	case CallbackPending:
		return "pending"
	case CallbackAcked:
		return "acked"
	case CallbackGaveUp:
		return "gave_up"
	}
	return "none"
}

// Attempt is one callback request and its outcome.
type Attempt struct {
	Time time.Time
	// Confirmations is the count the callback reported.
	Confirmations int64
	// Status is the HTTP status, or 0 if there was no response.
	Status int
	// Error says why the attempt failed ("" for an *ok*).
	Error    string
	Duration time.Duration
}

// Callback is the state of one deposit's merchant callback.
type Callback struct {
	Coin     string
	OutPoint OutPoint
	State    CallbackState
	// Attempts counts the requests made; Last is the latest.
	Attempts int64
	Last     Attempt
}

func (c *Callback) encode() []byte {
	e := newEnc(64 + len(c.Last.Error))
	e.u8(uint8(c.State))
	e.i64(c.Attempts)
	encodeAttempt(e, &c.Last)
	return e.b
}

func encodeAttempt(e *enc, a *Attempt) {
	e.time(a.Time)
	e.i64(a.Confirmations)
	e.i64(int64(a.Status))
	e.str(a.Error)
	e.i64(int64(a.Duration))
}

func decodeAttempt(d *dec) Attempt {
	return Attempt{Time: d.time(), Confirmations: d.i64(), Status: int(d.i64()), Error: d.str(), Duration: time.Duration(d.i64())}
}

func decodeCallback(coin string, op OutPoint, b []byte) (*Callback, error) {
	d := newDec(b)
	c := &Callback{Coin: coin, OutPoint: op, State: CallbackState(d.u8()), Attempts: d.i64()}
	c.Last = decodeAttempt(d)
	if err := d.done(); err != nil {
		return nil, fmt.Errorf("callback %s: %w", coin, err)
	}
	return c, nil
}

// StartCallback makes coin's deposit at op's callback pending, if it has
// no callback state yet: a callback is started once, when its forward is
// first accepted by the node.
func (db *DB) StartCallback(coin string, op OutPoint) error {
	db.cbMu.Lock()
	defer db.cbMu.Unlock()
	ck := key(tCallback, coin, opKey(op))
	if _, err := db.get(ck); !errors.Is(err, ErrNotFound) {
		return err
	}
	b := new(leveldb.Batch)
	b.Put(ck, (&Callback{State: CallbackPending}).encode())
	b.Put(key(tPending, coin, opKey(op)), nil)
	if err := db.ldb.Write(b, syncWrite); err != nil {
		return fmt.Errorf("start callback %s: %w", coin, err)
	}
	return nil
}

// Callback returns the callback state of coin's deposit at op, or
// ErrNotFound if it has none.
func (db *DB) Callback(coin string, op OutPoint) (*Callback, error) {
	v, err := db.get(key(tCallback, coin, opKey(op)))
	if err != nil {
		return nil, fmt.Errorf("callback %s: %w", coin, err)
	}
	return decodeCallback(coin, op, v)
}

// PendingCallbacks returns coin's pending callbacks, in outpoint order.
func (db *DB) PendingCallbacks(coin string) ([]*Callback, error) {
	ops, err := db.outPointsIn(tPending, coin)
	if err != nil {
		return nil, err
	}
	cs := make([]*Callback, 0, len(ops))
	for _, op := range ops {
		c, err := db.Callback(coin, op)
		if err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	return cs, nil
}

// RecordAttempt records one callback request, synced, and moves the
// callback to state (CallbackPending to keep trying). An acked or abandoned
// callback leaves the pending set, and stays as it is: a late attempt is
// recorded but moves it no more. It returns the updated state.
func (db *DB) RecordAttempt(coin string, op OutPoint, a Attempt, state CallbackState) (*Callback, error) {
	db.cbMu.Lock()
	defer db.cbMu.Unlock()
	c, err := db.Callback(coin, op)
	if err != nil {
		return nil, err
	}
	if c.State != CallbackPending {
		state = c.State
	}
	b := new(leveldb.Batch)
	e := newEnc(48 + len(a.Error))
	encodeAttempt(e, &a)
	b.Put(key(tAttempt, coin, opKey(op), u64(uint64(c.Attempts))), e.b)
	c.Attempts++
	c.Last = a
	c.State = state
	b.Put(key(tCallback, coin, opKey(op)), c.encode())
	if state != CallbackPending {
		b.Delete(key(tPending, coin, opKey(op)))
	}
	if err := db.ldb.Write(b, syncWrite); err != nil {
		return nil, fmt.Errorf("record callback %s: %w", coin, err)
	}
	return c, nil
}

// GiveUpCallback ends a pending callback without an *ok*: the deposit has
// passed the confirmation limit. A callback no longer pending is left as it
// is.
func (db *DB) GiveUpCallback(coin string, op OutPoint) error {
	db.cbMu.Lock()
	defer db.cbMu.Unlock()
	c, err := db.Callback(coin, op)
	if err != nil {
		return err
	}
	if c.State != CallbackPending {
		return nil // acked meanwhile: that stands
	}
	c.State = CallbackGaveUp
	b := new(leveldb.Batch)
	b.Put(key(tCallback, coin, opKey(op)), c.encode())
	b.Delete(key(tPending, coin, opKey(op)))
	if err := db.ldb.Write(b, syncWrite); err != nil {
		return fmt.Errorf("give up callback %s: %w", coin, err)
	}
	return nil
}

// Attempts returns every recorded request of coin's deposit at op's
// callback, oldest first.
func (db *DB) Attempts(coin string, op OutPoint) ([]Attempt, error) {
	it := db.ldb.NewIterator(prefix(tAttempt, coin, opKey(op)), nil)
	defer it.Release()
	var as []Attempt
	for it.Next() {
		d := newDec(it.Value())
		a := decodeAttempt(d)
		if err := d.done(); err != nil {
			return nil, fmt.Errorf("attempt %s/%d: %w", coin, binary.BigEndian.Uint64(it.Key()[len(it.Key())-8:]), err)
		}
		as = append(as, a)
	}
	return as, it.Error()
}
