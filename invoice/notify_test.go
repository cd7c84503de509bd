package invoice_test

import (
	"context"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/notify"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/relay/relaytest"
	"github.com/ferry-relay/ferry/webhook"
)

// TestCallbackSignedWithVendorKey (review 18, item 1): an invoice callback
// is signed with its vendor's webhook secret, so that it verifies with that
// vendor's key only: not with another vendor's, nor with the relay's
// callback key, which signs the deposit callbacks anyone can have sent to
// any URL. A vendor without a secret (added before secrets were) gets one,
// kept, that signs its callbacks.
func TestCallbackSignedWithVendorKey(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	other, err := f.inv.AddVendor(ctx, invoice.NewVendor{Name: "Tea Shop", Email: "owner@tea.example", Payout: map[string]string{"ltc": payout}})
	if err != nil {
		t.Fatal(err)
	}
	// An old vendor: no webhook secret.
	old, err := f.inv.AddVendor(ctx, invoice.NewVendor{Name: "Old Shop", Email: "owner@old.example", Payout: map[string]string{"ltc": payout}})
	if err != nil {
		t.Fatal(err)
	}
	old.Vendor.WebhookSecret = ""
	if err := f.env.Store.UpdateVendor(old.Vendor); err != nil {
		t.Fatal(err)
	}
	oldVendor, err := f.env.Store.Vendor(old.Vendor.ID)
	if err != nil {
		t.Fatal(err)
	}

	mine := f.create(t, "22")
	theirs, err := f.inv.Create(ctx, invoice.Request{Vendor: oldVendor, Number: "23", Amount: "10", Currency: "USD",
		CallbackURL: "https://old.example/cb", Prefix: "LTPP-"})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- f.inv.Run(runCtx) }()
	defer func() { cancel(); <-done }()
	f.pay(t, mine, 12_500_000)
	f.pay(t, theirs, 12_500_000)
	relaytest.WaitFor(t, "both callbacks queued", func() bool {
		_, e1 := f.env.Store.Callback("inv-ltc", []byte(mine.ID+"/paid"))
		_, e2 := f.env.Store.Callback("inv-ltc", []byte(theirs.ID+"/paid"))
		return e1 == nil && e2 == nil
	})

	q := f.inv.Queues()[0] // inv-ltc
	items, _, err := q.Due(ctx, nil, 10, func(string) (int, []byte) { return 10, nil })
	if err != nil || len(items) != 2 {
		t.Fatalf("%d callbacks due, want 2: %v", len(items), err)
	}
	signed := map[string]*notify.Request{}
	for _, it := range items {
		req, err := q.Build(ctx, it)
		if err != nil {
			t.Fatal(err)
		}
		signed[req.URL.Host] = req
	}

	key := func(secret string) []byte {
		t.Helper()
		k, err := webhook.ParseSecret(secret)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	stored, err := f.env.Store.Vendor(old.Vendor.ID)
	if err != nil || stored.WebhookSecret == "" {
		t.Fatalf("the old vendor was given no webhook secret: %v", err)
	}
	creds, err := f.env.Store.Vendor(f.vendor.ID)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		host string
		key  []byte
		want bool
	}{
		{"its vendor's key", "shop.example", key(creds.WebhookSecret), true},
		{"another vendor's key", "shop.example", key(other.WebhookSecret), false},
		{"the relay's callback key", "shop.example", []byte("test key"), false},
		{"an old vendor's new key", "old.example", key(stored.WebhookSecret), true},
		{"the first vendor's key for the old one's", "old.example", key(creds.WebhookSecret), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := signed[tt.host]
			if req == nil {
				t.Fatalf("no callback to %s", tt.host)
			}
			if got := verifies(t, req, tt.key); got != tt.want {
				t.Errorf("verifies: %v, want %v", got, tt.want)
			}
		})
	}
	if c, _ := f.env.Store.Callback("inv-ltc", []byte(mine.ID+"/paid")); c.State != ferry.DeliveryPending {
		t.Errorf("callback state %v", c.State)
	}
}

// signature is the X-Ferry-Signature header.
var signature = regexp.MustCompile(`^t=(\d+),v1=([0-9a-f]{64})$`)

// verifies checks req's X-Ferry-Signature with key, as README's PHP does.
func verifies(t *testing.T, req *notify.Request, key []byte) bool {
	t.Helper()
	m := signature.FindStringSubmatch(req.Header.Get(relay.SignatureHeader))
	if m == nil {
		t.Fatalf("signature header %q", req.Header.Get(relay.SignatureHeader))
	}
	ts, _ := strconv.ParseInt(m[1], 10, 64)
	return relay.Sign(key, time.Unix(ts, 0), req.URL.String()) == "t="+m[1]+",v1="+m[2]
}

// TestCallbackDestination: only a paid (or overpaid) invoice's callback
// names destination_address, the vendor's payout address: LitePay's
// WooCommerce plugin marks its order paid on any callback with value,
// input_address, destination_address, transaction_hash and numeric
// confirmations, so an underpaid or unpaid invoice's callback must lack
// one of them.
func TestCallbackDestination(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	want := map[string]*invoice.View{"paid": f.create(t, "1-a1b2c"), "overpaid": f.create(t, "2-a1b2c"),
		"underpaid": f.create(t, "3-a1b2c"), "expired": f.create(t, "4-a1b2c")}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- f.inv.Run(runCtx) }()
	defer func() { cancel(); <-done }()
	f.pay(t, want["paid"], 12_500_000)
	f.pay(t, want["overpaid"], 20_000_000)
	f.pay(t, want["underpaid"], 5_000_000)
	f.clk.Advance(31 * 24 * time.Hour)
	relaytest.WaitFor(t, "the four callbacks queued", func() bool {
		for status, v := range want {
			if _, err := f.env.Store.Callback("inv-ltc", []byte(v.ID+"/"+status)); err != nil {
				return false
			}
		}
		return true
	})

	q := f.inv.Queues()[0] // inv-ltc
	items, _, err := q.Due(ctx, nil, 10, func(string) (int, []byte) { return 10, nil })
	if err != nil || len(items) != 4 {
		t.Fatalf("%d callbacks due, want 4: %v", len(items), err)
	}
	for _, it := range items {
		req, err := q.Build(ctx, it)
		if err != nil {
			t.Fatal(err)
		}
		get := req.URL.Query()
		status := get.Get("status")
		t.Run(status, func(t *testing.T) {
			paid := status == "paid" || status == "overpaid"
			if got := get.Get("destination_address"); paid && got != payout || !paid && get.Has("destination_address") {
				t.Errorf("destination_address %q in %s", got, req.URL.RawQuery)
			}
			// The plugin's own test of a callback (class-wc-gateway-litepay.php, callback()).
			_, err := strconv.ParseFloat(get.Get("value"), 64)
			_, err2 := strconv.ParseFloat(get.Get("confirmations"), 64)
			accepts := get.Has("value") && err == nil && get.Has("input_address") && get.Has("destination_address") &&
				get.Has("transaction_hash") && get.Has("confirmations") && err2 == nil
			if accepts != paid {
				t.Errorf("the plugin would accept it: %v, want %v: %s", accepts, paid, req.URL.RawQuery)
			}
		})
	}
}
