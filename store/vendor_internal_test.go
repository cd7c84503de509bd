package store

import (
	"crypto/sha256"
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/syndtr/goleveldb/leveldb"
)

// legacyVendor is a vendor's record as ferry wrote it before API keys had
// scopes: one key's hash in the record, no list of keys.
func legacyVendor(v *Vendor, apiKeyHash [32]byte) []byte {
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
	e.raw(apiKeyHash[:])
	e.time(v.Created)
	e.str(v.WebhookSecret)
	return e.b
}

// TestVendorWrittenBefore reads a vendor recorded before API keys had
// scopes: its one key is a key of scope all, with an id that stays the
// same; a key added keeps it working; revoked, it stops.
func TestVendorWrittenBefore(t *testing.T) {
	db, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	t0 := time.Unix(1700000000, 0).UTC()
	old := sha256.Sum256([]byte("the key of before"))
	v := &Vendor{ID: "V1", Name: "Tea", Email: "t@shop.example", Payout: map[string]string{"ltc": "rltc1q"}, Created: t0,
		SecretHash: sha256.Sum256([]byte("s")), WebhookSecret: "whsec_abc"}
	b := new(leveldb.Batch)
	b.Put(vendorKey("V1"), legacyVendor(v, old))
	b.Put(vendorAPIKey(old), []byte("V1"))
	if err := db.ldb.Write(b, syncWrite); err != nil {
		t.Fatal(err)
	}

	got, err := db.VendorByAPIKey(old)
	if err != nil || got.WebhookSecret != "whsec_abc" || got.SecretHash != v.SecretHash {
		t.Fatalf("by the key of before: %+v, %v", got, err)
	}
	want := APIKey{ID: legacyKeyID(old), Scope: ScopeAll, Hash: old, Created: t0}
	if k, ok := got.Key(old); !ok || k != want || len(got.Keys) != 1 || len(k.ID) != 8 {
		t.Fatalf("its key %+v, want %+v", got.Keys, want)
	}

	added := sha256.Sum256([]byte("a key of scope create"))
	if _, err := db.ChangeVendor("V1", func(v *Vendor) error {
		v.Keys = append(v.Keys, APIKey{ID: "K2", Scope: ScopeCreate, Hash: added, Created: t0.Add(time.Hour)})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got, err = db.VendorByAPIKey(old)
	if k, _ := got.Key(old); err != nil || k != want || len(got.Keys) != 2 {
		t.Fatalf("the key of before, rewritten: %+v, %v", got, err)
	}
	if raw, _ := db.get(vendorKey("V1")); len(raw) == len(legacyVendor(v, old)) {
		t.Error("the record was not rewritten with its keys")
	}
	if _, err := db.ChangeVendor("V1", func(v *Vendor) error { v.Keys = v.Keys[1:]; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := db.VendorByAPIKey(old); !errors.Is(err, ErrNotFound) {
		t.Errorf("the key of before, revoked: %v", err)
	}
	if got, err := db.VendorByAPIKey(added); err != nil || len(got.Keys) != 1 {
		t.Errorf("the key added: %+v, %v", got, err)
	}
}
