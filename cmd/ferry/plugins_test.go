package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// wcOrder is a WooCommerce order as the plugin-style shops keep it
// (testdata/php/wordpress.php).
type wcOrder struct {
	Status  string
	History []string
	Notes   []string
	Meta    map[string]any
}

// wcOrders reads a shop's orders.
func wcOrders(t *testing.T, path string) map[string]wcOrder {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var o map[string]wcOrder
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatalf("orders %s: %v", b, err)
	}
	return o
}

// pluginShop is a shop running a plugin-style PHP client: its php -S
// server (webhooks or callbacks), its orders, its env.
type pluginShop struct {
	*merchant
	orders string
	env    []string
}

// startPluginShop starts script under php -S with env, its orders in a
// file of their own.
func startPluginShop(t *testing.T, script string, env ...string) *pluginShop {
	t.Helper()
	orders := filepath.Join(t.TempDir(), "orders.json")
	env = append(env, "ORDERS="+orders)
	return &pluginShop{merchant: startPHPServer(t, script, env...), orders: orders, env: env}
}

// checkout runs the plugin's process_payment for a new order, and returns
// what it printed.
func (s *pluginShop) checkout(t *testing.T, script string, env ...string) map[string]string {
	t.Helper()
	out := runPHPFile(t, script, append(slices.Clone(s.env), env...)...)
	var r map[string]string
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%s printed %q: %v", script, out, err)
	}
	return r
}

// TestPayscryptPlugin runs two shops on Payscrypt's WooCommerce plugin,
// one per version (1a51a4a: /apis/pg/…; 2dfd9d8: /payment/v1/invoice),
// PHP in the plugin's style, against ferry with Bitcoin (btcd), the only
// asset both take. Each checkout sends its BTC total in satoshis, keeps
// the order's code, sends the buyer to its page; paid, each shop's order
// is completed by the webhook its handler checks with the plugin's own
// call. A forged webhook naming a paid order by the id its customer saw,
// to either shop, changes nothing.
func TestPayscryptPlugin(t *testing.T) {
	t.Parallel()
	n := startNode(t, "bitcoin")
	cfg := merchantConfig(t, n)
	d := startFerry(t, cfg)
	addr := regexp.MustCompile(`"variants":\["([a-z0-9]+)"\]`)

	shops := map[string]*pluginShop{}
	paid := map[string]string{} // version: the paid order's code
	for _, version := range []string{"1a51a4a", "2dfd9d8"} {
		var v vendorCreds
		out := vendorCLI(t, cfg.DataDir, 0, "add", "--name", "Shop "+version, "--email", "owner@shop.example", "--btc-address", newAddress(t, n))
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatal(err)
		}
		s := startPluginShop(t, "payscrypt_plugin.php", "FERRY="+d.URL, "APIKEY="+v.APIKey, "VERSION="+version)
		vendorCLI(t, cfg.DataDir, 0, "webhook", "add", v.Vendor.ID, s.URL+"/?wc-api=WC_Gateway_Payscrypt")
		shops[version] = s

		// Order 101 of 0.00123456 BTC is paid; 102 is not.
		r := s.checkout(t, "payscrypt_plugin.php", "ORDER_ID=101", "TOTAL=0.00123456")
		if r["result"] != "success" || r["redirect"] != d.URL+"/merch/inv?id="+r["charge_id"] {
			t.Fatalf("%s checkout: %v", version, r)
		}
		if r := s.checkout(t, "payscrypt_plugin.php", "ORDER_ID=102", "TOTAL=0.002"); r["result"] != "success" {
			t.Fatalf("%s checkout: %v", version, r)
		}
		paid[version] = r["charge_id"]
		// The buyer's browser: the page's order, its address.
		m := addr.FindStringSubmatch(httpGet(t, d.URL+"/v1/public/orders/"+r["charge_id"]))
		if m == nil {
			t.Fatalf("%s: no address for %s", version, r["charge_id"])
		}
		pay(t, n, m[1], 123_456)
	}
	mine(t, n, 1)
	for version, s := range shops {
		waitForLong(t, version+"'s order completed", func() bool { return wcOrders(t, s.orders)["101"].Status == "processing" })
		o := wcOrders(t, s.orders)["101"]
		if o.Meta["_payscrypt_charge_id"] != paid[version] || o.Meta["_payscrypt_status"] != "SUCCESSFUL" {
			t.Errorf("%s order 101: %+v", version, o)
		}
		for _, h := range s.calls(t, "end", nil) {
			if !h.Accepted {
				t.Errorf("%s: a webhook's check failed: %+v", version, h)
			}
		}
	}

	// Forged webhooks: each paid order by its page's id, onto order 102
	// of each shop.
	for version, s := range shops {
		for _, code := range paid {
			resp, err := http.Post(s.URL+"/?wc-api=WC_Gateway_Payscrypt", "application/json",
				strings.NewReader(`{"id":"`+code+`","merchant_order_id":"102","status":"SUCCESSFUL"}`))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		if o := wcOrders(t, s.orders)["102"]; o.Status != "pending" || len(o.History) != 1 {
			t.Errorf("%s: a forged webhook changed order 102: %+v", version, o)
		}
	}
}

// TestLitePayPlugin runs a shop on LitePay's WooCommerce plugin (v0.2),
// PHP in its style, against ferry with Litecoin: three $10 orders, each
// posted to /p/ as the plugin posts it and put on hold. The one paid in
// full gets the one callback the plugin's handler accepts (value,
// input_address, destination_address, transaction_hash, confirmations,
// coin, after its own wc-api, secretid and orderid): *ok*, the order
// marked, no callback after. The one part paid and the one not paid end
// (an invoice expiry of a minute), and their callbacks are refused by the
// plugin's own test: neither order is marked paid.
func TestLitePayPlugin(t *testing.T) {
	t.Parallel()
	n := startNode(t, "litecoin")
	cfg := merchantConfig(t, n)
	cfg.FiatRates = "static:LTC/USD=80"
	cfg.InvoiceExpiry = time.Minute
	d := startFerry(t, cfg)
	var v vendorCreds
	payout := newAddress(t, n)
	if err := json.Unmarshal([]byte(vendorCLI(t, cfg.DataDir, 0, "add", "--name", "Coffee Shop", "--email", "owner@shop.example",
		"--ltc-address", payout)), &v); err != nil {
		t.Fatal(err)
	}
	shop := startPluginShop(t, "litepay_plugin.php", "VENDOR="+v.Vendor.ID, "SECRET="+v.Secret, "ORDER_STATUS=processing")
	shop.env = append(shop.env, "FERRY="+d.URL, "SITE="+shop.URL)
	addr := regexp.MustCompile(`litecoin:([a-z0-9]+)\?amount=`)

	inputs := map[string]string{}
	for _, order := range []string{"201", "202", "203"} { // part paid, not paid, paid
		r := shop.checkout(t, "litepay_plugin.php", "ORDER_ID="+order, "TOTAL=10.00", "CURRENCY=USD")
		if r["result"] != "success" || r["status"] != "success" {
			t.Fatalf("checkout %s: %v", order, r)
		}
		m := addr.FindStringSubmatch(httpGet(t, r["redirect"]))
		if m == nil {
			t.Fatalf("no address on %s's page", order)
		}
		inputs[order] = m[1]
	}
	op := pay(t, n, inputs["203"], 12_500_000)
	pay(t, n, inputs["201"], 5_000_000)
	mine(t, n, 1)
	waitForLong(t, "order 203's callback", func() bool { return len(shop.calls(t, "end", map[string]string{"orderid": "203"})) > 0 })
	cb := shop.calls(t, "end", map[string]string{"orderid": "203"})[0]
	if s := wcOrders(t, shop.orders)["203"].Status; !cb.Accepted || s != "processing" {
		t.Fatalf("order 203: %s after its callback %+v", s, cb)
	}
	for k, want := range map[string]string{"wc-api": "litepay_callback", "secretid": v.Secret, "value": "12500000",
		"input_address": inputs["203"], "destination_address": payout, "transaction_hash": op.Hash.String(), "coin": "ltc",
		"confirmations": "1", "status": "paid"} {
		if cb.Get[k] != want {
			t.Errorf("callback %s = %q, want %q", k, cb.Get[k], want)
		}
	}
	if !strings.HasPrefix(cb.URL, shop.URL+"/?wc-api=litepay_callback&secretid="+v.Secret+"&orderid=203&") {
		t.Errorf("callback URL %s does not keep the plugin's own", cb.URL)
	}

	// The other two end: their callbacks come, and are refused.
	waitForLong(t, "the underpaid and expired callbacks", func() bool {
		return len(shop.calls(t, "end", map[string]string{"orderid": "201", "status": "underpaid"})) > 0 &&
			len(shop.calls(t, "end", map[string]string{"orderid": "202", "status": "expired"})) > 0
	})
	mine(t, n, 2)
	waitScanned(t, n, d.URL)
	orders := wcOrders(t, shop.orders)
	for _, order := range []string{"201", "202"} {
		if o := orders[order]; o.Status != "on-hold" || len(o.History) != 2 {
			t.Errorf("order %s: %+v, want on hold, never marked", order, o)
		}
		for _, c := range shop.calls(t, "end", map[string]string{"orderid": order}) {
			if c.Accepted {
				t.Errorf("order %s: the plugin accepted %s", order, c.URL)
			}
		}
	}
	if calls := shop.calls(t, "end", map[string]string{"orderid": "203"}); len(calls) != 1 || !calls[0].Accepted {
		t.Errorf("order 203: %d callbacks, want one, accepted", len(calls))
	}
	if h := orders["203"].History; strings.Join(h, ",") != "pending,on-hold,processing" {
		t.Errorf("order 203 went %v", h)
	}
}
