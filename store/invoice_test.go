package store_test

import (
	"crypto/sha256"
	"errors"
	"fmt"
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
	if err := db.PutInvoice(inv, "LTPP-"); err != nil {
		t.Fatal(err)
	}
	if inv.ID != "LTPP-1" {
		t.Fatalf("first invoice is %s", inv.ID)
	}
	again := &store.Invoice{Vendor: "V1", Number: "42"}
	if err := db.PutInvoice(again, "LTPP-"); !errors.Is(err, store.ErrExists) || again.ID != "LTPP-1" {
		t.Fatalf("the same vendor and number again: %v, %s", err, again.ID)
	}
	other := &store.Invoice{Vendor: "V2", Number: "42", Created: t0}
	if err := db.PutInvoice(other, "LTPP-"); err != nil || other.ID != "LTPP-2" {
		t.Fatalf("another vendor's 42: %s, %v", other.ID, err)
	}
	got, err := db.InvoiceOfAddress("ltc", 7)
	if err != nil || got.ID != "LTPP-1" || got.Coins[0].Due != 12_500_000 || got.Amount != "10.00" || !got.Expires.Equal(inv.Expires) {
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
	if err := db.PutInvoice(ps, ""); err != nil || ps.ID != "3" {
		t.Fatalf("a Payscrypt order 42 of V1: %s, %v", ps.ID, err)
	}
	if got, err := db.InvoiceByNumber("V1", "payscrypt", "42"); err != nil || got.ID != "3" || got.WebhookURL != ps.WebhookURL ||
		got.Description != "two mugs" || got.Changes != 3 || got.Dialect != "payscrypt" {
		t.Fatalf("by number in its dialect: %+v, %v", got, err)
	}
	const uuid = "550e8400-e29b-41d4-a716-446655440000"
	fx := &store.Invoice{ID: uuid, Vendor: "V1", Dialect: "fluxcord"}
	if err := db.PutInvoice(fx, "ignored-"); err != nil || fx.ID != uuid {
		t.Fatalf("with its own id: %s, %v", fx.ID, err)
	}
	if err := db.PutInvoice(&store.Invoice{ID: uuid, Vendor: "V2"}, ""); !errors.Is(err, store.ErrExists) {
		t.Fatalf("an id taken: %v", err)
	}
	if next := (&store.Invoice{Vendor: "V1"}); db.PutInvoice(next, "LTPP-") != nil || next.ID != "LTPP-4" {
		t.Errorf("the counter after an invoice with its own id: %s", next.ID)
	}
	if err := db.CloseInvoice("LTPP-1"); err != nil {
		t.Fatal(err)
	}
	if open, _ := db.OpenInvoices(); len(open) != 4 || open[2] != "LTPP-2" {
		t.Errorf("open invoices: %v", open)
	}
}

// TestInvoicesOf: a vendor's invoices of a dialect, oldest first, in
// pages; the dialect's fields and the payments announced kept.
func TestInvoicesOf(t *testing.T) {
	db := MustOpen(t)
	t0 := time.Unix(1700000000, 0).UTC()
	for i, who := range []string{"V1", "V2", "V1", "V1", "V1"} {
		inv := &store.Invoice{Vendor: who, Dialect: "openapi", Created: t0.Add(time.Duration(i) * time.Minute),
			Fields: map[string]string{"pos_id": fmt.Sprintf("POS%d", i), "reference_no": ""}, PaymentsSeen: int64(i), PaymentsCounted: 1}
		if err := db.PutInvoice(inv, "OA-"); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.PutInvoice(&store.Invoice{Vendor: "V1", Dialect: "coinremitter", Created: t0}, "LTC"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		offset, limit int
		want          []string
	}{
		{0, 10, []string{"OA-1", "OA-3", "OA-4", "OA-5"}},
		{1, 2, []string{"OA-3", "OA-4"}},
		{3, 2, []string{"OA-5"}},
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
	got, _ := db.Invoice("OA-4")
	if got.Fields["pos_id"] != "POS3" || len(got.Fields) != 2 || got.PaymentsSeen != 3 || got.PaymentsCounted != 1 {
		t.Errorf("fields %v, payments %d/%d", got.Fields, got.PaymentsSeen, got.PaymentsCounted)
	}
	if cr, _ := db.InvoicesOf("V1", "coinremitter", 0, 10); len(cr) != 1 || cr[0].ID != "LTC6" {
		t.Errorf("the other dialect: %v", cr)
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
