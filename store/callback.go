package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/util"

	"github.com/ferry-relay/ferry/chain"
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
	// an *ok*, after at least one attempt.
	CallbackGaveUp
	// CallbackVanished: a reorg took the deposit away (its transaction was
	// double-spent, or is waiting to be mined again). The callback starts
	// again if the deposit comes back and its forward is accepted.
	CallbackVanished
)

// String returns "pending", "acked", "gave_up" or "vanished".
func (s CallbackState) String() string {
	switch s {
	case CallbackPending:
		return "pending"
	case CallbackAcked:
		return "acked"
	case CallbackGaveUp:
		return "gave_up"
	case CallbackVanished:
		return "vanished"
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
	OutPoint chain.OutPoint
	State    CallbackState
	// Attempts counts the requests made; Last is the latest.
	Attempts int64
	Last     Attempt
	// Due is the block height from which a pending callback is due: it
	// is sent once per block, so after an attempt at height h it is due
	// at h+1.
	Due int64
	// Host is the host and port the callback goes to: the queue groups
	// callbacks by it.
	Host string
}

func (c *Callback) encode() []byte {
	e := newEnc(64 + len(c.Last.Error))
	e.u8(uint8(c.State))
	e.i64(c.Attempts)
	encodeAttempt(e, &c.Last)
	e.i64(c.Due)
	e.str(c.Host)
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

func decodeCallback(coin string, op chain.OutPoint, b []byte) (*Callback, error) {
	d := newDec(b)
	c := &Callback{Coin: coin, OutPoint: op, State: CallbackState(d.u8()), Attempts: d.i64()}
	c.Last = decodeAttempt(d)
	if d.more() {
		c.Due = d.i64()
		c.Host = d.str()
	}
	if err := d.done(); err != nil {
		return nil, fmt.Errorf("callback %s: %w", coin, err)
	}
	return c, nil
}

// queueKey is a pending callback's place in coin's queue: grouped by host,
// then by due height.
func queueKey(coin, host string, due int64, op chain.OutPoint) []byte {
	return key(tQueue, coin, []byte(host), []byte{0}, u64(uint64(due)), opKey(op))
}

// hostKey is a host's entry in the index of the queue's hosts.
func hostKey(coin, host string) []byte { return key(tHosts, coin, []byte(host)) }

// hostEmpty reports whether the queue holds nothing for host.
func (db *DB) hostEmpty(coin, host string) (bool, error) {
	it := db.ldb.NewIterator(util.BytesPrefix(key(tQueue, coin, []byte(host), []byte{0})), nil)
	defer it.Release()
	return !it.First(), it.Error()
}

// StartCallback makes the callback of coin's deposit at op, to host (host
// and port), pending, due from block height due, if it has none yet, or if
// it vanished with its deposit and the deposit is back: a callback starts
// when its forward is first accepted by the node.
func (db *DB) StartCallback(coin string, op chain.OutPoint, host string, due int64) error {
	if strings.IndexByte(host, 0) >= 0 {
		return fmt.Errorf("start callback %s: host has a NUL byte", coin)
	}
	db.cbMu.Lock()
	defer db.cbMu.Unlock()
	c, err := db.Callback(coin, op)
	switch {
	case errors.Is(err, ErrNotFound):
		c = &Callback{Coin: coin, OutPoint: op}
	case err != nil:
		return err
	case c.State != CallbackVanished:
		return nil
	}
	c.State, c.Due, c.Host = CallbackPending, due, host
	b := new(leveldb.Batch)
	b.Put(key(tCallback, coin, opKey(op)), c.encode())
	b.Put(queueKey(coin, host, due, op), nil)
	// The host joins the index with its first pending callback; the index
	// changes only when hosts come and go.
	if _, err := db.get(hostKey(coin, host)); errors.Is(err, ErrNotFound) {
		b.Put(hostKey(coin, host), nil)
	} else if err != nil {
		return fmt.Errorf("start callback %s: %w", coin, err)
	}
	if err := db.ldb.Write(b, syncWrite); err != nil {
		return fmt.Errorf("start callback %s: %w", coin, err)
	}
	return nil
}

// Callback returns the callback state of coin's deposit at op, or
// ErrNotFound if it has none.
func (db *DB) Callback(coin string, op chain.OutPoint) (*Callback, error) {
	v, err := db.get(key(tCallback, coin, opKey(op)))
	if err != nil {
		return nil, fmt.Errorf("callback %s: %w", coin, err)
	}
	return decodeCallback(coin, op, v)
}

// QueuedCallback is a pending callback as the queue holds it.
type QueuedCallback struct {
	OutPoint chain.OutPoint
	Host     string
	Due      int64
	// Pos is its place in the queue, to resume its host's reading after.
	Pos []byte
}

// DueCallbacks returns up to limit of coin's pending callbacks due at block
// height tip, host by host in host order, starting with the host after
// afterHost (nil: the first). Within a host, callbacks come in the order
// they came due. want says how many of a host's callbacks the caller can
// take now, and the place to take them after (nil: the host's first); a
// host read to the end of what is due is read again from its first. A
// host the caller wants none of is passed over with one seek, whatever its
// backlog; and a reader that resumes each host where it left it never reads
// past the deliveries it has already made. It returns the host to resume
// after, or nil when the last host has been read. Only the due part of the
// queue is read.
func (db *DB) DueCallbacks(coin string, tip int64, afterHost []byte, limit int, want func(host string) (int, []byte)) ([]QueuedCallback, []byte, error) {
	// The hosts, from their index: a walk of the queue itself would pass
	// over every delivery made since its last compaction.
	hpfx := key(tHosts, coin)
	hosts := db.ldb.NewIterator(util.BytesPrefix(hpfx), nil)
	defer hosts.Release()
	var ok bool
	if afterHost == nil {
		ok = hosts.First()
	} else {
		ok = hosts.Seek(append(append(bytes.Clone(hpfx), afterHost...), 0))
	}
	qpfx := key(tQueue, coin)
	it := db.ldb.NewIterator(util.BytesPrefix(qpfx), nil)
	defer it.Release()
	seek := func(parts ...[]byte) bool {
		k := bytes.Clone(qpfx)
		for _, p := range parts {
			k = append(k, p...)
		}
		return it.Seek(k)
	}
	var out []QueuedCallback
	var last []byte
	for ; ok && len(out) < limit; ok = hosts.Next() {
		host := string(hosts.Key()[len(hpfx):])
		last = []byte(host)
		n, from := want(host)
		if n <= 0 {
			continue
		}
		// Resume after from; back to the host's first callback if nothing
		// due is left after it.
		found := false
		if from != nil && seek(from, []byte{0}) {
			h, due, _, err := splitQueueKey(it.Key()[len(qpfx):])
			found = err == nil && h == host && due <= tip
		}
		if !found && !seek([]byte(host), []byte{0}) || !bytes.HasPrefix(it.Key(), append(append(bytes.Clone(qpfx), host...), 0)) {
			// Nothing queued for the host any more: it leaves the index.
			if err := db.dropHost(coin, host); err != nil {
				return nil, nil, err
			}
			continue
		}
		for more := true; more && n > 0 && len(out) < limit; more = it.Next() {
			k := it.Key()[len(qpfx):]
			h, due, op, err := splitQueueKey(k)
			if err != nil {
				return nil, nil, fmt.Errorf("callback queue %s: %w", coin, err)
			}
			if h != host || due > tip {
				break
			}
			out = append(out, QueuedCallback{OutPoint: op, Host: host, Due: due, Pos: bytes.Clone(k)})
			n--
		}
	}
	if err := errors.Join(hosts.Error(), it.Error()); err != nil {
		return nil, nil, fmt.Errorf("callback queue %s: %w", coin, err)
	}
	if !ok {
		last = nil // every host has been read
	}
	return out, last, nil
}

// dropHost takes host out of the index of the queue's hosts if nothing is
// queued for it, under the callback lock, so that a callback started
// meanwhile keeps it in.
func (db *DB) dropHost(coin, host string) error {
	db.cbMu.Lock()
	defer db.cbMu.Unlock()
	empty, err := db.hostEmpty(coin, host)
	if err != nil || !empty {
		return err
	}
	if err := db.ldb.Delete(hostKey(coin, host), nil); err != nil {
		return fmt.Errorf("callback hosts %s: %w", coin, err)
	}
	return nil
}

// splitQueueKey parses a queue key after its table and coin.
func splitQueueKey(k []byte) (host string, due int64, op chain.OutPoint, err error) {
	nul := bytes.IndexByte(k, 0)
	if nul < 0 || len(k) != nul+1+8+36 {
		return "", 0, op, ErrCorrupt
	}
	return string(k[:nul]), int64(binary.BigEndian.Uint64(k[nul+1:])), decodeOpKey(k[nul+9:]), nil
}

// QueuedCallbacks returns how many callbacks of coin are pending. It walks
// the queue: for tests and tools, not for the delivery path.
func (db *DB) QueuedCallbacks(coin string) (int, error) {
	it := db.ldb.NewIterator(prefix(tQueue, coin), nil)
	defer it.Release()
	n := 0
	for it.Next() {
		n++
	}
	return n, it.Error()
}

// RecordAttempt records one callback request, synced, and moves the
// callback to state: CallbackPending keeps it in the queue, due again from
// height nextDue; CallbackAcked retires it. An acked or ended callback
// stays as it is: a late attempt is recorded but moves it no more. It
// returns the updated state.
func (db *DB) RecordAttempt(coin string, op chain.OutPoint, a Attempt, state CallbackState, nextDue int64) (*Callback, error) {
	db.cbMu.Lock()
	defer db.cbMu.Unlock()
	c, err := db.Callback(coin, op)
	if err != nil {
		return nil, err
	}
	b := new(leveldb.Batch)
	e := newEnc(48 + len(a.Error))
	encodeAttempt(e, &a)
	b.Put(key(tAttempt, coin, opKey(op), u64(uint64(c.Attempts))), e.b)
	c.Attempts++
	c.Last = a
	if c.State == CallbackPending {
		b.Delete(queueKey(coin, c.Host, c.Due, op))
		c.State = state
		if state == CallbackPending {
			c.Due = nextDue
			b.Put(queueKey(coin, c.Host, c.Due, op), nil)
		}
	}
	b.Put(key(tCallback, coin, opKey(op)), c.encode())
	if err := db.ldb.Write(b, syncWrite); err != nil {
		return nil, fmt.Errorf("record callback %s: %w", coin, err)
	}
	return c, nil
}

// EndCallback takes a pending callback out of the queue in state
// (CallbackGaveUp or CallbackVanished). A callback no longer pending is
// left as it is.
func (db *DB) EndCallback(coin string, op chain.OutPoint, state CallbackState) error {
	db.cbMu.Lock()
	defer db.cbMu.Unlock()
	c, err := db.Callback(coin, op)
	if err != nil {
		return err
	}
	if c.State != CallbackPending {
		return nil // acked meanwhile: that stands
	}
	b := new(leveldb.Batch)
	b.Delete(queueKey(coin, c.Host, c.Due, op))
	c.State = state
	b.Put(key(tCallback, coin, opKey(op)), c.encode())
	if err := db.ldb.Write(b, syncWrite); err != nil {
		return fmt.Errorf("end callback %s: %w", coin, err)
	}
	return nil
}

// Attempts returns every recorded request of the callback of coin's
// deposit at op, oldest first.
func (db *DB) Attempts(coin string, op chain.OutPoint) ([]Attempt, error) {
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
