package invoice_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/store"
)

// TestInvoiceIDs: an invoice's id is its prefix and 120 random bits,
// never a counter's next number; the same vendor and number again is the
// same invoice; a display number is the vendor's own; Find names a
// vendor's invoice of a dialect by its number or its id, and no other.
func TestInvoiceIDs(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.create(t, "22")
	b := f.create(t, "23")
	for _, v := range []*invoice.View{a, b} {
		if !store.IsNewInvoiceID(v.ID, "LTPP-") {
			t.Errorf("invoice id %q: want LTPP- and 24 random characters", v.ID)
		}
	}
	if a.ID == b.ID {
		t.Fatalf("two invoices are both %s", a.ID)
	}
	for n := range 50 {
		if _, err := f.inv.Get(ctx, fmt.Sprintf("LTPP-%d", n)); kindOf(err) != ferry.KindNotFound {
			t.Fatalf("LTPP-%d: %v", n, err)
		}
	}
	again, err := f.inv.Create(ctx, invoice.Request{Vendor: f.vendor, Number: "22", Amount: "10", Currency: "USD", Prefix: "LTPP-"})
	if !errors.Is(err, invoice.ErrExists) || again.ID != a.ID {
		t.Errorf("number 22 again: %v, %v", again, err)
	}

	other, err := f.inv.AddVendor(ctx, invoice.NewVendor{Name: "Tea", Email: "tea@shop.example", Payout: map[string]string{"ltc": payout}})
	if err != nil {
		t.Fatal(err)
	}
	numbered := func(vendor *store.Vendor) *invoice.View {
		t.Helper()
		v, err := f.inv.Create(ctx, invoice.Request{Vendor: vendor, Dialect: "coinremitter", Amount: "0.05", Currency: "LTC", NumberPrefix: "LTC"})
		if err != nil {
			t.Fatal(err)
		}
		if !store.IsNewInvoiceID(v.ID, "") {
			t.Errorf("numbered invoice id %q", v.ID)
		}
		return v
	}
	c1, c2, o1 := numbered(f.vendor), numbered(f.vendor), numbered(other.Vendor)
	if c1.Number != "LTC1" || c2.Number != "LTC2" || o1.Number != "LTC1" {
		t.Errorf("display numbers %s, %s, and the other vendor's %s", c1.Number, c2.Number, o1.Number)
	}
	for _, tt := range []struct {
		name, vendor, dialect, ref, want string
	}{
		{"by number", f.vendor.ID, "coinremitter", "LTC2", c2.ID},
		{"by id", f.vendor.ID, "coinremitter", c1.ID, c1.ID},
		{"the other vendor's number", other.Vendor.ID, "coinremitter", "LTC1", o1.ID},
		{"the other vendor's id", other.Vendor.ID, "coinremitter", c1.ID, ""},
		{"another dialect", f.vendor.ID, "", "LTC1", ""},
		{"another dialect's id", f.vendor.ID, "coinremitter", a.ID, ""},
		{"a LitePay number", f.vendor.ID, "", "23", b.ID},
		{"nothing", f.vendor.ID, "coinremitter", "LTC3", ""},
	} {
		v, err := f.inv.Find(ctx, tt.vendor, tt.dialect, tt.ref)
		switch {
		case tt.want == "" && kindOf(err) != ferry.KindNotFound:
			t.Errorf("%s: %v, %v", tt.name, v, err)
		case tt.want != "" && (err != nil || v.ID != tt.want):
			t.Errorf("%s: %v, %v; want %s", tt.name, v, err, tt.want)
		}
	}
}
