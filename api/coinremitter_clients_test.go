package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/relay/relaytest"
)

// What Coinremitter's own clients send and read: the PHP SDK
// (coinremitter-php 0.1.5: urlencoded POSTs, the coin upper-cased,
// get_coin_rate at /api/get-coin-rate), the Node SDK (coinremitter-api
// 1.1.0: urlencoded POSTs with api_name and coin besides, the coin as
// given, getCoinRate a GET of /api/v3/get-coin-rate with a form labelled
// JSON; an answer is an error unless it is HTTP 200 with flag 1), and the
// WooCommerce plugin (1.1.2: JSON bodies, amounts as PHP floats, its coin
// list at GET /get-coins; its notify handler reads an invoice's fields).

// crSend is one request as a client sends it.
type crSend struct {
	method, path, contentType, body string
}

// crAsk sends r and returns the HTTP status and the answer decoded.
func (m *merchantEnv) crAsk(t *testing.T, r crSend) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(r.method, m.srv.URL+r.path, strings.NewReader(r.body))
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: %d, not JSON: %v", r.method, r.path, resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

// phpSDK is a request as coinremitter-php's curl_call sends it.
func (m *merchantEnv) phpSDK(path string, fields url.Values) crSend {
	f := url.Values{"api_key": {m.creds.APIKey}, "password": {m.creds.Secret}}
	for k, v := range fields {
		f[k] = v
	}
	return crSend{http.MethodPost, path, "application/x-www-form-urlencoded", f.Encode()}
}

// nodeSDK is a request as coinremitter-api's apiPostCall sends it to
// action, the coin as the shop gave it.
func (m *merchantEnv) nodeSDK(coin, action string, fields url.Values) crSend {
	f := url.Values{"api_name": {"/" + action}, "coin": {coin}, "api_key": {m.creds.APIKey}, "password": {m.creds.Secret}}
	for k, v := range fields {
		f[k] = v
	}
	body := strings.ReplaceAll(f.Encode(), "+", "%20") // querystring.stringify
	return crSend{http.MethodPost, "/api/v3/" + coin + "/" + action, "application/x-www-form-urlencoded", body}
}

// plugin is a request as the WooCommerce plugin's wp_remote_post sends
// it: a JSON body, values as PHP has them (floats as numbers).
func (m *merchantEnv) plugin(path string, fields map[string]any) crSend {
	f := map[string]any{"api_key": m.creds.APIKey, "password": m.creds.Secret}
	for k, v := range fields {
		f[k] = v
	}
	b, _ := json.Marshal(f)
	return crSend{http.MethodPost, path, "application/json", string(b)}
}

// crField reads a field of an answer by its path ("data.total_amount.LTC",
// "data.0.type").
func crField(v any, path string) (any, bool) {
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[k]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// crKind is the JSON kind of v: string, number, bool, object, array, null.
func crKind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return "null"
}

// TestCoinremitterClientFields sends each call as each client sends it
// and checks every field the client (or the code that calls it) reads,
// in the kind it reads it: the SDKs' success, HTTP 200 with flag 1; the
// WooCommerce plugin's wallet set-up, checkout, polling and notify
// handler; an invoice before and after it is paid.
func TestCoinremitterClientFields(t *testing.T) {
	m := newPayingEnv(t)
	ltc := func(action string) string { return "/api/v3/LTC/" + action }

	// An invoice of the PHP SDK, another of the Node SDK; an address of
	// the plugin's checkout.
	status, created := m.crAsk(t, m.phpSDK(ltc("create-invoice"), url.Values{"amount": {"15"}, "currency": {"USD"}, "name": {"my-invoice"},
		"expire_time": {"60"}, "notify_url": {"https://shop.example/notify"}, "description": {"My invoice description"},
		"custom_data1": {""}, "custom_data2": {""}}))
	if status != 200 || created["flag"] != 1.0 {
		t.Fatalf("the PHP SDK's create_invoice: %d %v", status, created)
	}
	phpInvoice := created["data"].(map[string]any)["invoice_id"].(string)
	_, created = m.crAsk(t, m.nodeSDK("ltc", "create-invoice", url.Values{"amount": {"10"}, "currency": {"EUR"}, "name": {"random name"},
		"expire_time": {"60"}, "notify_url": {"https://shop.example/notify"}, "suceess_url": {"https://shop.example/ok"},
		"fail_url": {"https://shop.example/fail"}, "description": {"Hello world"}, "custom_data1": {"order-7"}}))
	nodeInvoice := created["data"].(map[string]any)["invoice_id"].(string)
	_, na := m.crAsk(t, m.plugin(ltc("get-new-address"), nil))
	address := na["data"].(map[string]any)["address"].(string)

	// The Node SDK's invoice paid in full, in a block; a deposit to the
	// plugin's address.
	c, _ := chain.Litecoin(chain.Regtest)
	_, got := m.crAsk(t, m.nodeSDK("LTC", "get-invoice", url.Values{"invoice_id": {nodeInvoice}}))
	due, _ := crField(got, "data.total_amount.LTC")
	invAddr, _ := crField(got, "data.address")
	var outs []chain.Output
	for addr, sat := range map[string]int64{invAddr.(string): mustSat(t, due.(string)), address: 2_000_000} {
		d, err := c.ParseDestination(addr)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, chain.Output{Value: sat, Script: d.Script})
	}
	m.node.Mine(t, outs...)
	relaytest.WaitFor(t, "the invoice paid", func() bool {
		_, r := m.crAsk(t, m.nodeSDK("LTC", "get-invoice", url.Values{"invoice_id": {nodeInvoice}}))
		code, _ := crField(r, "data.status_code")
		return code == 1.0
	})

	invoiceReads := map[string]string{"data.invoice_id": "string", "data.coin": "string", "data.address": "string",
		"data.base_currency": "string", "data.conversion_rate": "object", "data.total_amount": "object", "data.description": "string",
		"data.status": "string", "data.status_code": "number", "data.url": "string", "data.expire_on": "string", "data.name": "string",
		"data.invoice_date": "string"}
	with := func(base map[string]string, more map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range more {
			out[k] = v
		}
		return out
	}
	for _, tt := range []struct {
		name  string
		send  crSend
		reads map[string]string
		want  map[string]any
	}{
		{"php get_coin_rate", m.phpSDK("/api/get-coin-rate", nil), map[string]string{"data.LTC.symbol": "string", "data.LTC.name": "string",
			"data.LTC.price": "number"}, map[string]any{"action": "get-coin-rate", "data.LTC.price": 80.0, "data.LTC.name": "Litecoin"}},
		{"node getCoinRate", crSend{http.MethodGet, "/api/v3/get-coin-rate", "application/json", "api_name=%2Fget-coin-rate&coin=LTC"},
			map[string]string{"data.LTC.price": "number"}, map[string]any{"action": "get-coin-rate", "data.LTC.symbol": "LTC"}},
		{"seed get-coin-rate", crSend{http.MethodPost, ltc("get-coin-rate"), "multipart/form-data; boundary=x", "--x--\r\n"},
			map[string]string{"data.LTC.price": "number"}, nil},
		{"woocommerce get-coins", crSend{http.MethodGet, "/get-coins", "application/json", ""}, map[string]string{"data.LTC.symbol": "string",
			"data.LTC.name": "string", "data.LTC.price": "number"}, map[string]any{"data.LTC.name": "Litecoin", "data.LTC.price": 80.0}},
		{"php validate_address", m.phpSDK(ltc("validate-address"), url.Values{"address": {dest}}), map[string]string{"data.valid": "bool"},
			map[string]any{"data.valid": true}},
		{"node validateAddress", m.nodeSDK("ltc", "validate-address", url.Values{"address": {"ltc1qk8hjy3lf245r7ppr2lfy8zxn8nwrmuasqrx6uc"}}),
			map[string]string{"data.valid": "bool"}, map[string]any{"data.valid": false}},
		{"php get_invoice, unpaid", m.phpSDK(ltc("get-invoice"), url.Values{"invoice_id": {phpInvoice}}),
			with(invoiceReads, map[string]string{"data.paid_amount": "array", "data.payment_history": "array"}),
			map[string]any{"data.status_code": 0.0, "data.status": "Pending", "data.total_amount.USD": "15", "data.total_amount.LTC": "0.1875"}},
		{"notify handler's get-invoice, paid", m.plugin(ltc("get-invoice"), map[string]any{"invoice_id": nodeInvoice}),
			with(invoiceReads, map[string]string{"data.paid_amount": "object", "data.paid_amount.LTC": "string", "data.payment_history": "array",
				"data.payment_history.0.txid": "string", "data.payment_history.0.amount": "number", "data.payment_history.0.date": "string",
				"data.payment_history.0.confirmation": "number", "data.payment_history.0.explorer_url": "string"}),
			map[string]any{"data.status_code": 1.0, "data.status": "Paid", "data.paid_amount.LTC": due, "data.base_currency": "EUR"}},
		{"woocommerce get-balance", m.plugin(ltc("get-balance"), nil), map[string]string{"data.balance": "number", "data.wallet_name": "string",
			"data.coin_name": "string"}, map[string]any{"data.balance": 0.0, "data.wallet_name": "Coffee Shop", "data.coin_name": "Litecoin"}},
		{"woocommerce get-fiat-to-crypto-rate", m.plugin(ltc("get-fiat-to-crypto-rate"), map[string]any{"fiat_symbol": "USD",
			"fiat_amount": json.Number("25.479999999999997")}), map[string]string{"data.crypto_amount": "string"},
			map[string]any{"data.crypto_amount": "0.31850000", "data.fiat_amount": "25.48"}},
		{"woocommerce get-new-address", m.plugin(ltc("get-new-address"), nil), map[string]string{"data.address": "string",
			"data.qr_code": "string"}, nil},
		{"woocommerce get-transaction-by-address", m.plugin(ltc("get-transaction-by-address"), map[string]any{"address": address}),
			map[string]string{"data.0.type": "string", "data.0.id": "string", "data.0.txid": "string", "data.0.amount": "string",
				"data.0.explorer_url": "string", "data.0.confirmations": "number"},
			map[string]any{"data.0.type": "receive", "data.0.amount": "0.02", "data.0.address": address}},
		{"woocommerce webhook's get-transaction", m.plugin(ltc("get-transaction"), map[string]any{"id": "{deposit}"}),
			map[string]string{"data.type": "string", "data.id": "string", "data.address": "string", "data.coin_short_name": "string",
				"data.txid": "string", "data.amount": "string", "data.confirmations": "number", "data.explorer_url": "string"},
			map[string]any{"data.type": "receive", "data.coin_short_name": "LTC", "data.address": address}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			send := tt.send
			if strings.Contains(send.body, "{deposit}") {
				_, txs := m.crAsk(t, m.plugin(ltc("get-transaction-by-address"), map[string]any{"address": address}))
				id, _ := crField(txs, "data.0.id")
				send.body = strings.ReplaceAll(send.body, "{deposit}", id.(string))
			}
			status, r := m.crAsk(t, send)
			if status != 200 || r["flag"] != 1.0 || crKind(r["msg"]) != "string" {
				t.Fatalf("%d %v: want 200 and flag 1", status, r)
			}
			for path, kind := range tt.reads {
				if v, ok := crField(r, path); !ok || crKind(v) != kind {
					t.Errorf("%s = %v (%s), want a %s", path, v, crKind(v), kind)
				}
			}
			for path, want := range tt.want {
				if v, _ := crField(r, path); v != want {
					t.Errorf("%s = %v, want %v", path, v, want)
				}
			}
		})
	}
}

// TestCoinremitterClientErrors: what the SDKs turn into errors is
// answered with HTTP 200 and Coinremitter's envelope, so that its message
// reaches the shop (the Node SDK shows only "<status> : <text>" of any
// other status, the PHP SDK only "error"); each changes nothing.
func TestCoinremitterClientErrors(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})
	for _, tt := range []struct {
		name string
		send crSend
		flag float64
		msg  string
	}{
		{"wrong password", m.nodeSDK("LTC", "create-invoice", url.Values{"password": {"nope"}, "amount": {"2"}}), 0, "Invalid API key or password."},
		{"no address", m.phpSDK("/api/v3/LTC/validate-address", nil), 2, "The address field is required."},
		{"unknown invoice", m.nodeSDK("LTC", "get-invoice", url.Values{"invoice_id": {"LTC99"}}), 0, "Invoice not found."},
		{"unknown action", m.nodeSDK("LTC", "get-wallets", nil), 0, `Unknown action "get-wallets".`},
		{"unknown coin", m.nodeSDK("doge", "get-invoice", url.Values{"invoice_id": {"LTC1"}}), 0, `Coin "doge" is not supported: this server relays LTC.`},
		{"withdraw", m.phpSDK("/api/v3/LTC/withdraw", url.Values{"to_address": {dest}, "amount": {"0.0001"}}), 0, ""},
		{"a fiat amount with a third decimal", m.plugin("/api/v3/LTC/get-fiat-to-crypto-rate", map[string]any{"fiat_symbol": "USD",
			"fiat_amount": json.Number("25.475")}), 2, "The fiat amount may have at most 2 decimals in USD."},
		{"an amount with a ninth decimal", m.nodeSDK("LTC", "create-invoice", url.Values{"amount": {"0.123456789"}}), 2,
			"The amount may have at most 8 decimals in LTC."},
		{"a float far from a whole yen", m.phpSDK("/api/v3/LTC/create-invoice", url.Values{"amount": {"1500.5"}, "currency": {"JPY"}}), 2,
			"The amount must be a whole number of JPY."},
		{"JS's exponent", m.nodeSDK("LTC", "create-invoice", url.Values{"amount": {"1e-7"}}), 2, "The amount must be a number."},
		{"a JSON array", m.plugin("/api/v3/LTC/get-invoice", map[string]any{"invoice_id": []int{1}}), 2, "The invoice id field must be a string."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, r := m.crAsk(t, tt.send)
			if status != 200 || r["flag"] != tt.flag || crKind(r["msg"]) != "string" || r["msg"] == "" || tt.msg != "" && r["msg"] != tt.msg {
				t.Errorf("%d %v, want 200, flag %v, %q", status, r, tt.flag, tt.msg)
			}
			if d, ok := r["data"].([]any); !ok || len(d) != 0 {
				t.Errorf("data %v, want []", r["data"])
			}
		})
	}
	m.nothingMade(t)
}

// TestCoinremitterFloatAmounts: an amount a client computed in binary
// floats is the amount of its currency's decimals it stands for, never
// another: 25.479999999999997 USD is 25.48, 0.30000000000000004 LTC is
// 0.3, 1500.0000000000002 JPY is 1500; the invoice asks exactly that.
func TestCoinremitterFloatAmounts(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})
	for _, tt := range []struct {
		amount, currency, total, coin string
	}{
		{"25.479999999999997", "USD", "25.48", "0.3185"},
		{"13.750000000000002", "EUR", "13.75", "0.18581082"},
		{"0.30000000000000004", "", "0.3", "0.3"},
		{"1500.0000000000002", "JPY", "1500", ""},
		{"10.10", "USD", "10.1", "0.12625"},
	} {
		_, r := m.cr(t, "LTC", "create-invoice", map[string]string{"amount": tt.amount, "currency": tt.currency})
		var inv struct {
			Total map[string]string `json:"total_amount"`
		}
		json.Unmarshal(r.Data, &inv)
		cur := tt.currency
		if cur == "" {
			cur = "LTC"
		}
		if tt.coin == "" {
			// No JPY price: the amount is read, then refused for want of a rate.
			if r.Flag != 0 || !strings.Contains(r.Msg, "JPY") {
				t.Errorf("%s %s: %+v", tt.amount, cur, r)
			}
			continue
		}
		if r.Flag != 1 || inv.Total[cur] != tt.total || inv.Total["LTC"] != tt.coin {
			t.Errorf("%s %s: %+v %v, want %s, %s LTC", tt.amount, cur, r, inv.Total, tt.total, tt.coin)
		}
	}
}

// mustSat is a coin amount ("0.13513514") in satoshis.
func mustSat(t *testing.T, s string) int64 {
	t.Helper()
	sat, err := ferry.ParseAmount(s)
	if err != nil {
		t.Fatal(err)
	}
	return int64(sat)
}
