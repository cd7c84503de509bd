package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/util"
)

// Tables of webhooks. doc.go lays them out.
const (
	tEndpoint    = 'u'
	tMessage     = 'j'
	tInvMessages = 'J'
)

// Endpoint is a URL a vendor registered to receive its webhooks.
type Endpoint struct {
	ID      string    `json:"id"`
	Vendor  string    `json:"vendor"`
	URL     string    `json:"url"`
	Created time.Time `json:"created"`
}

func endpointKey(vendor, id string) []byte {
	return key(tEndpoint, "wh", []byte(vendor), []byte{0}, []byte(id))
}

// PutEndpoint records a new endpoint, synced; ErrExists if its vendor has
// one with that ID.
func (db *DB) PutEndpoint(ep *Endpoint) error {
	db.invMu.Lock()
	defer db.invMu.Unlock()
	if _, err := db.get(endpointKey(ep.Vendor, ep.ID)); err == nil {
		return fmt.Errorf("put endpoint %s: %w", ep.ID, ErrExists)
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	e := newEnc(64 + len(ep.URL))
	e.str(ep.URL)
	e.time(ep.Created)
	if err := db.ldb.Put(endpointKey(ep.Vendor, ep.ID), e.b, syncWrite); err != nil {
		return fmt.Errorf("put endpoint %s: %w", ep.ID, err)
	}
	return nil
}

// Endpoints returns a vendor's endpoints, by ID.
func (db *DB) Endpoints(vendor string) ([]*Endpoint, error) {
	pfx := key(tEndpoint, "wh", []byte(vendor), []byte{0})
	it := db.ldb.NewIterator(util.BytesPrefix(pfx), nil)
	defer it.Release()
	var eps []*Endpoint
	for it.Next() {
		d := newDec(it.Value())
		ep := &Endpoint{ID: string(it.Key()[len(pfx):]), Vendor: vendor, URL: d.str(), Created: d.time()}
		if err := d.done(); err != nil {
			return nil, fmt.Errorf("endpoint %s: %w", ep.ID, err)
		}
		eps = append(eps, ep)
	}
	return eps, it.Error()
}

// DeleteEndpoint removes a vendor's endpoint, synced; ErrNotFound if it has
// none with that ID. Messages already queued for it are still delivered.
func (db *DB) DeleteEndpoint(vendor, id string) error {
	db.invMu.Lock()
	defer db.invMu.Unlock()
	if _, err := db.get(endpointKey(vendor, id)); err != nil {
		return fmt.Errorf("endpoint %s: %w", id, err)
	}
	if err := db.ldb.Delete(endpointKey(vendor, id), syncWrite); err != nil {
		return fmt.Errorf("delete endpoint %s: %w", id, err)
	}
	return nil
}

// Message is one webhook event for one endpoint, as it is sent at every
// attempt: its body is fixed when the event happens.
type Message struct {
	// Queue and Ref name its delivery, a Callback of that queue.
	Queue string
	Ref   []byte
	// ID is the event's id (webhook-id), the same for every endpoint and
	// every attempt; Type says what happened ("order.confirming").
	ID   string
	Type string
	// Vendor signs it; Invoice is what it is about.
	Vendor, Invoice string
	URL             string
	Body            []byte
	Created         time.Time
}

func messageKey(queue string, ref []byte) []byte {
	return key(tMessage, queue, []byte{byte(len(ref))}, ref)
}

func invMessageKey(invoice, queue string, ref []byte) []byte {
	return key(tInvMessages, "inv", []byte(invoice), []byte{0}, []byte(queue), []byte{0}, ref)
}

func (m *Message) encode() []byte {
	e := newEnc(128 + len(m.URL) + len(m.Body))
	for _, s := range []string{m.ID, m.Type, m.Vendor, m.Invoice, m.URL} {
		e.str(s)
	}
	e.bytes(m.Body)
	e.time(m.Created)
	return e.b
}

func decodeMessage(queue string, ref, b []byte) (*Message, error) {
	d := newDec(b)
	m := &Message{Queue: queue, Ref: bytes.Clone(ref)}
	for _, p := range []*string{&m.ID, &m.Type, &m.Vendor, &m.Invoice, &m.URL} {
		*p = d.str()
	}
	m.Body = d.bytes()
	m.Created = d.time()
	if err := d.done(); err != nil {
		return nil, fmt.Errorf("message %s: %w", queue, err)
	}
	return m, nil
}

// StartMessage records m and its pending delivery, due from due (a time,
// as the queue counts), to host, in one synced batch, with m in its
// invoice's list. A message already recorded is left as it is, and
// StartMessage reports false: an event recorded twice is sent once.
func (db *DB) StartMessage(m *Message, host string, due int64) (bool, error) {
	if len(m.Ref) == 0 || len(m.Ref) > maxRef || bytes.IndexByte([]byte(host), 0) >= 0 {
		return false, fmt.Errorf("start message %s: bad host or reference", m.Queue)
	}
	db.cbMu.Lock()
	defer db.cbMu.Unlock()
	if _, err := db.get(messageKey(m.Queue, m.Ref)); err == nil {
		return false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return false, err
	}
	b := new(leveldb.Batch)
	b.Put(messageKey(m.Queue, m.Ref), m.encode())
	if m.Invoice != "" {
		b.Put(invMessageKey(m.Invoice, m.Queue, m.Ref), nil)
	}
	if err := db.queueCallback(b, &Callback{Queue: m.Queue, Ref: bytes.Clone(m.Ref)}, host, due); err != nil {
		return false, err
	}
	if err := db.ldb.Write(b, syncWrite); err != nil {
		return false, fmt.Errorf("start message %s: %w", m.Queue, err)
	}
	return true, nil
}

// Message returns the message ref of queue, or ErrNotFound.
func (db *DB) Message(queue string, ref []byte) (*Message, error) {
	v, err := db.get(messageKey(queue, ref))
	if err != nil {
		return nil, fmt.Errorf("message %s: %w", queue, err)
	}
	return decodeMessage(queue, ref, v)
}

// InvoiceMessages returns the messages about an invoice, by queue and
// reference.
func (db *DB) InvoiceMessages(invoice string) ([]*Message, error) {
	pfx := key(tInvMessages, "inv", []byte(invoice), []byte{0})
	it := db.ldb.NewIterator(util.BytesPrefix(pfx), nil)
	defer it.Release()
	var ms []*Message
	for it.Next() {
		rest := it.Key()[len(pfx):]
		nul := bytes.IndexByte(rest, 0)
		if nul < 0 {
			return nil, fmt.Errorf("messages of %s: %w", invoice, ErrCorrupt)
		}
		m, err := db.Message(string(rest[:nul]), rest[nul+1:])
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	return ms, it.Error()
}

// NextDue returns the earliest due of queue's pending deliveries that is
// at least from and below until, and false if there is none. It reads the
// first delivery of each host with pending ones after from: for queues of
// few hosts (webhook endpoints), not for the deposits' callbacks.
func (db *DB) NextDue(queue string, from, until int64) (int64, bool, error) {
	hpfx := key(tHosts, queue)
	hosts := db.ldb.NewIterator(util.BytesPrefix(hpfx), nil)
	defer hosts.Release()
	qpfx := key(tQueue, queue)
	it := db.ldb.NewIterator(util.BytesPrefix(qpfx), nil)
	defer it.Release()
	best, found := int64(math.MaxInt64), false
	var fromKey [8]byte
	binary.BigEndian.PutUint64(fromKey[:], uint64(from))
	for hosts.Next() {
		host := hosts.Key()[len(hpfx):]
		hp := append(append(bytes.Clone(qpfx), host...), 0)
		if !it.Seek(append(bytes.Clone(hp), fromKey[:]...)) || !bytes.HasPrefix(it.Key(), hp) {
			continue
		}
		_, due, _, err := splitQueueKey(it.Key()[len(qpfx):])
		if err != nil {
			return 0, false, fmt.Errorf("queue %s: %w", queue, err)
		}
		if due < until && due < best {
			best, found = due, true
		}
	}
	if err := errors.Join(hosts.Error(), it.Error()); err != nil {
		return 0, false, fmt.Errorf("queue %s: %w", queue, err)
	}
	return best, found, nil
}
