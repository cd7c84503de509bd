package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/relay/relaytest"
	"github.com/ferry-relay/ferry/store"
)

// The bodies Payscrypt's WooCommerce plugin sends (php 8.2's json_encode
// of its arguments), for order 123 of 0.12345678 (in LTC here: this
// server runs Litecoin only; the plugin's BTC is TestPayscryptPlugin's in
// cmd/ferry).
const (
	pluginCreate = `{"merchant_order_id":"123","merchant_name":"","description":"1 x Mug, 2 x Caf\u00e9","asset_name":"LTC",` +
		`"callback_url":"https:\/\/shop.example\/checkout\/order-received\/123\/?key=wc_order_abc","pg_wallet_id":"","target_value":"12345678"}`
	pluginInvoice = `{"merchant_invoice_id":"127","wallet_id":"","redirect_url":"https:\/\/shop.example\/checkout\/order-received\/127\/?key=wc_order_abc",` +
		`"description":"1 x Mug","asset":"LTC","price":"12345678"}`
)

// TestPayscryptPluginFields: every field Payscrypt's WooCommerce plugin
// reads, as it reads it. 1a51a4a: create_order's order.code and
// order.redirect_url, then, on a webhook, get_public_order's order.status
// for the id the webhook names; 2dfd9d8: invoice.code and
// invoice.payment_url, then invoice.status from GET
// /payment/v1/invoice//<id>, its double slash answered, not redirected.
// The checks take the private id only: the page's id, which the customer
// sees, is not found there.
func TestPayscryptPluginFields(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})
	key := map[string]string{"apikey": m.creds.APIKey}
	field := func(body, top, name string) string {
		t.Helper()
		var r map[string]map[string]any
		if err := json.Unmarshal([]byte(body), &r); err != nil || r[top] == nil {
			t.Fatalf("no %s in %s", top, body)
		}
		s, _ := r[top][name].(string)
		return s
	}

	// 1a51a4a.
	resp, body := m.postJSON(t, "/apis/pg/create_order", pluginCreate, key)
	if resp.StatusCode != 200 {
		t.Fatalf("create_order: %d %s", resp.StatusCode, body)
	}
	code, id := field(body, "order", "code"), field(body, "order", "id")
	if !store.IsNewInvoiceID(code, "") || !strings.HasPrefix(id, code+"-") || !store.IsNewInvoiceID(strings.TrimPrefix(id, code+"-"), "") {
		t.Fatalf("code %q, id %q: want the page's id, and it with a check", code, id)
	}
	for k, want := range map[string]string{"redirect_url": m.srv.URL + "/merch/inv?id=" + code, "target_value": "12345678",
		"merchant_order_id": "123", "description": "1 x Mug, 2 x Café", "callback_url": "https://shop.example/checkout/order-received/123/?key=wc_order_abc"} {
		if got := field(body, "order", k); got != want {
			t.Errorf("order.%s = %q, want %q", k, got, want)
		}
	}
	resp, body = m.postJSON(t, "/apis/pg/get_public_order", `{"id":"`+id+`","with_payments":false}`, nil)
	if resp.StatusCode != 200 || field(body, "order", "status") != "PENDING" || field(body, "order", "id") != id ||
		strings.Contains(body, "merchant_order_id") {
		t.Errorf("get_public_order: %d %s", resp.StatusCode, body)
	}
	if _, body := m.get(t, "/v1/public/orders/"+code, nil); field(body, "order", "id") != code || strings.Contains(body, id) {
		t.Errorf("the browser's public order tells the private id: %s", body)
	}

	// 2dfd9d8.
	resp, body = m.postJSON(t, "/payment/v1/invoice", pluginInvoice, key)
	if resp.StatusCode != 200 {
		t.Fatalf("invoice: %d %s", resp.StatusCode, body)
	}
	code2, id2 := field(body, "invoice", "code"), field(body, "invoice", "id")
	for k, want := range map[string]string{"payment_url": m.srv.URL + "/merch/inv?id=" + code2, "price": "12345678", "asset": "LTC",
		"merchant_invoice_id": "127", "redirect_url": "https://shop.example/checkout/order-received/127/?key=wc_order_abc", "status": "PENDING"} {
		if got := field(body, "invoice", k); got != want {
			t.Errorf("invoice.%s = %q, want %q", k, got, want)
		}
	}
	resp, body = m.get(t, "/payment/v1/invoice//"+id2, nil)
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/payment/v1/invoice//"+id2 || field(body, "invoice", "status") != "PENDING" {
		t.Errorf("GET /payment/v1/invoice//<id>: %d at %s: %s", resp.StatusCode, resp.Request.URL.Path, body)
	}

	// What each check answers 404, which the plugin takes as "no status":
	// the page's id, a wrong check, another order's check, an order made
	// on /v1/orders.
	resp, body = m.postJSON(t, "/v1/orders", strings.Replace(pluginCreate, `"123"`, `"124"`, 1), key)
	plain := field(body, "order", "id")
	if resp.StatusCode != 200 || plain != field(body, "order", "code") {
		t.Fatalf("/v1/orders with the plugin's body: %d %s", resp.StatusCode, body)
	}
	check := strings.TrimPrefix(id, code+"-")
	for _, bad := range []string{code, code2, code + "-" + strings.Repeat("A", 24), code2 + "-" + check, plain, id + "x", ""} {
		if resp, body := m.postJSON(t, "/apis/pg/get_public_order", `{"id":"`+bad+`"}`, nil); resp.StatusCode != 404 {
			t.Errorf("get_public_order %q: %d %s", bad, resp.StatusCode, body)
		}
		if resp, body := m.get(t, "/payment/v1/invoice//"+bad, nil); resp.StatusCode != 404 {
			t.Errorf("GET invoice %q: %d %s", bad, resp.StatusCode, body)
		}
	}
}

// TestPayscryptPluginRefusals: every refusal the plugin turns into a
// failed checkout (any status but 200) says what is wrong, in
// grpc-gateway's form, and makes nothing.
func TestPayscryptPluginRefusals(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})
	key := map[string]string{"apikey": m.creds.APIKey}
	tests := []struct {
		name, path, body string
		header           map[string]string
		status           int
		msg              string
	}{
		{"no key", "/apis/pg/create_order", pluginCreate, nil, 401, "apikey header is required"},
		{"coins, not base units", "/apis/pg/create_order", strings.Replace(pluginCreate, `"12345678"`, `"0.12345678"`, 1), key, 400,
			"target_value is in the asset's base units (satoshis), a string of digits with no decimal point"},
		{"ETH", "/apis/pg/create_order", strings.Replace(pluginCreate, `"LTC"`, `"ETH"`, 1), key, 400, "asset_name must be LTC or BTC"},
		{"another wallet", "/apis/pg/create_order", strings.Replace(pluginCreate, `"pg_wallet_id":""`, `"pg_wallet_id":"12345"`, 1), key, 403,
			"pg_wallet_id 12345 is not this API key's wallet"},
		{"below the minimum", "/apis/pg/create_order", strings.Replace(pluginCreate, `"12345678"`, `"1000"`, 1), key, 400, "smallest payment"},
		{"later: coins", "/payment/v1/invoice", strings.Replace(pluginInvoice, `"12345678"`, `"0.1"`, 1), key, 400,
			"price is in the asset's base units"},
		{"later: no asset", "/payment/v1/invoice", strings.Replace(pluginInvoice, `"LTC"`, `""`, 1), key, 400, "asset must be LTC or BTC"},
		{"later: a wallet not a number", "/payment/v1/invoice", strings.Replace(pluginInvoice, `"wallet_id":""`, `"wallet_id":"main"`, 1), key, 400,
			"wallet_id must be a number"},
		{"later: wrong key", "/payment/v1/invoice", pluginInvoice, map[string]string{"apikey": "nope"}, 401, "invalid API key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := m.postJSON(t, tt.path, tt.body, tt.header)
			var e struct{ Message string }
			if json.Unmarshal([]byte(body), &e) != nil || resp.StatusCode != tt.status || !strings.Contains(e.Message, tt.msg) {
				t.Errorf("%d %s, want %d and %q", resp.StatusCode, body, tt.status, tt.msg)
			}
			checkGRPCHeaders(t, resp, body)
		})
	}
	m.nothingMade(t)

	// The same shop order again: the same order; at another price, a
	// conflict (the plugin sends the order's total again on a retry).
	_, first := m.postJSON(t, "/apis/pg/create_order", pluginCreate, key)
	_, again := m.postJSON(t, "/apis/pg/create_order", pluginCreate, key)
	if first != again {
		t.Errorf("the same order twice: %s, then %s", first, again)
	}
	if resp, body := m.postJSON(t, "/apis/pg/create_order", strings.Replace(pluginCreate, `"12345678"`, `"22345678"`, 1), key); resp.StatusCode != 409 {
		t.Errorf("the same order at another price: %d %s", resp.StatusCode, body)
	}
}

// FuzzPayscryptPlugin sends any body to the plugin's later create, and as
// the id of both its checks: nothing fails inside, every answer carries
// its gRPC code in valid headers, an invoice made asks exactly its price,
// and a check finds an order by its private id only.
func FuzzPayscryptPlugin(f *testing.F) {
	m := newMerchantEnv(f, fuzzInvoices)
	key := map[string]string{"apikey": m.creds.APIKey}
	req, _ := http.NewRequest(http.MethodPost, m.srv.URL+"/apis/pg/create_order", strings.NewReader(pluginCreate))
	req.Header.Set("apikey", m.creds.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.Fatal(err)
	}
	var made struct{ Order struct{ ID, Code string } }
	err = json.NewDecoder(resp.Body).Decode(&made)
	resp.Body.Close()
	if err != nil || made.Order.ID == "" {
		f.Fatalf("create_order: %d %v", resp.StatusCode, err)
	}
	private := made.Order.ID
	for _, s := range []string{pluginInvoice, private, made.Order.Code, private + "-", strings.ToLower(private), `{"price":"1e8"}`,
		`{"asset":"LTC","price":"99999999999999999999"}`, `{"wallet_id":5}`, "%2F", "\"\x7f\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		resp, out := m.postJSON(t, "/payment/v1/invoice", s, key)
		if resp.StatusCode >= 500 || resp.Header.Get("grpc-code") == "" {
			t.Fatalf("create: %d %s", resp.StatusCode, out)
		}
		checkGRPCHeaders(t, resp, out)
		if resp.StatusCode == 200 {
			var in struct{ Price string }
			var r struct{ Invoice struct{ Price string } }
			json.Unmarshal([]byte(s), &in)
			json.Unmarshal([]byte(out), &r)
			if a, err := ferry.ParseBaseUnits(in.Price); err != nil || r.Invoice.Price != strconv.FormatInt(int64(a), 10) && !strings.Contains(s, "merchant_invoice_id") {
				t.Fatalf("asked %q, the invoice asks %q", in.Price, r.Invoice.Price)
			}
		}
		id, _ := json.Marshal(s)
		for _, c := range []func() (*http.Response, string){
			func() (*http.Response, string) {
				return m.postJSON(t, "/apis/pg/get_public_order", `{"id":`+string(id)+`}`, nil)
			},
			func() (*http.Response, string) { return m.get(t, "/payment/v1/invoice//"+url.PathEscape(s), nil) },
		} {
			resp, out := c()
			switch {
			case resp.StatusCode >= 500:
				t.Fatalf("check %q: %d %s", s, resp.StatusCode, out)
			case (resp.StatusCode == 200) != (s == private):
				t.Fatalf("check %q: %d %s", s, resp.StatusCode, out)
			}
		}
	})
}
