package invoice_test

import (
	"errors"
	"testing"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/relay/relaytest"
	"github.com/ferry-relay/ferry/store"
	"github.com/ferry-relay/ferry/store/storetest"
)

// newVendors returns vendors over a fresh store, as ferry vendor manages
// them when no daemon runs, and one vendor's credentials.
func newVendors(t *testing.T) (*invoice.Vendors, *invoice.Credentials) {
	t.Helper()
	vs := &invoice.Vendors{Store: storetest.Open(t), Destination: invoice.PayoutParser(chain.Regtest), Clock: relaytest.Clock(), Log: zerolog.Nop()}
	c, err := vs.Add(t.Context(), invoice.NewVendor{Name: "Coffee Shop", Email: "owner@shop.example", Payout: map[string]string{"ltc": payout}})
	if err != nil {
		t.Fatal(err)
	}
	return vs, c
}

// TestAPIKeyScopes: the key a vendor is added with may do all; a key of
// scope create may not, and says so; a vendor has at most MaxAPIKeys
// keys; a key revoked stops working, the others go on.
func TestAPIKeyScopes(t *testing.T) {
	vs, c := newVendors(t)
	ctx := t.Context()
	p, err := vs.ByAPIKey(ctx, c.APIKey)
	if err != nil || p.Vendor.ID != c.Vendor.ID || p.Key.Scope != store.ScopeAll || p.Key.ID != c.KeyID || p.RequireAll() != nil {
		t.Fatalf("vendor add's key: %+v, %v", p, err)
	}
	k, err := vs.AddAPIKey(ctx, c.Vendor.ID, store.ScopeCreate)
	if err != nil {
		t.Fatal(err)
	}
	p, err = vs.ByAPIKey(ctx, k.Key)
	if err != nil || p.Key.Scope != store.ScopeCreate {
		t.Fatalf("a key of scope create: %+v, %v", p, err)
	}
	err = p.RequireAll()
	if kind, msg := ferry.Explain(err); !errors.Is(err, invoice.ErrScope) || kind != ferry.KindForbidden ||
		msg != "this API key may only create and read payments; use a key of scope all" {
		t.Errorf("a key of scope create moving money: %v", err)
	}
	if _, err := vs.AddAPIKey(ctx, c.Vendor.ID, "admin"); err == nil {
		t.Error("a key of scope admin")
	}
	if _, err := vs.AddAPIKey(ctx, "NOBODY", store.ScopeAll); err == nil {
		t.Error("a key for nobody")
	}
	for range invoice.MaxAPIKeys - 2 {
		if _, err := vs.AddAPIKey(ctx, c.Vendor.ID, store.ScopeCreate); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := vs.AddAPIKey(ctx, c.Vendor.ID, store.ScopeCreate); kindOf(err) != ferry.KindConflict {
		t.Errorf("a key past the most: %v", err)
	}
	if err := vs.RevokeAPIKey(ctx, c.Vendor.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := vs.ByAPIKey(ctx, k.Key); !errors.Is(err, invoice.ErrBadCredentials) {
		t.Errorf("a key revoked: %v", err)
	}
	if _, err := vs.ByAPIKey(ctx, c.APIKey); err != nil {
		t.Errorf("another key after a revoke: %v", err)
	}
	if ks, _ := vs.APIKeys(ctx, c.Vendor.ID); len(ks) != invoice.MaxAPIKeys-1 || ks[0].ID != c.KeyID {
		t.Errorf("%d keys, the first %+v", len(ks), ks[0])
	}
}
