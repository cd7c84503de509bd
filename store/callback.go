package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/util"
)

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

// Callback is the state of one outbound notification of a delivery queue:
// a deposit's merchant callback (the queue named after the deposit's coin,
// the deposit's outpoint as its reference), an invoice's callback, a
// webhook event.
type Callback struct {
	Queue string
	// Ref names the notification within its queue (see OutPointRef).
	Ref   []byte
	State ferry.DeliveryState
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

func decodeCallback(queue string, ref []byte, b []byte) (*Callback, error) {
	d := newDec(b)
	c := &Callback{Queue: queue, Ref: bytes.Clone(ref), State: ferry.DeliveryState(d.u8()), Attempts: d.i64()}
	c.Last = decodeAttempt(d)
	if d.more() {
		c.Due = d.i64()
		c.Host = d.str()
	}
	if err := d.done(); err != nil {
		return nil, fmt.Errorf("callback %s: %w", queue, err)
	}
	return c, nil
}

// OutPointRef is the reference of a deposit's callback in its coin's
// queue: the deposit's outpoint.
func OutPointRef(op ferry.OutPoint) []byte { return opKey(op) }

// RefOutPoint returns the outpoint an OutPointRef names.
func RefOutPoint(ref []byte) (ferry.OutPoint, error) {
	if len(ref) != 36 {
		return ferry.OutPoint{}, fmt.Errorf("outpoint reference: %w", ErrCorrupt)
	}
	return decodeOpKey(ref), nil
}

// maxRef bounds a reference's length.
const maxRef = 255

// queueKey is a pending callback's place in its queue: grouped by host,
// then by when it is due.
func queueKey(queue, host string, due int64, ref []byte) []byte {
	return key(tQueue, queue, []byte(host), []byte{0}, u64(uint64(due)), ref)
}

// attemptPrefix prefixes the attempts of one callback: the reference's
// length first, so that no reference's attempts are another's.
func attemptPrefix(queue string, ref []byte) []byte {
	return key(tAttempt, queue, []byte{byte(len(ref))}, ref)
}

// hostKey is a host's entry in the index of the queue's hosts.
func hostKey(queue, host string) []byte { return key(tHosts, queue, []byte(host)) }

// hostEmpty reports whether the queue holds nothing for host.
func (db *DB) hostEmpty(queue, host string) (bool, error) {
	it := db.ldb.NewIterator(util.BytesPrefix(key(tQueue, queue, []byte(host), []byte{0})), nil)
	defer it.Release()
	return !it.First(), it.Error()
}

// StartCallback makes the callback ref of queue, to host (host and port),
// pending, due from due (a block height or a time, as the queue counts),
// if it has none yet, or if it vanished (a deposit a reorg took away) and
// is back: a deposit's callback starts when its forward is first accepted
// by the node.
func (db *DB) StartCallback(queue string, ref []byte, host string, due int64) error {
	if strings.IndexByte(host, 0) >= 0 || len(ref) == 0 || len(ref) > maxRef {
		return fmt.Errorf("start callback %s: bad host or reference", queue)
	}
	db.cbMu.Lock()
	defer db.cbMu.Unlock()
	c, err := db.Callback(queue, ref)
	switch {
	case errors.Is(err, ErrNotFound):
		c = &Callback{Queue: queue, Ref: bytes.Clone(ref)}
	case err != nil:
		return err
	case c.State != ferry.DeliveryVanished:
		return nil
	}
	b := new(leveldb.Batch)
	if err := db.queueCallback(b, c, host, due); err != nil {
		return err
	}
	if err := db.ldb.Write(b, syncWrite); err != nil {
		return fmt.Errorf("start callback %s: %w", queue, err)
	}
	return nil
}

// queueCallback adds to b what makes c pending, due from due, to host. The
// caller holds cbMu.
func (db *DB) queueCallback(b *leveldb.Batch, c *Callback, host string, due int64) error {
	c.State, c.Due, c.Host = ferry.DeliveryPending, due, host
	b.Put(key(tCallback, c.Queue, c.Ref), c.encode())
	b.Put(queueKey(c.Queue, host, due, c.Ref), nil)
	// The host joins the index with its first pending callback; the index
	// changes only when hosts come and go.
	if _, err := db.get(hostKey(c.Queue, host)); errors.Is(err, ErrNotFound) {
		b.Put(hostKey(c.Queue, host), nil)
	} else if err != nil {
		return fmt.Errorf("start callback %s: %w", c.Queue, err)
	}
	return nil
}

// Reschedule makes a pending callback due at due instead (a webhook waiting
// for the one before it). A callback no longer pending is left as it is.
func (db *DB) Reschedule(queue string, ref []byte, due int64) error {
	db.cbMu.Lock()
	defer db.cbMu.Unlock()
	c, err := db.Callback(queue, ref)
	if err != nil || c.State != ferry.DeliveryPending || c.Due == due {
		return err
	}
	b := new(leveldb.Batch)
	b.Delete(queueKey(queue, c.Host, c.Due, ref))
	c.Due = due
	b.Put(queueKey(queue, c.Host, c.Due, ref), nil)
	b.Put(key(tCallback, queue, ref), c.encode())
	if err := db.ldb.Write(b, syncWrite); err != nil {
		return fmt.Errorf("reschedule callback %s: %w", queue, err)
	}
	return nil
}

// Callback returns the callback ref of queue, or ErrNotFound if there is
// none.
func (db *DB) Callback(queue string, ref []byte) (*Callback, error) {
	v, err := db.get(key(tCallback, queue, ref))
	if err != nil {
		return nil, fmt.Errorf("callback %s: %w", queue, err)
	}
	return decodeCallback(queue, ref, v)
}

// QueuedCallback is a pending callback as the queue holds it.
type QueuedCallback struct {
	Ref  []byte
	Host string
	Due  int64
	// Pos is its place in the queue, to resume its host's reading after.
	Pos []byte
}

// DueCallbacks returns up to limit of queue's pending callbacks due at
// upTo (a block height or a time, as the queue counts), host by host in
// host order, starting with the host after
// afterHost (nil: the first). Within a host, callbacks come in the order
// they came due. want says how many of a host's callbacks the caller can
// take now, and the place to take them after (nil: the host's first); a
// host read to the end of what is due is read again from its first. A
// host the caller wants none of is passed over with one seek, whatever its
// backlog; and a reader that resumes each host where it left it never reads
// past the deliveries it has already made. It returns the host to resume
// after, or nil when the last host has been read. Only the due part of the
// queue is read.
func (db *DB) DueCallbacks(queue string, upTo int64, afterHost []byte, limit int, want func(host string) (int, []byte)) ([]QueuedCallback, []byte, error) {
	// The hosts, from their index: a walk of the queue itself would pass
	// over every delivery made since its last compaction.
	hpfx := key(tHosts, queue)
	hosts := db.ldb.NewIterator(util.BytesPrefix(hpfx), nil)
	defer hosts.Release()
	var ok bool
	if afterHost == nil {
		ok = hosts.First()
	} else {
		ok = hosts.Seek(append(append(bytes.Clone(hpfx), afterHost...), 0))
	}
	qpfx := key(tQueue, queue)
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
			found = err == nil && h == host && due <= upTo
		}
		if !found && !seek([]byte(host), []byte{0}) || !bytes.HasPrefix(it.Key(), append(append(bytes.Clone(qpfx), host...), 0)) {
			// Nothing queued for the host any more: it leaves the index.
			if err := db.dropHost(queue, host); err != nil {
				return nil, nil, err
			}
			continue
		}
		for more := true; more && n > 0 && len(out) < limit; more = it.Next() {
			k := it.Key()[len(qpfx):]
			h, due, ref, err := splitQueueKey(k)
			if err != nil {
				return nil, nil, fmt.Errorf("callback queue %s: %w", queue, err)
			}
			if h != host || due > upTo {
				break
			}
			out = append(out, QueuedCallback{Ref: bytes.Clone(ref), Host: host, Due: due, Pos: bytes.Clone(k)})
			n--
		}
	}
	if err := errors.Join(hosts.Error(), it.Error()); err != nil {
		return nil, nil, fmt.Errorf("callback queue %s: %w", queue, err)
	}
	if !ok {
		last = nil // every host has been read
	}
	return out, last, nil
}

// dropHost takes host out of the index of the queue's hosts if nothing is
// queued for it, under the callback lock, so that a callback started
// meanwhile keeps it in.
func (db *DB) dropHost(queue, host string) error {
	db.cbMu.Lock()
	defer db.cbMu.Unlock()
	empty, err := db.hostEmpty(queue, host)
	if err != nil || !empty {
		return err
	}
	if err := db.ldb.Delete(hostKey(queue, host), nil); err != nil {
		return fmt.Errorf("callback hosts %s: %w", queue, err)
	}
	return nil
}

// splitQueueKey parses a queue key after its table and queue name.
func splitQueueKey(k []byte) (host string, due int64, ref []byte, err error) {
	nul := bytes.IndexByte(k, 0)
	if nul < 0 || len(k) <= nul+1+8 {
		return "", 0, nil, ErrCorrupt
	}
	return string(k[:nul]), int64(binary.BigEndian.Uint64(k[nul+1:])), k[nul+9:], nil
}

// QueuedCallbacks returns how many callbacks of queue are pending. It
// walks the queue: for tests and tools, not for the delivery path.
func (db *DB) QueuedCallbacks(queue string) (int, error) {
	it := db.ldb.NewIterator(prefix(tQueue, queue), nil)
	defer it.Release()
	n := 0
	for it.Next() {
		n++
	}
	return n, it.Error()
}

// RecordAttempt records one callback request, synced, and moves the
// callback to state: ferry.DeliveryPending keeps it in the queue, due again from
// height nextDue; ferry.DeliveryAcked retires it. An acked or ended callback
// stays as it is: a late attempt is recorded but moves it no more. It
// returns the updated state.
func (db *DB) RecordAttempt(queue string, ref []byte, a Attempt, state ferry.DeliveryState, nextDue int64) (*Callback, error) {
	db.cbMu.Lock()
	defer db.cbMu.Unlock()
	c, err := db.Callback(queue, ref)
	if err != nil {
		return nil, err
	}
	b := new(leveldb.Batch)
	e := newEnc(48 + len(a.Error))
	encodeAttempt(e, &a)
	b.Put(append(attemptPrefix(queue, ref), u64(uint64(c.Attempts))...), e.b)
	c.Attempts++
	c.Last = a
	if c.State == ferry.DeliveryPending {
		b.Delete(queueKey(queue, c.Host, c.Due, ref))
		c.State = state
		if state == ferry.DeliveryPending {
			c.Due = nextDue
			b.Put(queueKey(queue, c.Host, c.Due, ref), nil)
		}
	}
	b.Put(key(tCallback, queue, ref), c.encode())
	if err := db.ldb.Write(b, syncWrite); err != nil {
		return nil, fmt.Errorf("record callback %s: %w", queue, err)
	}
	return c, nil
}

// EndCallback takes a pending callback out of the queue in state
// (ferry.DeliveryGaveUp or ferry.DeliveryVanished). A callback no longer pending is
// left as it is.
func (db *DB) EndCallback(queue string, ref []byte, state ferry.DeliveryState) error {
	db.cbMu.Lock()
	defer db.cbMu.Unlock()
	c, err := db.Callback(queue, ref)
	if err != nil {
		return err
	}
	if c.State != ferry.DeliveryPending {
		return nil // acked meanwhile: that stands
	}
	b := new(leveldb.Batch)
	b.Delete(queueKey(queue, c.Host, c.Due, ref))
	c.State = state
	b.Put(key(tCallback, queue, ref), c.encode())
	if err := db.ldb.Write(b, syncWrite); err != nil {
		return fmt.Errorf("end callback %s: %w", queue, err)
	}
	return nil
}

// Attempts returns every recorded request of the callback ref of queue,
// oldest first.
func (db *DB) Attempts(queue string, ref []byte) ([]Attempt, error) {
	it := db.ldb.NewIterator(util.BytesPrefix(attemptPrefix(queue, ref)), nil)
	defer it.Release()
	var as []Attempt
	for it.Next() {
		d := newDec(it.Value())
		a := decodeAttempt(d)
		if err := d.done(); err != nil {
			return nil, fmt.Errorf("attempt %s/%d: %w", queue, binary.BigEndian.Uint64(it.Key()[len(it.Key())-8:]), err)
		}
		as = append(as, a)
	}
	return as, it.Error()
}
