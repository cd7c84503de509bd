package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/relay/relaytest"
)

// pluginForm is the body LitePay's WooCommerce plugin (v0.2) posts to /p/
// for order 123 (WordPress's http_build_query of its payload): invoice
// "<order>-<5 hex>", the email urlencoded before the form is built, the
// URLs not; the callback URL carries the vendor's secret as it is.
func pluginForm(vendor, secret, price, currency string) string {
	return "vendor=" + vendor + "&secret=" + secret + "&invoice=123-af1a4&price=" + price + "&currency=" + currency +
		"&email=buyer%252Bx%2540example.com&returnUrl=https%3A%2F%2Fshop.example%2Fcheckout%2Forder-received%2F123%2F%3Fkey%3Dwc_order_abc" +
		"&callbackUrl=https%3A%2F%2Fshop.example%2F%3Fwc-api%3Dlitepay_callback%26secretid%3D" + secret + "%26orderid%3D123"
}

// TestLitePayPluginFields: /p/ as LitePay's WooCommerce plugin posts it
// and reads it (json_decode of the body, the HTTP status not looked at):
// status "success" and url, or status "error" and the message it writes
// in its order note. The invoice keeps the plugin's callback URL as it
// was written, and the buyer's email decoded. A total written with more
// decimals than its currency has, all zeros, is that amount.
func TestLitePayPluginFields(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})
	v := m.creds
	post := func(body string) (int, struct{ Status, URL, Message string }) {
		t.Helper()
		resp, out := m.call(t, http.MethodPost, "/p/", strings.NewReader(body), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		var r struct{ Status, URL, Message string }
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("not JSON: %d %s", resp.StatusCode, out)
		}
		return resp.StatusCode, r
	}

	tests := []struct {
		name, price, currency string
		due                   ferry.Amount // litoshis; 0: refused
		msg                   string
	}{
		{"USD at two decimals", "10.00", "USD", 12_500_000, ""},
		{"USD at three decimals", "10.000", "USD", 12_500_000, ""},
		{"a float sum (tax added)", "12.6", "USD", 15_750_000, ""},
		{"LTC at eight decimals", "0.12500000", "LTC", 12_500_000, ""},
		{"a cent's fraction", "10.001", "USD", 0, "ERROR: Please double check the information you submitted"},
		{"HUF, which the plugin offers", "1000", "HUF", 0, "unknown currency \"HUF\""},
		{"no price", "", "USD", 0, "You have missing fields: price"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := strings.Replace(pluginForm(v.Vendor.ID, v.Secret, tt.price, tt.currency), "123-af1a4", "123-af1a"+string(rune('0'+i)), 1)
			_, r := post(body)
			if tt.due == 0 {
				if r.Status != "error" || !strings.Contains(r.Message, tt.msg) {
					t.Errorf("%+v, want status error and %q", r, tt.msg)
				}
				return
			}
			if r.Status != "success" || !strings.HasPrefix(r.URL, m.srv.URL+"/merch/inv?id=LTPP-") {
				t.Fatalf("%+v", r)
			}
			inv, err := m.inv.Get(context.Background(), pageID(t, r.URL))
			if err != nil {
				t.Fatal(err)
			}
			if inv.Coins[0].Due != tt.due || inv.Number != "123-af1a"+string(rune('0'+i)) || inv.Email != "buyer+x@example.com" ||
				inv.CallbackURL != "https://shop.example/?wc-api=litepay_callback&secretid="+v.Secret+"&orderid=123" ||
				inv.ReturnURL != "https://shop.example/checkout/order-received/123/?key=wc_order_abc" {
				t.Errorf("invoice %+v, due %d", inv.Invoice, inv.Coins[0].Due)
			}
		})
	}

	// A wrong secret: an error the plugin writes in the order's note.
	if _, r := post(pluginForm(v.Vendor.ID, "0123456789abcdef0123456789abcdef", "10.00", "USD")); r.Status != "error" ||
		!strings.Contains(r.Message, "unknown vendor or wrong credentials") {
		t.Errorf("wrong secret: %+v", r)
	}
}
