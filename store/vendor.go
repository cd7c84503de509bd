package store

import (
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/util"
)

// Scope is what an API key may do.
type Scope string

// The scopes of an API key.
const (
	// ScopeAll may do all the vendor may: create and read payments, and
	// cancel, accept and refund them.
	ScopeAll Scope = "all"
	// ScopeCreate may create and read payments only: what a shop's
	// checkout needs.
	ScopeCreate Scope = "create"
)

// APIKey is one of a vendor's API keys, kept as its SHA-256 hash: the key
// itself is shown once, when it is made.
type APIKey struct {
	// ID names the key (it is not secret): to list and revoke it.
	ID      string    `json:"key_id"`
	Scope   Scope     `json:"scope"`
	Hash    [32]byte  `json:"-"`
	Created time.Time `json:"created"`
}

// Vendor is a merchant of the invoice engine: who invoices are paid to.
// Its secret and API keys are kept as SHA-256 hashes only.
type Vendor struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
	// Payout is the vendor's address by coin id, where its invoices'
	// payments are forwarded.
	Payout     map[string]string `json:"payout"`
	SecretHash [32]byte          `json:"-"`
	// Keys are the vendor's API keys, oldest first. A vendor recorded
	// before keys had scopes has its one key here, of scope all.
	Keys    []APIKey  `json:"-"`
	Created time.Time `json:"created"`
	// WebhookSecret signs the vendor's webhooks ("whsec_…"); it is kept
	// as it is, since signing needs it.
	WebhookSecret string `json:"-"`
}

// Key returns the vendor's API key whose hash is hash, if it has one.
func (v *Vendor) Key(hash [32]byte) (APIKey, bool) {
	for _, k := range v.Keys {
		if k.Hash == hash {
			return k, true
		}
	}
	return APIKey{}, false
}

// legacyKeyID is the id of the API key of a vendor recorded before keys
// had ids: derived from the key's hash, so that it is the same at every
// read, and shows nothing of the key.
func legacyKeyID(hash [32]byte) string {
	h := sha256.Sum256(append([]byte("ferry api key id\x00"), hash[:]...))
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h[:5])
}

// The record: name, email, payout addresses, the secret's hash, the hash
// of the key of a vendor recorded before keys had scopes (zero since),
// created, the webhook secret, then the keys (absent in a record written
// before them).
func (v *Vendor) encode() []byte {
	e := newEnc(128 + 64*len(v.Keys))
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
	e.raw(make([]byte, 32))
	e.time(v.Created)
	e.str(v.WebhookSecret)
	e.uvar(uint64(len(v.Keys)))
	for _, k := range v.Keys {
		e.str(k.ID)
		e.str(string(k.Scope))
		e.raw(k.Hash[:])
		e.time(k.Created)
	}
	return e.b
}

// maxVendorKeys bounds the keys a record is read with.
const maxVendorKeys = 1000

func decodeVendor(id string, b []byte) (*Vendor, error) {
	d := newDec(b)
	v := &Vendor{ID: id, Name: d.str(), Email: d.str(), Payout: map[string]string{}}
	n := d.uvar()
	for i := uint64(0); i < n && d.err == nil; i++ {
		c := d.str()
		v.Payout[c] = d.str()
	}
	copy(v.SecretHash[:], d.take(32))
	var legacy [32]byte
	copy(legacy[:], d.take(32))
	v.Created = d.time()
	if d.more() {
		v.WebhookSecret = d.str()
	}
	if d.more() {
		n := d.uvar()
		if n > maxVendorKeys {
			d.fail()
		}
		for i := uint64(0); i < n && d.err == nil; i++ {
			k := APIKey{ID: d.str(), Scope: Scope(d.str())}
			copy(k.Hash[:], d.take(32))
			k.Created = d.time()
			v.Keys = append(v.Keys, k)
		}
	} else if legacy != ([32]byte{}) {
		// Recorded before keys had scopes: its one key may do all.
		v.Keys = []APIKey{{ID: legacyKeyID(legacy), Scope: ScopeAll, Hash: legacy, Created: v.Created}}
	}
	if err := d.done(); err != nil {
		return nil, fmt.Errorf("vendor %s: %w", id, err)
	}
	return v, nil
}

func vendorKey(id string) []byte { return key(tVendor, "vendor", []byte(id)) }

func vendorAPIKey(hash [32]byte) []byte { return key(tVendorKey, "key", hash[:]) }

// PutVendor records a new vendor, synced, with the index of its API keys.
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
	for _, k := range v.Keys {
		b.Put(vendorAPIKey(k.Hash), []byte(v.ID))
	}
	if err := db.ldb.Write(b, syncWrite); err != nil {
		return fmt.Errorf("put vendor %s: %w", v.ID, err)
	}
	return nil
}

// UpdateVendor rewrites a vendor's record, synced, and the index of its
// API keys: a key no longer in v.Keys stops working at once. It returns
// ErrNotFound for an unknown vendor.
func (db *DB) UpdateVendor(v *Vendor) error {
	_, err := db.ChangeVendor(v.ID, func(old *Vendor) error {
		*old = *v
		return nil
	})
	return err
}

// ChangeVendor applies change to the vendor id's record as it stands and
// writes the result, synced, with the index of its API keys: a key the
// change removes stops working at once, one it adds works at once. No
// other change of a vendor runs in between. An error of change is
// returned, and nothing is written; an unknown vendor is ErrNotFound.
func (db *DB) ChangeVendor(id string, change func(v *Vendor) error) (*Vendor, error) {
	db.invMu.Lock()
	defer db.invMu.Unlock()
	old, err := db.Vendor(id)
	if err != nil {
		return nil, err
	}
	v, err := db.Vendor(id)
	if err != nil {
		return nil, err
	}
	if err := change(v); err != nil {
		return nil, err
	}
	v.ID = id
	b := new(leveldb.Batch)
	b.Put(vendorKey(id), v.encode())
	for _, k := range old.Keys {
		if _, kept := v.Key(k.Hash); !kept {
			b.Delete(vendorAPIKey(k.Hash))
		}
	}
	for _, k := range v.Keys {
		if _, had := old.Key(k.Hash); !had {
			b.Put(vendorAPIKey(k.Hash), []byte(id))
		}
	}
	if err := db.ldb.Write(b, syncWrite); err != nil {
		return nil, fmt.Errorf("update vendor %s: %w", id, err)
	}
	return v, nil
}

// Vendor returns the vendor id, or ErrNotFound.
func (db *DB) Vendor(id string) (*Vendor, error) {
	v, err := db.get(vendorKey(id))
	if err != nil {
		return nil, fmt.Errorf("vendor %s: %w", id, err)
	}
	return decodeVendor(id, v)
}

// VendorByAPIKey returns the vendor one of whose API keys hashes to hash
// (Vendor.Key finds which), or ErrNotFound.
func (db *DB) VendorByAPIKey(hash [32]byte) (*Vendor, error) {
	id, err := db.get(vendorAPIKey(hash))
	if err != nil {
		return nil, fmt.Errorf("vendor by key: %w", err)
	}
	v, err := db.Vendor(string(id))
	if err != nil {
		return nil, err
	}
	if _, ok := v.Key(hash); !ok {
		return nil, fmt.Errorf("vendor by key: %w", ErrNotFound)
	}
	return v, nil
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

// DeleteVendor removes the vendor id and its API keys, synced; its
// invoices stay, and are paid out as they were created. It returns
// ErrNotFound for an unknown vendor.
func (db *DB) DeleteVendor(id string) error {
	db.invMu.Lock()
	defer db.invMu.Unlock()
	v, err := db.Vendor(id)
	if err != nil {
		return err
	}
	b := new(leveldb.Batch)
	b.Delete(vendorKey(id))
	for _, k := range v.Keys {
		b.Delete(vendorAPIKey(k.Hash))
	}
	if err := db.ldb.Write(b, syncWrite); err != nil {
		return fmt.Errorf("delete vendor %s: %w", id, err)
	}
	return nil
}
