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

// Tables of the mail outbox (doc.go lays them out). The outbox is not a
// coin's: its keys use "mail" in the coin's place.
const (
	tMail       = 'e' // e/mail/<id>: Mail record
	tMailDue    = 'E' // E/mail/<due:8><id>: empty, the queue of pending mail by due time
	tMailQueued = 'l' // l/mail/<queued:8><id>: empty, every message by the time it was queued
	mailSpace   = "mail"
)

// MailState is where an outgoing email stands.
type MailState uint8

// The states of an email.
const (
	// MailPending: queued, sent at its due time until it is sent or given up.
	MailPending MailState = iota + 1
	// MailSent: the SMTP server accepted it; never sent again.
	MailSent
	// MailGaveUp: retried until the schedule ran out; never sent again.
	MailGaveUp
)

// String returns "pending", "sent" or "gave_up".
func (s MailState) String() string {
	switch s {
	case MailPending:
		return "pending"
	case MailSent:
		return "sent"
	case MailGaveUp:
		return "gave_up"
	}
	return "none"
}

// MailAttempt is one delivery attempt and its outcome.
type MailAttempt struct {
	Time time.Time
	// Error says why the attempt failed ("" when the message was sent).
	Error string
	// Permanent marks a failure the server called permanent (a 5xx reply).
	Permanent bool
}

// Mail is one email in the outbox, with its delivery state.
type Mail struct {
	// ID names the message; one ID is queued once.
	ID      string
	To      []string
	Subject string
	Body    string
	// Queued is when it was first queued; Due is when a pending message is
	// next sent.
	Queued time.Time
	Due    time.Time
	State  MailState
	// Attempts counts the deliveries tried, Rejections those the server
	// refused permanently; Last is the latest.
	Attempts   int
	Rejections int
	Last       MailAttempt
}

func (m *Mail) encode() []byte {
	n := 64 + len(m.Subject) + len(m.Body) + len(m.Last.Error)
	for _, to := range m.To {
		n += len(to) + 2
	}
	e := newEnc(n)
	e.uvar(uint64(len(m.To)))
	for _, to := range m.To {
		e.str(to)
	}
	e.str(m.Subject)
	e.str(m.Body)
	e.time(m.Queued)
	e.time(m.Due)
	e.u8(uint8(m.State))
	e.i64(int64(m.Attempts))
	e.i64(int64(m.Rejections))
	e.time(m.Last.Time)
	e.str(m.Last.Error)
	e.bool(m.Last.Permanent)
	return e.b
}

// maxMailTo bounds the recipients a record may hold, so that a corrupt
// count cannot make decodeMail allocate without limit.
const maxMailTo = 1 << 10

func decodeMail(id string, b []byte) (*Mail, error) {
	d := newDec(b)
	m := &Mail{ID: id}
	n := d.uvar()
	if n > maxMailTo {
		d.fail()
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		m.To = append(m.To, d.str())
	}
	m.Subject = d.str()
	m.Body = d.str()
	m.Queued = d.time()
	m.Due = d.time()
	m.State = MailState(d.u8())
	m.Attempts = int(d.i64())
	m.Rejections = int(d.i64())
	m.Last = MailAttempt{Time: d.time(), Error: d.str(), Permanent: d.bool()}
	if err := d.done(); err != nil {
		return nil, fmt.Errorf("mail %s: %w", id, err)
	}
	return m, nil
}

// unixKey is t as a key part: unix nanoseconds, big-endian, so that keys
// sort by time (times before 1970 sort first, as 0).
func unixKey(t time.Time) []byte {
	ns := unixNano(t)
	if ns < 0 {
		ns = 0
	}
	return u64(uint64(ns))
}

func mailKey(id string) []byte { return key(tMail, mailSpace, []byte(id)) }

func mailDueKey(due time.Time, id string) []byte {
	return key(tMailDue, mailSpace, unixKey(due), []byte(id))
}

func mailQueuedKey(queued time.Time, id string) []byte {
	return key(tMailQueued, mailSpace, unixKey(queued), []byte(id))
}

// PutMail records m as a new pending message, synced, due at m.Due (at
// m.Queued when Due is zero). A message whose ID is already recorded is
// left as it is, whatever its state, so that queuing one message twice
// sends it once. m.ID must not be empty.
func (db *DB) PutMail(m *Mail) error {
	if m.ID == "" {
		return errors.New("put mail: empty id")
	}
	if len(m.To) > maxMailTo {
		return fmt.Errorf("put mail %s: %d recipients", m.ID, len(m.To))
	}
	db.mailMu.Lock()
	defer db.mailMu.Unlock()
	if _, err := db.get(mailKey(m.ID)); err == nil {
		return nil
	} else if !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("put mail %s: %w", m.ID, err)
	}
	r := *m
	r.To = append([]string(nil), m.To...)
	r.State = MailPending
	if r.Due.IsZero() {
		r.Due = r.Queued
	}
	b := new(leveldb.Batch)
	b.Put(mailKey(r.ID), r.encode())
	b.Put(mailDueKey(r.Due, r.ID), nil)
	b.Put(mailQueuedKey(r.Queued, r.ID), nil)
	if err := db.ldb.Write(b, syncWrite); err != nil {
		return fmt.Errorf("put mail %s: %w", m.ID, err)
	}
	return nil
}

// Mail returns the message recorded under id, or ErrNotFound.
func (db *DB) Mail(id string) (*Mail, error) {
	v, err := db.get(mailKey(id))
	if err != nil {
		return nil, fmt.Errorf("mail %s: %w", id, err)
	}
	return decodeMail(id, v)
}

// DueMail returns up to limit pending messages due at now, the longest due
// first. It reads only the due part of the queue. A queue entry that no
// longer matches its record (which the writes above never leave behind)
// is dropped, so that it cannot hold the queue's head.
func (db *DB) DueMail(now time.Time, limit int) ([]*Mail, error) {
	pfx := key(tMailDue, mailSpace)
	rng := util.BytesPrefix(pfx)
	if ns := binary.BigEndian.Uint64(unixKey(now)); ns < math.MaxInt64 {
		rng.Limit = key(tMailDue, mailSpace, u64(ns+1))
	}
	it := db.ldb.NewIterator(rng, nil)
	defer it.Release()
	var out []*Mail
	var stale [][]byte
	for len(out) < limit && it.Next() {
		k := it.Key()
		if len(k) <= len(pfx)+8 {
			stale = append(stale, bytes.Clone(k))
			continue
		}
		id := string(k[len(pfx)+8:])
		m, err := db.Mail(id)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("due mail: %w", err)
		}
		if err != nil || m.State != MailPending || !bytes.Equal(mailDueKey(m.Due, id), k) {
			stale = append(stale, bytes.Clone(k))
			continue
		}
		out = append(out, m)
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("due mail: %w", err)
	}
	if len(stale) > 0 {
		if err := db.dropStaleMail(stale); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// dropStaleMail deletes queue entries whose record does not name them,
// checking again under the lock.
func (db *DB) dropStaleMail(keys [][]byte) error {
	db.mailMu.Lock()
	defer db.mailMu.Unlock()
	b := new(leveldb.Batch)
	plen := len(key(tMailDue, mailSpace))
	for _, k := range keys {
		if len(k) > plen+8 {
			id := string(k[plen+8:])
			m, err := db.Mail(id)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return fmt.Errorf("due mail: %w", err)
			}
			if err == nil && m.State == MailPending && bytes.Equal(mailDueKey(m.Due, id), k) {
				continue // recorded meanwhile: it stands
			}
		}
		b.Delete(k)
	}
	if err := db.ldb.Write(b, syncWrite); err != nil {
		return fmt.Errorf("due mail: %w", err)
	}
	return nil
}

// NextMailDue returns when the next pending message comes due, and false
// if none is pending.
func (db *DB) NextMailDue() (time.Time, bool, error) {
	pfx := key(tMailDue, mailSpace)
	it := db.ldb.NewIterator(util.BytesPrefix(pfx), nil)
	defer it.Release()
	if !it.First() {
		return time.Time{}, false, it.Error()
	}
	k := it.Key()[len(pfx):]
	if len(k) < 8 {
		return time.Time{}, false, fmt.Errorf("next mail: %w", ErrCorrupt)
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(k))).UTC(), true, nil
}

// RecordMail records an attempt to send the message id, synced, and moves
// it in the queue in the same batch: an attempt without Error means the
// message was sent and leaves the queue; a failed one leaves it due again
// at next, or given up if next is zero. A message no longer pending has the
// attempt counted but stays as it is. It returns the updated record, or
// ErrNotFound.
func (db *DB) RecordMail(id string, a MailAttempt, next time.Time) (*Mail, error) {
	db.mailMu.Lock()
	defer db.mailMu.Unlock()
	m, err := db.Mail(id)
	if err != nil {
		return nil, fmt.Errorf("record %w", err)
	}
	b := new(leveldb.Batch)
	m.Attempts++
	if a.Permanent {
		m.Rejections++
	}
	m.Last = a
	if m.State == MailPending {
		b.Delete(mailDueKey(m.Due, id))
		switch {
		case a.Error == "":
			m.State = MailSent
		case next.IsZero():
			m.State = MailGaveUp
		default:
			m.Due = next
			b.Put(mailDueKey(m.Due, id), nil)
		}
	}
	b.Put(mailKey(id), m.encode())
	if err := db.ldb.Write(b, syncWrite); err != nil {
		return nil, fmt.Errorf("record mail %s: %w", id, err)
	}
	return m, nil
}

// Mails returns up to limit messages, the latest queued first, with their
// state: for operators.
func (db *DB) Mails(limit int) ([]*Mail, error) {
	pfx := key(tMailQueued, mailSpace)
	it := db.ldb.NewIterator(util.BytesPrefix(pfx), nil)
	defer it.Release()
	var out []*Mail
	for ok := it.Last(); ok && len(out) < limit; ok = it.Prev() {
		k := it.Key()[len(pfx):]
		if len(k) <= 8 {
			return nil, fmt.Errorf("mails: %w", ErrCorrupt)
		}
		m, err := db.Mail(string(k[8:]))
		if err != nil {
			return nil, fmt.Errorf("mails: %w", err)
		}
		out = append(out, m)
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("mails: %w", err)
	}
	return out, nil
}
