package store_test

import (
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferry-relay/ferry/store"
	"github.com/ferry-relay/ferry/store/storetest"
)

func TestVendors(t *testing.T) {
	db := MustOpen(t)
	v := &store.Vendor{ID: "V1", Name: "Coffee Shop", Email: "shop@example.com", Payout: map[string]string{"ltc": "rltc1q…", "btc": "bcrt1q…"},
		SecretHash: sha256.Sum256([]byte("s")), Keys: []store.APIKey{{ID: "K1", Scope: store.ScopeAll, Hash: sha256.Sum256([]byte("k"))}}, Created: time.Unix(1700000000, 0).UTC()}
	if err := db.PutVendor(v); err != nil {
		t.Fatal(err)
	}
	if err := db.PutVendor(v); !errors.Is(err, store.ErrExists) {
		t.Errorf("a second vendor V1: %v", err)
	}
	got, err := db.VendorByAPIKey(sha256.Sum256([]byte("k")))
	if err != nil || got.Name != v.Name || got.Payout["btc"] != "bcrt1q…" || got.SecretHash != v.SecretHash || !got.Created.Equal(v.Created) {
		t.Fatalf("by key: %+v, %v", got, err)
	}
	if _, err := db.VendorByAPIKey(sha256.Sum256([]byte("other"))); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown key: %v", err)
	}
	if vs, _ := db.Vendors(); len(vs) != 1 {
		t.Errorf("%d vendors", len(vs))
	}
	if err := db.DeleteVendor("V1"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.VendorByAPIKey(sha256.Sum256([]byte("k"))); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the key of a removed vendor: %v", err)
	}
	if err := db.DeleteVendor("V1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("removing twice: %v", err)
	}
}

func TestInvoices(t *testing.T) {
	db := MustOpen(t)
	t0 := time.Unix(1700000000, 0).UTC()
	inv := &store.Invoice{Vendor: "V1", Number: "42", Amount: "10.00", Currency: "USD", CallbackURL: "https://shop.example/cb?i=42",
		Created: t0, Expires: t0.Add(720 * time.Hour),
		Coins: []store.InvoiceCoin{{Coin: "ltc", Index: 7, Address: "rltc1q…", Due: 12_500_000, Rate: "80", Quoted: t0, QuoteExpires: t0.Add(15 * time.Minute)}}}
	if err := db.PutInvoice(inv, store.IDs{Prefix: "LTPP-"}, 0); err != nil {
		t.Fatal(err)
	}
	if !store.IsNewInvoiceID(inv.ID, "LTPP-") {
		t.Fatalf("first invoice is %s", inv.ID)
	}
	again := &store.Invoice{Vendor: "V1", Number: "42"}
	if err := db.PutInvoice(again, store.IDs{Prefix: "LTPP-"}, 0); !errors.Is(err, store.ErrExists) || errors.Is(err, store.ErrIDTaken) || again.ID != inv.ID {
		t.Fatalf("the same vendor and number again: %v, %s", err, again.ID)
	}
	other := &store.Invoice{Vendor: "V2", Number: "42", Created: t0}
	if err := db.PutInvoice(other, store.IDs{Prefix: "LTPP-"}, 0); err != nil || other.ID == inv.ID || !store.IsNewInvoiceID(other.ID, "LTPP-") {
		t.Fatalf("another vendor's 42: %s, %v", other.ID, err)
	}
	got, err := db.InvoiceOfAddress("ltc", 7)
	if err != nil || got.ID != inv.ID || got.Coins[0].Due != 12_500_000 || got.Amount != "10.00" || !got.Expires.Equal(inv.Expires) {
		t.Fatalf("by address: %+v, %v", got, err)
	}
	got.Status, got.StatusChanged = "paid", t0.Add(time.Hour)
	if err := db.UpdateInvoice(got); err != nil {
		t.Fatal(err)
	}
	if byNum, _ := db.InvoiceByNumber("V1", "", "42"); byNum.Status != "paid" {
		t.Errorf("status after update: %q", byNum.Status)
	}

	// Numbers are the vendor's own in each dialect; an id may be given.
	ps := &store.Invoice{Vendor: "V1", Dialect: "payscrypt", Number: "42", WebhookURL: "https://shop.example/wh", Description: "two mugs", Changes: 3}
	if err := db.PutInvoice(ps, store.IDs{}, 0); err != nil || !store.IsNewInvoiceID(ps.ID, "") {
		t.Fatalf("a Payscrypt order 42 of V1: %s, %v", ps.ID, err)
	}
	if got, err := db.InvoiceByNumber("V1", "payscrypt", "42"); err != nil || got.ID != ps.ID || got.WebhookURL != ps.WebhookURL ||
		got.Description != "two mugs" || got.Changes != 3 || got.Dialect != "payscrypt" {
		t.Fatalf("by number in its dialect: %+v, %v", got, err)
	}
	const uuid = "550e8400-e29b-41d4-a716-446655440000"
	fx := &store.Invoice{ID: uuid, Vendor: "V1", Dialect: "fluxcord"}
	if err := db.PutInvoice(fx, store.IDs{Prefix: "ignored-"}, 0); err != nil || fx.ID != uuid {
		t.Fatalf("with its own id: %s, %v", fx.ID, err)
	}
	if err := db.PutInvoice(&store.Invoice{ID: uuid, Vendor: "V2"}, store.IDs{}, 0); !errors.Is(err, store.ErrIDTaken) {
		t.Fatalf("an id taken: %v", err)
	}
	if err := db.PutInvoice(&store.Invoice{ID: inv.ID, Vendor: "V2"}, store.IDs{}, 0); !errors.Is(err, store.ErrIDTaken) {
		t.Fatalf("a random id taken: %v", err)
	}
	if err := db.CloseInvoice(inv.ID); err != nil {
		t.Fatal(err)
	}
	if open, _ := db.OpenInvoices(); len(open) != 3 || slices.Contains(open, inv.ID) || !slices.Contains(open, other.ID) {
		t.Errorf("open invoices: %v", open)
	}
}

// TestInvoiceIDs: every id the store makes is its prefix and 120 random
// bits, 24 characters of base32, never the same twice; a UUID is a
// random version 4 one; walking the ids a counter would have made finds
// nothing.
func TestInvoiceIDs(t *testing.T) {
	db := MustOpen(t)
	seen := map[string]bool{}
	for i := range 200 {
		prefix := []string{"LTPP-", ""}[i%2]
		inv := &store.Invoice{Vendor: "V1", Dialect: []string{"", "payscrypt"}[i%2]}
		if err := db.PutInvoice(inv, store.IDs{Prefix: prefix}, 0); err != nil {
			t.Fatal(err)
		}
		if !store.IsNewInvoiceID(inv.ID, prefix) || len(inv.ID) != len(prefix)+24 || seen[inv.ID] {
			t.Fatalf("invoice %d: id %q", i, inv.ID)
		}
		seen[inv.ID] = true
	}
	for n := range 300 {
		for _, id := range []string{fmt.Sprintf("LTPP-%d", n), fmt.Sprint(n), fmt.Sprintf("LTC%d", n), fmt.Sprintf("BTC%d", n)} {
			if _, err := db.Invoice(id); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("invoice %s: %v", id, err)
			}
		}
	}
	uuidForm := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	uuids := map[string]bool{}
	for range 200 {
		u := store.NewUUID()
		if !uuidForm.MatchString(u) || uuids[u] {
			t.Fatalf("uuid %q", u)
		}
		uuids[u] = true
	}
	// Every bit of the random part varies (no constant bits: 120 of them).
	var or, and [15]byte
	for i := range and {
		and[i] = 0xff
	}
	for id := range seen {
		b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.TrimPrefix(id, "LTPP-"))
		if err != nil || len(b) != 15 {
			t.Fatalf("%s: %v", id, err)
		}
		for i := range b {
			or[i] |= b[i]
			and[i] &= b[i]
		}
	}
	for i := range or {
		if or[i] != 0xff || and[i] != 0 {
			t.Fatalf("byte %d of the ids: some bits never change (or %08b, and %08b)", i, or[i], and[i])
		}
	}
}

// TestInvoiceNumbers: a display number is the vendor's own, counted per
// vendor, dialect and prefix; an invoice with its own number keeps it.
func TestInvoiceNumbers(t *testing.T) {
	db := MustOpen(t)
	put := func(vendor, prefix string) *store.Invoice {
		t.Helper()
		inv := &store.Invoice{Vendor: vendor, Dialect: "coinremitter"}
		if err := db.PutInvoice(inv, store.IDs{NumberPrefix: prefix}, 0); err != nil {
			t.Fatal(err)
		}
		if !store.IsNewInvoiceID(inv.ID, "") {
			t.Fatalf("id %q", inv.ID)
		}
		return inv
	}
	var got []string
	for _, p := range []struct{ vendor, prefix string }{{"V1", "LTC"}, {"V1", "LTC"}, {"V2", "LTC"}, {"V1", "BTC"}, {"V1", "LTC"}, {"V2", "LTC"}} {
		got = append(got, p.vendor+":"+put(p.vendor, p.prefix).Number)
	}
	if want := "[V1:LTC1 V1:LTC2 V2:LTC1 V1:BTC1 V1:LTC3 V2:LTC2]"; fmt.Sprint(got) != want {
		t.Errorf("numbers %v, want %v", got, want)
	}
	if inv, err := db.InvoiceByNumber("V2", "coinremitter", "LTC2"); err != nil || inv.Number != "LTC2" || inv.Vendor != "V2" {
		t.Errorf("V2's LTC2: %+v, %v", inv, err)
	}
	own := &store.Invoice{Vendor: "V1", Dialect: "coinremitter", Number: "mine"}
	if err := db.PutInvoice(own, store.IDs{NumberPrefix: "LTC"}, 0); err != nil || own.Number != "mine" {
		t.Errorf("its own number: %q, %v", own.Number, err)
	}
}

// TestInvoicesOf: a vendor's invoices of a dialect, oldest first, in
// pages; the dialect's fields and the payments announced kept.
func TestInvoicesOf(t *testing.T) {
	db := MustOpen(t)
	t0 := time.Unix(1700000000, 0).UTC()
	var v1 []string
	var pos3 string
	for i, who := range []string{"V1", "V2", "V1", "V1", "V1"} {
		inv := &store.Invoice{Vendor: who, Dialect: "openapi", Created: t0.Add(time.Duration(i) * time.Minute),
			Fields: map[string]string{"pos_id": fmt.Sprintf("POS%d", i), "reference_no": ""}, PaymentsSeen: int64(i), PaymentsCounted: 1}
		if err := db.PutInvoice(inv, store.IDs{Prefix: "OA-"}, 0); err != nil {
			t.Fatal(err)
		}
		if who == "V1" {
			v1 = append(v1, inv.ID)
		}
		if i == 3 {
			pos3 = inv.ID
		}
	}
	cr := &store.Invoice{Vendor: "V1", Dialect: "coinremitter", Created: t0}
	if err := db.PutInvoice(cr, store.IDs{NumberPrefix: "LTC"}, 0); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		offset, limit int
		want          []string
	}{
		{0, 10, v1},
		{1, 2, v1[1:3]},
		{3, 2, v1[3:]},
		{4, 2, nil},
	} {
		got, err := db.InvoicesOf("V1", "openapi", tt.offset, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, inv := range got {
			ids = append(ids, inv.ID)
		}
		if fmt.Sprint(ids) != fmt.Sprint(tt.want) {
			t.Errorf("page %d+%d: %v, want %v", tt.offset, tt.limit, ids, tt.want)
		}
	}
	got, _ := db.Invoice(pos3)
	if got.Fields["pos_id"] != "POS3" || len(got.Fields) != 2 || got.PaymentsSeen != 3 || got.PaymentsCounted != 1 {
		t.Errorf("fields %v, payments %d/%d", got.Fields, got.PaymentsSeen, got.PaymentsCounted)
	}
	if crs, _ := db.InvoicesOf("V1", "coinremitter", 0, 10); len(crs) != 1 || crs[0].ID != cr.ID || crs[0].Number != "LTC1" {
		t.Errorf("the other dialect: %v", crs)
	}
}

// TestInvoicesByReference: a vendor's invoices of a dialect with one
// reference, oldest first, none of another vendor, dialect or reference
// (one that starts the same included); the reference kept in the record.
func TestInvoicesByReference(t *testing.T) {
	db := MustOpen(t)
	t0 := time.Unix(1700000000, 0).UTC()
	var want []string
	for i, p := range []struct{ vendor, dialect, ref string }{
		{"V1", "openapi", "42"}, {"V1", "openapi", "421"}, {"V2", "openapi", "42"}, {"V1", "openapi", "42"},
		{"V1", "coinremitter", "42"}, {"V1", "openapi", ""}, {"V1", "openapi", "4"}, {"V1", "openapi", "42"},
	} {
		inv := &store.Invoice{Vendor: p.vendor, Dialect: p.dialect, Reference: p.ref, Created: t0.Add(time.Duration(i) * time.Minute)}
		if err := db.PutInvoice(inv, store.IDs{}, 0); err != nil {
			t.Fatal(err)
		}
		if p == (struct{ vendor, dialect, ref string }{"V1", "openapi", "42"}) {
			want = append(want, inv.ID)
		}
	}
	ids := func(offset, limit int) []string {
		got, err := db.InvoicesByReference("V1", "openapi", "42", offset, limit)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, inv := range got {
			if inv.Reference != "42" {
				t.Errorf("%s: reference %q", inv.ID, inv.Reference)
			}
			out = append(out, inv.ID)
		}
		return out
	}
	if got := ids(0, 10); !slices.Equal(got, want) {
		t.Errorf("by reference %v, want %v", got, want)
	}
	if got := ids(1, 1); !slices.Equal(got, want[1:2]) {
		t.Errorf("the second %v, want %v", got, want[1:2])
	}
	if got, err := db.InvoicesByReference("V1", "openapi", "", 0, 10); err != nil || len(got) != 0 {
		t.Errorf("no reference: %v, %v", got, err)
	}
	if err := db.PutInvoice(&store.Invoice{Vendor: "V1", Dialect: "openapi", Reference: "a\x00b"}, store.IDs{}, 0); err == nil {
		t.Error("a reference with a NUL byte was recorded")
	}
}

// TestLabels: the owner of an address asked for outside an invoice.
func TestLabels(t *testing.T) {
	db := MustOpen(t)
	l := &store.Label{Coin: "ltc", Index: 7, Vendor: "V1", Label: "my_label", Created: time.Unix(1700000000, 0).UTC()}
	if err := db.PutLabel(l); err != nil {
		t.Fatal(err)
	}
	if err := db.PutLabel(l); !errors.Is(err, store.ErrExists) {
		t.Errorf("labelled twice: %v", err)
	}
	got, err := db.Label("ltc", 7)
	if err != nil || *got != *l {
		t.Fatalf("label: %+v, %v", got, err)
	}
	if _, err := db.Label("btc", 7); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another coin's: %v", err)
	}
}

func TestCheckNetwork(t *testing.T) {
	db := storetest.OpenBare(t)
	if _, err := db.Network(); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("network of a new store: %v", err)
	}
	if err := db.CheckNetwork("regtest"); err != nil {
		t.Fatal(err)
	}
	if err := db.CheckNetwork("mainnet"); !errors.Is(err, store.ErrNetworkMismatch) {
		t.Errorf("another network: %v", err)
	}
	if n, _ := db.Network(); n != "regtest" {
		t.Errorf("network %q", n)
	}
}

// TestOpenInvoicesCounted: with a limit, PutInvoice refuses a vendor's
// invoice once the vendor has that many open, writing nothing; closing one
// (even twice) makes room for one; the counts come from the open set, so
// they hold across a reopen and in a store written before the limit.
func TestOpenInvoicesCounted(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	reopen := func() {
		t.Helper()
		db.Close()
		if db, err = store.Open(dir); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { db.Close() })
	put := func(vendor, number string, maxOpen int) (*store.Invoice, error) {
		inv := &store.Invoice{Vendor: vendor, Dialect: "litepay", Number: number, Created: time.Unix(1700000000, 0).UTC()}
		return inv, db.PutInvoice(inv, store.IDs{Prefix: "LTPP-"}, maxOpen)
	}
	counts := func(when string, want map[string]int) {
		t.Helper()
		for v, n := range want {
			if got, err := db.OpenInvoicesOf(v); err != nil || got != n {
				t.Errorf("%s: %s has %d open (%v), want %d", when, v, got, err, n)
			}
		}
	}

	// Written with no limit, as before there was one.
	first, err := put("V1", "1", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range [][2]string{{"V1", "2"}, {"V2", "1"}} {
		if _, err := put(p[0], p[1], 0); err != nil {
			t.Fatal(err)
		}
	}
	reopen()
	counts("reopened", map[string]int{"V1": 2, "V2": 1, "V3": 0})

	if _, err := put("V1", "3", 2); !errors.Is(err, store.ErrTooManyOpen) {
		t.Fatalf("V1's third with a limit of 2: %v", err)
	}
	if _, err := db.InvoiceByNumber("V1", "litepay", "3"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused invoice was written: %v", err)
	}
	if _, err := put("V1", "1", 2); !errors.Is(err, store.ErrExists) {
		t.Errorf("V1's number 1 again: %v, want ErrExists", err)
	}
	if _, err := put("V2", "2", 2); err != nil {
		t.Errorf("V2's second: %v", err)
	}
	counts("after puts", map[string]int{"V1": 2, "V2": 2})

	for range 2 {
		if err := db.CloseInvoice(first.ID); err != nil {
			t.Fatal(err)
		}
	}
	counts("one closed twice", map[string]int{"V1": 1, "V2": 2})
	if _, err := put("V1", "3", 2); err != nil {
		t.Errorf("V1's third after one closed: %v", err)
	}
	if _, err := put("V1", "4", 2); !errors.Is(err, store.ErrTooManyOpen) {
		t.Errorf("V1's fourth: %v", err)
	}
	reopen()
	counts("reopened again", map[string]int{"V1": 2, "V2": 2})

	// A paid invoice costs its maker money: it is not counted, open or not.
	third, err := db.InvoiceByNumber("V1", "litepay", "3")
	if err != nil {
		t.Fatal(err)
	}
	third.Status = "paid"
	if err := db.UpdateInvoice(third); err != nil {
		t.Fatal(err)
	}
	counts("one paid", map[string]int{"V1": 1})
	if _, err := put("V1", "4", 2); err != nil {
		t.Errorf("V1's fourth once one is paid: %v", err)
	}
	reopen()
	counts("reopened with one paid", map[string]int{"V1": 2, "V2": 2})
	if err := db.CloseInvoice(third.ID); err != nil {
		t.Fatal(err)
	}
	counts("the paid one closed", map[string]int{"V1": 2})
}
