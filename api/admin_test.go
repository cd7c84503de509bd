package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry/api"
	"github.com/ferry-relay/ferry/relay/relaytest"
	"github.com/ferry-relay/ferry/store"
)

// adminCall makes one call of the operator's API and returns the status
// and the body.
func adminCall(t *testing.T, admin *httptest.Server, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, admin.URL+path, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAdminKeys manages a vendor's API keys and secret through the
// operator's API: a key added has the scope asked (create if none) and
// is shown once; the list shows ids, scopes and times, never a key; a key
// revoked, or replaced by POST /key, stops working at once; a new secret
// replaces the old at once; bad requests are refused and change nothing.
func TestAdminKeys(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})
	admin := httptest.NewServer(api.AdminHandler(m.inv.Admin(), zerolog.Nop()))
	t.Cleanup(admin.Close)
	ctx := t.Context()
	id := m.creds.Vendor.ID
	base := "/vendors/" + id
	if m.creds.Scope != store.ScopeAll || m.creds.KeyID == "" {
		t.Errorf("vendor add's key: %q %q", m.creds.Scope, m.creds.KeyID)
	}
	scopeOf := func(key string) store.Scope {
		t.Helper()
		p, err := m.inv.VendorByAPIKey(ctx, key)
		if err != nil {
			return ""
		}
		if p.Vendor.ID != id {
			t.Fatalf("key of vendor %s", p.Vendor.ID)
		}
		return p.Key.Scope
	}
	type newKey struct {
		Vendor string      `json:"vendor"`
		ID     string      `json:"key_id"`
		Key    string      `json:"api_key"`
		Scope  store.Scope `json:"scope"`
	}
	add := func(body string) newKey {
		t.Helper()
		status, out := adminCall(t, admin, http.MethodPost, base+"/keys", body)
		var k newKey
		if err := json.Unmarshal([]byte(out), &k); status != 201 || err != nil || k.Vendor != id || len(k.Key) != 32 || len(k.ID) != 8 {
			t.Fatalf("add %s: %d %s", body, status, out)
		}
		return k
	}

	created, all, dflt := add(`{"scope":"create"}`), add(`{"scope":"all"}`), add("")
	for _, tt := range []struct {
		k    newKey
		want store.Scope
	}{{created, store.ScopeCreate}, {all, store.ScopeAll}, {dflt, store.ScopeCreate}} {
		if tt.k.Scope != tt.want || scopeOf(tt.k.Key) != tt.want {
			t.Errorf("key %s: scope %q, works as %q, want %q", tt.k.ID, tt.k.Scope, scopeOf(tt.k.Key), tt.want)
		}
	}
	if scopeOf(m.creds.APIKey) != store.ScopeAll {
		t.Error("vendor add's key stopped working")
	}

	// Refused: each changes nothing.
	for _, tt := range []struct {
		name, method, path, body string
		status                   int
		msg                      string
	}{
		{"an unknown scope", http.MethodPost, base + "/keys", `{"scope":"admin"}`, 400, "scope must be all or create"},
		{"an empty scope", http.MethodPost, base + "/keys", `{"scope":""}`, 400, "scope must be all or create"},
		{"another field", http.MethodPost, base + "/keys", `{"scope":"all","admin":true}`, 400, "unknown field"},
		{"two values", http.MethodPost, base + "/keys", `{"scope":"all"}{}`, 400, "one key"},
		{"not JSON", http.MethodPost, base + "/keys", `scope=all`, 400, "in JSON"},
		{"an unknown vendor", http.MethodPost, "/vendors/NOBODY/keys", `{"scope":"all"}`, 404, "no vendor NOBODY"},
		{"an unknown key", http.MethodDelete, base + "/keys/NOKEY", "", 404, "has no API key NOKEY"},
		{"the keys of nobody", http.MethodGet, "/vendors/NOBODY/keys", "", 404, "no vendor"},
		{"a secret for nobody", http.MethodPost, "/vendors/NOBODY/secret", "", 404, "no vendor"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, out := adminCall(t, admin, tt.method, tt.path, tt.body)
			var e struct{ Error string }
			if json.Unmarshal([]byte(out), &e) != nil || status != tt.status || !strings.Contains(e.Error, tt.msg) {
				t.Errorf("%d %s, want %d %q", status, out, tt.status, tt.msg)
			}
		})
	}

	// The list: ids, scopes and times, oldest first; no key, no hash.
	status, out := adminCall(t, admin, http.MethodGet, base+"/keys", "")
	var l struct {
		Vendor string
		Keys   []map[string]any
	}
	if err := json.Unmarshal([]byte(out), &l); status != 200 || err != nil || l.Vendor != id || len(l.Keys) != 4 {
		t.Fatalf("list: %d %s", status, out)
	}
	for i, want := range []newKey{{ID: m.creds.KeyID, Scope: store.ScopeAll}, created, all, dflt} {
		k := l.Keys[i]
		if k["key_id"] != want.ID || k["scope"] != string(want.Scope) || k["created"] == "" || len(k) != 3 {
			t.Errorf("key %d: %v, want %s %s", i, k, want.ID, want.Scope)
		}
	}
	for _, secret := range []string{m.creds.APIKey, created.Key, all.Key, dflt.Key} {
		if strings.Contains(out, secret) {
			t.Errorf("the list shows a key: %s", out)
		}
	}

	// Revoked: at once; the others go on.
	if status, out := adminCall(t, admin, http.MethodDelete, base+"/keys/"+created.ID, ""); status != 200 || !strings.Contains(out, `"revoked":"`+created.ID+`"`) {
		t.Errorf("revoke: %d %s", status, out)
	}
	if scopeOf(created.Key) != "" || scopeOf(all.Key) != store.ScopeAll {
		t.Error("revoke: the key revoked works, or another stopped")
	}
	if status, _ := adminCall(t, admin, http.MethodDelete, base+"/keys/"+created.ID, ""); status != 404 {
		t.Errorf("revoked twice: %d", status)
	}

	// A new secret: the old one stops at once.
	status, out = adminCall(t, admin, http.MethodPost, base+"/secret", "")
	var sec struct{ Vendor, Secret string }
	if err := json.Unmarshal([]byte(out), &sec); status != 200 || err != nil || sec.Vendor != id || len(sec.Secret) != 32 {
		t.Fatalf("secret: %d %s", status, out)
	}
	if _, err := m.inv.Authenticate(ctx, id, m.creds.Secret); err == nil {
		t.Error("the old secret still works")
	}
	if _, err := m.inv.Authenticate(ctx, id, sec.Secret); err != nil {
		t.Errorf("the new secret: %v", err)
	}

	// POST /key, as ferry vendor key ID: one key of scope all in place of
	// all of them.
	status, out = adminCall(t, admin, http.MethodPost, base+"/key", "")
	var repl struct {
		Key   string      `json:"api_key"`
		ID    string      `json:"key_id"`
		Scope store.Scope `json:"scope"`
	}
	if err := json.Unmarshal([]byte(out), &repl); status != 200 || err != nil || repl.Scope != store.ScopeAll || scopeOf(repl.Key) != store.ScopeAll {
		t.Fatalf("key: %d %s", status, out)
	}
	for _, old := range []string{m.creds.APIKey, all.Key, dflt.Key} {
		if scopeOf(old) != "" {
			t.Errorf("a key replaced still works")
		}
	}
	if ks, _ := m.inv.Admin().APIKeys(ctx, id); len(ks) != 1 || ks[0].ID != repl.ID {
		t.Errorf("keys after POST /key: %+v", ks)
	}
}

// FuzzAdminKey posts any body to the operator's POST /vendors/:id/keys:
// it never fails inside; it makes a key only from one JSON value (or an
// empty body), and the key it makes works at once with the scope the body
// asked for (create if none); anything else is a 400 with a reason.
func FuzzAdminKey(f *testing.F) {
	for _, s := range []string{
		`{"scope":"create"}`, `{"scope":"all"}`, `{}`, "", " ", `{"scope":null}`, `{"scope":"ALL"}`, `{"scope":""}`,
		`{"scope":"all"}}`, `{"scope":"all","x":1}`, `[]`, `null`, `"all"`, `{"scope":1}`, `{"scope":"all"} {}`, `{`,
	} {
		f.Add(s)
	}
	m := newMerchantEnv(f, relaytest.InvoiceOptions{})
	admin := httptest.NewServer(api.AdminHandler(m.inv.Admin(), zerolog.Nop()))
	f.Cleanup(admin.Close)
	id := m.creds.Vendor.ID
	f.Fuzz(func(t *testing.T, body string) {
		resp, err := http.Post(admin.URL+"/vendors/"+id+"/keys", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var k struct {
			ID    string      `json:"key_id"`
			Key   string      `json:"api_key"`
			Scope store.Scope `json:"scope"`
			Error string      `json:"error"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&k); err != nil {
			t.Fatalf("%d: %v", resp.StatusCode, err)
		}
		switch resp.StatusCode {
		case http.StatusCreated:
		case http.StatusBadRequest:
			if k.Error == "" {
				t.Fatal("400 without a reason")
			}
			return
		default:
			t.Fatalf("POST keys %q: %d %s", body, resp.StatusCode, k.Error)
		}
		var asked struct{ Scope *string }
		if strings.TrimSpace(body) != "" {
			if err := json.Unmarshal([]byte(body), &asked); err != nil {
				t.Fatalf("made a key from %q, which is not one JSON object: %v", body, err)
			}
		}
		want := store.ScopeCreate
		if asked.Scope != nil {
			want = store.Scope(*asked.Scope)
		}
		p, err := m.inv.VendorByAPIKey(t.Context(), k.Key)
		if err != nil || p.Vendor.ID != id || p.Key.Scope != want || k.Scope != want || p.Key.ID != k.ID {
			t.Fatalf("key from %q: %+v, works as %+v, %v; want scope %q", body, k, p, err, want)
		}
		if err := m.inv.Admin().RevokeAPIKey(t.Context(), id, k.ID); err != nil {
			t.Fatal(err)
		}
	})
}
