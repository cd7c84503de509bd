package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/store"
)

// TestVendorKeyCLI manages a vendor's API keys and secret with ferry
// vendor on a store no daemon holds (the daemon's socket serves the same
// handler): key add with each scope, flags before or after the vendor;
// key list shows no key; key revoke and key ID (one key of scope all in
// place of all) stop keys at once; secret replaces the secret at once.
func TestVendorKeyCLI(t *testing.T) {
	dir := t.TempDir()
	const payout = "rltc1qjmxnz78nmc8nq77wuxh25n2es7rzm5c23g5xdr"
	var a struct {
		vendorCreds
		KeyID string      `json:"key_id"`
		Scope store.Scope `json:"scope"`
	}
	if err := json.Unmarshal([]byte(vendorCLI(t, dir, 0, "add", "--name", "A", "--email", "a@shop.example", "--ltc-address", payout)), &a); err != nil {
		t.Fatal(err)
	}
	if a.Scope != store.ScopeAll || a.KeyID == "" {
		t.Errorf("vendor add's key: %q %q", a.Scope, a.KeyID)
	}
	id := a.Vendor.ID
	type key struct {
		ID    string      `json:"key_id"`
		Key   string      `json:"api_key"`
		Scope store.Scope `json:"scope"`
	}
	add := func(args ...string) key {
		t.Helper()
		var k key
		if err := json.Unmarshal([]byte(vendorCLI(t, dir, 0, append([]string{"key", "add"}, args...)...)), &k); err != nil || k.Key == "" || k.ID == "" {
			t.Fatalf("key add %q: %+v, %v", args, k, err)
		}
		return k
	}
	created, all, dflt := add(id, "--scope", "create"), add("--scope", "all", id), add(id)
	if created.Scope != store.ScopeCreate || all.Scope != store.ScopeAll || dflt.Scope != store.ScopeCreate {
		t.Errorf("scopes %q %q %q", created.Scope, all.Scope, dflt.Scope)
	}
	if msg := vendorCLI(t, dir, 1, "key", "add", id, "--scope", "admin"); !strings.Contains(msg, "scope must be all or create") {
		t.Errorf("key add --scope admin: %s", msg)
	}
	for _, bad := range [][]string{{"key"}, {"key", "add"}, {"key", "list"}, {"key", "revoke", id}, {"secret"}, {"key", "list", id, "--scope", "all"}} {
		vendorCLI(t, dir, 2, bad...)
	}

	out := vendorCLI(t, dir, 0, "key", "list", id)
	var l struct{ Keys []key }
	if err := json.Unmarshal([]byte(out), &l); err != nil || len(l.Keys) != 4 || l.Keys[1].ID != created.ID || l.Keys[1].Scope != store.ScopeCreate {
		t.Fatalf("key list: %s", out)
	}
	for _, k := range []string{a.APIKey, created.Key, all.Key, dflt.Key} {
		if strings.Contains(out, k) {
			t.Errorf("key list shows a key: %s", out)
		}
	}
	vendorCLI(t, dir, 0, "key", "revoke", id, created.ID)
	vendorCLI(t, dir, 1, "key", "revoke", id, created.ID)
	var sec struct{ Secret string }
	if err := json.Unmarshal([]byte(vendorCLI(t, dir, 0, "secret", id)), &sec); err != nil || len(sec.Secret) != 32 {
		t.Fatalf("secret: %+v, %v", sec, err)
	}

	// What the store holds now.
	check := func(db *store.DB, want map[string]store.Scope) {
		t.Helper()
		vs := &invoice.Vendors{Store: db, Destination: invoice.PayoutParser(chain.Regtest), Clock: clock.System{}, Log: zerolog.Nop()}
		for k, scope := range want {
			p, err := vs.ByAPIKey(t.Context(), k)
			if scope == "" && err == nil || scope != "" && (err != nil || p.Key.Scope != scope) {
				t.Errorf("key %.8s…: %+v, %v; want scope %q", k, p, err, scope)
			}
		}
		if _, err := vs.Authenticate(t.Context(), id, a.Secret); err == nil {
			t.Error("the old secret works")
		}
		if _, err := vs.Authenticate(t.Context(), id, sec.Secret); err != nil {
			t.Errorf("the new secret: %v", err)
		}
	}
	withStore := func(f func(db *store.DB)) {
		t.Helper()
		db, err := store.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		f(db)
	}
	withStore(func(db *store.DB) {
		check(db, map[string]store.Scope{a.APIKey: store.ScopeAll, created.Key: "", all.Key: store.ScopeAll, dflt.Key: store.ScopeCreate})
	})

	// key ID: one key of scope all in place of all of them.
	var repl key
	if err := json.Unmarshal([]byte(vendorCLI(t, dir, 0, "key", id)), &repl); err != nil || repl.Scope != store.ScopeAll {
		t.Fatalf("key: %+v, %v", repl, err)
	}
	withStore(func(db *store.DB) {
		check(db, map[string]store.Scope{repl.Key: store.ScopeAll, a.APIKey: "", all.Key: "", dflt.Key: ""})
	})
}
