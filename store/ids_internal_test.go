package store

import (
	"testing"
	"time"

	"github.com/syndtr/goleveldb/leveldb"
)

// TestInvoicesNumberedBefore: a store whose invoices were named by one
// global counter ("LTPP-1", "LTC2", "3") keeps finding them by those ids;
// new invoices get random ids, and a vendor's display numbers start after
// the old counter, so that "LTC2" still names the old invoice.
func TestInvoicesNumberedBefore(t *testing.T) {
	db, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	t0 := time.Unix(1700000000, 0).UTC()
	old := []*Invoice{
		{ID: "LTPP-1", Vendor: "V1", Number: "42", Created: t0, Coins: []InvoiceCoin{{Coin: "ltc", Index: 1}}},
		{ID: "LTC2", Vendor: "V1", Dialect: "coinremitter", Created: t0, Coins: []InvoiceCoin{{Coin: "ltc", Index: 2}}},
		{ID: "3", Vendor: "V2", Dialect: "payscrypt", Number: "A-1", Created: t0, Coins: []InvoiceCoin{{Coin: "ltc", Index: 3}}},
	}
	// As the counter wrote them.
	b := new(leveldb.Batch)
	for i, inv := range old {
		b.Put(invoiceKey(inv.ID), inv.encode())
		if inv.Number != "" {
			b.Put(invoiceNumberKey(inv.Vendor, inv.Dialect, inv.Number), []byte(inv.ID))
		}
		b.Put(invoiceAddrKey("ltc", inv.Coins[0].Index), []byte(inv.ID))
		b.Put(invoiceVendorKey(inv, uint64(i+1)), nil)
		b.Put(invoiceOpenKey(inv.ID), nil)
	}
	b.Put(invoiceSeqKey, u64(3))
	b.Put(invoiceOrderKey, u64(3))
	if err := db.ldb.Write(b, syncWrite); err != nil {
		t.Fatal(err)
	}

	cr := &Invoice{Vendor: "V1", Dialect: "coinremitter", Created: t0.Add(time.Minute)}
	if err := db.PutInvoice(cr, IDs{NumberPrefix: "LTC"}, 0); err != nil {
		t.Fatal(err)
	}
	if cr.Number != "LTC4" || !IsNewInvoiceID(cr.ID, "") {
		t.Errorf("a new Coinremitter invoice: id %q, number %q, want a random id and LTC4", cr.ID, cr.Number)
	}
	lp := &Invoice{Vendor: "V1", Number: "43"}
	if err := db.PutInvoice(lp, IDs{Prefix: "LTPP-"}, 0); err != nil || !IsNewInvoiceID(lp.ID, "LTPP-") {
		t.Errorf("a new LitePay invoice: %q, %v", lp.ID, err)
	}
	for _, inv := range old {
		got, err := db.Invoice(inv.ID)
		if err != nil || got.Vendor != inv.Vendor || got.Number != inv.Number {
			t.Errorf("old invoice %s: %+v, %v", inv.ID, got, err)
		}
		if got, err := db.InvoiceOfAddress("ltc", inv.Coins[0].Index); err != nil || got.ID != inv.ID {
			t.Errorf("old invoice %s by address: %v", inv.ID, err)
		}
	}
	if got, err := db.InvoiceByNumber("V2", "payscrypt", "A-1"); err != nil || got.ID != "3" {
		t.Errorf("old order by number: %v", err)
	}
	if _, err := db.InvoiceByNumber("V1", "coinremitter", "LTC2"); err == nil {
		t.Errorf("a new number names the old LTC2")
	}
	if list, _ := db.InvoicesOf("V1", "coinremitter", 0, 10); len(list) != 2 || list[0].ID != "LTC2" || list[1].ID != cr.ID {
		t.Errorf("V1's Coinremitter invoices: %v", list)
	}
	if next := (&Invoice{Vendor: "V1", Dialect: "coinremitter"}); db.PutInvoice(next, IDs{NumberPrefix: "LTC"}, 0) != nil || next.Number != "LTC5" {
		t.Errorf("the next number: %q", next.Number)
	}
}
