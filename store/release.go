package store

import (
	"errors"
	"fmt"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/syndtr/goleveldb/leveldb"
)

// tRelease holds the decisions about deposits that are not forwarded as
// they come: held, accepted, refunded. doc.go lays it out.
const tRelease = 'y'

// Release is the decision about one deposit to an invoice that holds the
// payments it does not take.
type Release struct {
	Coin     string
	OutPoint ferry.OutPoint
	Invoice  string
	Decision ferry.Decision
	// Since is when the deposit was first held; At when the decision was
	// made.
	Since, At time.Time
	// Dest and DestScript are where a refund goes.
	Dest       string
	DestScript []byte
}

func (r *Release) encode() []byte {
	e := newEnc(96 + len(r.Dest) + len(r.DestScript))
	e.str(r.Invoice)
	e.u8(uint8(r.Decision))
	e.time(r.Since)
	e.time(r.At)
	e.str(r.Dest)
	e.bytes(r.DestScript)
	return e.b
}

func decodeRelease(coin string, op ferry.OutPoint, b []byte) (*Release, error) {
	d := newDec(b)
	r := &Release{Coin: coin, OutPoint: op, Invoice: d.str(), Decision: ferry.Decision(d.u8()), Since: d.time(), At: d.time(), Dest: d.str()}
	r.DestScript = d.bytes()
	if err := d.done(); err != nil {
		return nil, fmt.Errorf("release %s: %w", coin, err)
	}
	return r, nil
}

// PutReleases records decisions in one synced batch with inv's record (if
// inv is not nil): all of them, or none. A deposit that already has a
// forward is not a deposit to decide about: the caller checks.
func (db *DB) PutReleases(inv *Invoice, rs ...*Release) error {
	b := new(leveldb.Batch)
	if inv != nil {
		b.Put(invoiceKey(inv.ID), inv.encode())
	}
	for _, r := range rs {
		b.Put(key(tRelease, r.Coin, opKey(r.OutPoint)), r.encode())
	}
	if err := db.ldb.Write(b, syncWrite); err != nil {
		return fmt.Errorf("put releases: %w", err)
	}
	return nil
}

// Release returns the decision about coin's deposit at op, or ErrNotFound.
func (db *DB) Release(coin string, op ferry.OutPoint) (*Release, error) {
	v, err := db.get(key(tRelease, coin, opKey(op)))
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("release %s %s: %w", coin, op, err)
	}
	if err != nil {
		return nil, err
	}
	return decodeRelease(coin, op, v)
}
