package store_test

import (
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/store"
)

// TestUpdateVendor: a vendor's new API key replaces the old one at once;
// its webhook secret is kept.
func TestUpdateVendor(t *testing.T) {
	db := MustOpen(t)
	v := &store.Vendor{ID: "V1", Name: "Tea", Email: "t@shop.example", Payout: map[string]string{"ltc": "rltc1q"},
		Keys: []store.APIKey{{ID: "K1", Scope: store.ScopeAll, Hash: sha256.Sum256([]byte("old"))}}, WebhookSecret: "whsec_abc"}
	if err := db.PutVendor(v); err != nil {
		t.Fatal(err)
	}
	v.Keys = []store.APIKey{{ID: "K2", Scope: store.ScopeAll, Hash: sha256.Sum256([]byte("new"))}}
	if err := db.UpdateVendor(v); err != nil {
		t.Fatal(err)
	}
	if _, err := db.VendorByAPIKey(sha256.Sum256([]byte("old"))); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the old key still works: %v", err)
	}
	if got, err := db.VendorByAPIKey(sha256.Sum256([]byte("new"))); err != nil || got.WebhookSecret != "whsec_abc" {
		t.Errorf("by the new key: %+v, %v", got, err)
	}
	if err := db.UpdateVendor(&store.Vendor{ID: "nobody"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update of an unknown vendor: %v", err)
	}
}

// TestVendorKeys: a vendor's keys are indexed each with its scope; a key
// ChangeVendor removes stops working at once, the others go on; a change
// that fails writes nothing; removing the vendor removes every key.
func TestVendorKeys(t *testing.T) {
	db := MustOpen(t)
	t0 := time.Unix(1700000000, 0).UTC()
	h := func(s string) [32]byte { return sha256.Sum256([]byte(s)) }
	v := &store.Vendor{ID: "V1", Name: "Tea", Email: "t@shop.example", Payout: map[string]string{"ltc": "rltc1q"}, Created: t0,
		Keys: []store.APIKey{{ID: "K1", Scope: store.ScopeAll, Hash: h("a"), Created: t0}}}
	if err := db.PutVendor(v); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ChangeVendor("V1", func(v *store.Vendor) error {
		v.Keys = append(v.Keys, store.APIKey{ID: "K2", Scope: store.ScopeCreate, Hash: h("c"), Created: t0.Add(time.Hour)})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		key, id string
		scope   store.Scope
	}{{"a", "K1", store.ScopeAll}, {"c", "K2", store.ScopeCreate}} {
		got, err := db.VendorByAPIKey(h(tt.key))
		if err != nil || got.ID != "V1" {
			t.Fatalf("by key %s: %+v, %v", tt.key, got, err)
		}
		if k, ok := got.Key(h(tt.key)); !ok || k.ID != tt.id || k.Scope != tt.scope {
			t.Errorf("key %s: %+v, %v", tt.key, k, ok)
		}
	}
	if _, err := db.ChangeVendor("V1", func(v *store.Vendor) error {
		v.Keys = nil
		return errors.New("refused")
	}); err == nil || err.Error() != "refused" {
		t.Errorf("a failing change: %v", err)
	}
	if _, err := db.VendorByAPIKey(h("a")); err != nil {
		t.Errorf("a failing change revoked a key: %v", err)
	}
	got, err := db.ChangeVendor("V1", func(v *store.Vendor) error {
		v.Keys = v.Keys[1:]
		return nil
	})
	if err != nil || len(got.Keys) != 1 || got.Keys[0].ID != "K2" || !got.Keys[0].Created.Equal(t0.Add(time.Hour)) {
		t.Fatalf("revoke: %+v, %v", got, err)
	}
	if _, err := db.VendorByAPIKey(h("a")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a revoked key: %v", err)
	}
	if _, err := db.VendorByAPIKey(h("c")); err != nil {
		t.Errorf("the key kept: %v", err)
	}
	if _, err := db.ChangeVendor("nobody", func(*store.Vendor) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("change of an unknown vendor: %v", err)
	}
	if err := db.DeleteVendor("V1"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.VendorByAPIKey(h("c")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the key of a removed vendor: %v", err)
	}
}

func TestEndpoints(t *testing.T) {
	db := MustOpen(t)
	t0 := time.Unix(1700000000, 0).UTC()
	for _, ep := range []*store.Endpoint{{ID: "B", Vendor: "V1", URL: "https://a.example/wh", Created: t0}, {ID: "A", Vendor: "V1", URL: "https://b.example/wh"}, {ID: "A", Vendor: "V2", URL: "https://c.example/"}} {
		if err := db.PutEndpoint(ep); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.PutEndpoint(&store.Endpoint{ID: "A", Vendor: "V1"}); !errors.Is(err, store.ErrExists) {
		t.Errorf("an endpoint id taken: %v", err)
	}
	eps, err := db.Endpoints("V1")
	if err != nil || len(eps) != 2 || eps[0].ID != "A" || eps[1].URL != "https://a.example/wh" || !eps[1].Created.Equal(t0) {
		t.Fatalf("endpoints: %+v, %v", eps, err)
	}
	if err := db.DeleteEndpoint("V1", "A"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteEndpoint("V1", "A"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted twice: %v", err)
	}
	if eps, _ := db.Endpoints("V1"); len(eps) != 1 {
		t.Errorf("after delete: %d", len(eps))
	}
}

// TestMessages: a message and its delivery start together, once; the
// messages of an invoice are listed; NextDue finds the next retry past a
// blocked one.
func TestMessages(t *testing.T) {
	db := MustOpen(t)
	t0 := time.Unix(1700000000, 0).UTC()
	m := &store.Message{Queue: "wh", Ref: []byte("p/7/0000000001.00"), ID: "evt_7_1_0", Type: "order.confirming", Vendor: "V1",
		Invoice: "7", URL: "https://shop.example/wh", Body: []byte(`{"id":"7"}`), Created: t0}
	if ok, err := db.StartMessage(m, "shop.example", 100); !ok || err != nil {
		t.Fatalf("start: %v, %v", ok, err)
	}
	again := *m
	again.Body = []byte("other")
	if ok, err := db.StartMessage(&again, "shop.example", 100); ok || err != nil {
		t.Fatalf("started twice: %v, %v", ok, err)
	}
	got, err := db.Message("wh", m.Ref)
	if err != nil || string(got.Body) != `{"id":"7"}` || got.ID != m.ID || got.Type != m.Type || !got.Created.Equal(t0) || got.ContentType != "" {
		t.Fatalf("message: %+v, %v", got, err)
	}
	if c, err := db.Callback("wh", m.Ref); err != nil || c.State != ferry.DeliveryPending || c.Due != 100 || c.Host != "shop.example" {
		t.Fatalf("its delivery: %+v, %v", c, err)
	}
	second := &store.Message{Queue: "wh", Ref: []byte("p/7/0000000002.00"), ID: "evt_7_2_0", Invoice: "7", Created: t0,
		Body: []byte("invoice_id=7"), ContentType: "application/x-www-form-urlencoded"}
	if _, err := db.StartMessage(second, "shop.example", 1<<62); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Message("wh", second.Ref); err != nil || got.ContentType != second.ContentType {
		t.Fatalf("a form's type: %+v, %v", got, err)
	}
	third := &store.Message{Queue: "wh", Ref: []byte("eX/7/0000000002.00"), ID: "evt_7_2_0", Invoice: "7", Created: t0}
	if _, err := db.StartMessage(third, "other.example:8443", 150); err != nil {
		t.Fatal(err)
	}
	ms, err := db.InvoiceMessages("7")
	if err != nil || len(ms) != 3 || string(ms[0].Ref) != "eX/7/0000000002.00" {
		t.Fatalf("messages of 7: %d, %v", len(ms), err)
	}

	for _, tt := range []struct {
		from, until int64
		want        int64
		ok          bool
	}{
		{0, 1 << 62, 100, true},
		{101, 1 << 62, 150, true},
		{151, 1 << 62, 0, false},
		{0, 100, 0, false},
	} {
		due, ok, err := db.NextDue("wh", tt.from, tt.until)
		if err != nil || ok != tt.ok || ok && due != tt.want {
			t.Errorf("NextDue(%d, %d) = %d, %v, %v; want %d, %v", tt.from, tt.until, due, ok, err, tt.want, tt.ok)
		}
	}
	if err := db.Reschedule("wh", second.Ref, 120); err != nil {
		t.Fatal(err)
	}
	if due, ok, _ := db.NextDue("wh", 101, 1<<62); !ok || due != 120 {
		t.Errorf("after the blocked one was let go: %d, %v", due, ok)
	}
	cs, _, err := db.DueCallbacks("wh", 120, nil, 10, func(string) (int, []byte) { return 10, nil })
	if err != nil || len(cs) != 2 {
		t.Errorf("due at 120: %d, %v", len(cs), err)
	}
}
