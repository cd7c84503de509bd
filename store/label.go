package store

import (
	"errors"
	"fmt"
	"time"
)

// tLabel holds the owners of the input addresses vendors ask for outside
// an invoice (Coinremitter's get-new-address). doc.go lays it out.
const tLabel = 'L'

// Label says whose an input address is, when a vendor asked for it
// outside an invoice, and what the vendor called it.
type Label struct {
	Coin    string
	Index   uint32
	Vendor  string
	Label   string
	Created time.Time
}

func labelKey(coin string, index uint32) []byte { return key(tLabel, coin, u32(index)) }

// PutLabel records an address's owner and label, synced. It returns
// ErrExists if the address has one.
func (db *DB) PutLabel(l *Label) error {
	db.invMu.Lock()
	defer db.invMu.Unlock()
	if _, err := db.get(labelKey(l.Coin, l.Index)); err == nil {
		return fmt.Errorf("put label %s/%d: %w", l.Coin, l.Index, ErrExists)
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	e := newEnc(32 + len(l.Vendor) + len(l.Label))
	e.str(l.Vendor)
	e.str(l.Label)
	e.time(l.Created)
	if err := db.ldb.Put(labelKey(l.Coin, l.Index), e.b, syncWrite); err != nil {
		return fmt.Errorf("put label %s/%d: %w", l.Coin, l.Index, err)
	}
	return nil
}

// Label returns the owner and label of coin's address at index, or
// ErrNotFound.
func (db *DB) Label(coin string, index uint32) (*Label, error) {
	v, err := db.get(labelKey(coin, index))
	if err != nil {
		return nil, fmt.Errorf("label %s/%d: %w", coin, index, err)
	}
	d := newDec(v)
	l := &Label{Coin: coin, Index: index, Vendor: d.str(), Label: d.str(), Created: d.time()}
	if err := d.done(); err != nil {
		return nil, fmt.Errorf("label %s/%d: %w", coin, index, err)
	}
	return l, nil
}
