package store

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/util"
)

// Vendor is a merchant of the invoice engine: who invoices are paid to.
// Its secret and API key are kept as SHA-256 hashes only.
type Vendor struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
	// Payout is the vendor's address by coin id, where its invoices'
	// payments are forwarded.
	Payout     map[string]string `json:"payout"`
	SecretHash [32]byte          `json:"-"`
	APIKeyHash [32]byte          `json:"-"`
	Created    time.Time         `json:"created"`
	// WebhookSecret signs the vendor's webhooks ("whsec_…"); it is kept
	// as it is, since signing needs it.
	WebhookSecret string `json:"-"`
}

func (v *Vendor) encode() []byte {
	e := newEnc(128)
	e.str(v.Name)
	e.str(v.Email)
	coins := make([]string, 0, len(v.Payout))
	for c := range v.Payout {
		coins = append(coins, c)
	}
	sort.Strings(coins)
	e.uvar(uint64(len(coins)))
	for _, c := range coins {
		e.str(c)
		e.str(v.Payout[c])
	}
	e.raw(v.SecretHash[:])
	e.raw(v.APIKeyHash[:])
	e.time(v.Created)
	e.str(v.WebhookSecret)
	return e.b
}

func decodeVendor(id string, b []byte) (*Vendor, error) {
	d := newDec(b)
	v := &Vendor{ID: id, Name: d.str(), Email: d.str(), Payout: map[string]string{}}
	n := d.uvar()
	for i := uint64(0); i < n && d.err == nil; i++ {
		c := d.str()
		v.Payout[c] = d.str()
	}
	copy(v.SecretHash[:], d.take(32))
	copy(v.APIKeyHash[:], d.take(32))
	v.Created = d.time()
	if d.more() {
		v.WebhookSecret = d.str()
	}
	if err := d.done(); err != nil {
		return nil, fmt.Errorf("vendor %s: %w", id, err)
	}
	return v, nil
}

func vendorKey(id string) []byte { return key(tVendor, "vendor", []byte(id)) }

func vendorAPIKey(hash [32]byte) []byte { return key(tVendorKey, "key", hash[:]) }

// PutVendor records a new vendor, synced, with the index of its API key.
// It returns ErrExists if the ID is taken.
func (db *DB) PutVendor(v *Vendor) error {
	db.invMu.Lock()
	defer db.invMu.Unlock()
	if _, err := db.get(vendorKey(v.ID)); err == nil {
		return fmt.Errorf("put vendor %s: %w", v.ID, ErrExists)
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	b := new(leveldb.Batch)
	b.Put(vendorKey(v.ID), v.encode())
	b.Put(vendorAPIKey(v.APIKeyHash), []byte(v.ID))
	if err := db.ldb.Write(b, syncWrite); err != nil {
		return fmt.Errorf("put vendor %s: %w", v.ID, err)
	}
	return nil
}

// UpdateVendor rewrites a vendor's record, synced, and moves the index of
// its API key if the key changed: the old key stops working at once. It
// returns ErrNotFound for an unknown vendor.
func (db *DB) UpdateVendor(v *Vendor) error {
	db.invMu.Lock()
	defer db.invMu.Unlock()
	old, err := db.Vendor(v.ID)
	if err != nil {
		return err
	}
	b := new(leveldb.Batch)
	b.Put(vendorKey(v.ID), v.encode())
	if old.APIKeyHash != v.APIKeyHash {
		b.Delete(vendorAPIKey(old.APIKeyHash))
		b.Put(vendorAPIKey(v.APIKeyHash), []byte(v.ID))
	}
	if err := db.ldb.Write(b, syncWrite); err != nil {
		return fmt.Errorf("update vendor %s: %w", v.ID, err)
	}
	return nil
}

// Vendor returns the vendor id, or ErrNotFound.
func (db *DB) Vendor(id string) (*Vendor, error) {
	v, err := db.get(vendorKey(id))
	if err != nil {
		return nil, fmt.Errorf("vendor %s: %w", id, err)
	}
	return decodeVendor(id, v)
}

// VendorByAPIKey returns the vendor whose API key hashes to hash, or
// ErrNotFound.
func (db *DB) VendorByAPIKey(hash [32]byte) (*Vendor, error) {
	id, err := db.get(vendorAPIKey(hash))
	if err != nil {
		return nil, fmt.Errorf("vendor by key: %w", err)
	}
	return db.Vendor(string(id))
}

// Vendors returns every vendor, by id.
func (db *DB) Vendors() ([]*Vendor, error) {
	pfx := key(tVendor, "vendor")
	it := db.ldb.NewIterator(util.BytesPrefix(pfx), nil)
	defer it.Release()
	var vs []*Vendor
	for it.Next() {
		v, err := decodeVendor(string(it.Key()[len(pfx):]), it.Value())
		if err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
	return vs, it.Error()
}

// DeleteVendor removes the vendor id and its API key, synced; its invoices
// stay, and are paid out as they were created. It returns ErrNotFound for
// an unknown vendor.
func (db *DB) DeleteVendor(id string) error {
	db.invMu.Lock()
	defer db.invMu.Unlock()
	v, err := db.Vendor(id)
	if err != nil {
		return err
	}
	b := new(leveldb.Batch)
	b.Delete(vendorKey(id))
	b.Delete(vendorAPIKey(v.APIKeyHash))
	if err := db.ldb.Write(b, syncWrite); err != nil {
		return fmt.Errorf("delete vendor %s: %w", id, err)
	}
	return nil
}
