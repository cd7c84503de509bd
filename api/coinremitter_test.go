package api_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ferry-relay/ferry/api"
	"github.com/ferry-relay/ferry/relay/relaytest"
	"github.com/ferry-relay/ferry/store"
)

// crReply is Coinremitter's envelope, its data left raw.
type crReply struct {
	Flag   int             `json:"flag"`
	Msg    string          `json:"msg"`
	Action *string         `json:"action"`
	Data   json.RawMessage `json:"data"`
}

// cr posts a Coinremitter action with the vendor's credentials and
// fields (a field "" is left out), urlencoded, and returns the HTTP status
// and the envelope.
func (m *merchantEnv) cr(t *testing.T, coin, action string, fields map[string]string) (int, crReply) {
	t.Helper()
	f := url.Values{"api_key": {m.creds.APIKey}, "password": {m.creds.Secret}}
	for k, v := range fields {
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
	}
	resp, body := m.post(t, "/api/v3/"+coin+"/"+action, f)
	var r crReply
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("%s: %d %q: %v", action, resp.StatusCode, body, err)
	}
	return resp.StatusCode, r
}

// TestCoinremitterRefusals: bad credentials, missing fields, amounts with
// commas, unknown actions and coins are answered in Coinremitter's form
// (flag, HTTP status, message, data []) and change nothing.
func TestCoinremitterRefusals(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})
	for _, tt := range []struct {
		name, coin, action string
		fields             map[string]string
		status, flag       int
		msg                string
		noAction           bool
	}{
		{"wrong password", "LTC", "create-invoice", map[string]string{"password": "nope", "amount": "2"}, 200, 0, "Invalid API key or password.", true},
		{"wrong key", "LTC", "get-new-address", map[string]string{"api_key": "nope"}, 200, 0, "Invalid API key or password.", true},
		{"no key", "LTC", "validate-address", map[string]string{"api_key": "", "address": dest}, 200, 2, "The api key field is required.", false},
		{"no password", "LTC", "validate-address", map[string]string{"password": "", "address": dest}, 200, 2, "The password field is required.", false},
		{"no address", "LTC", "validate-address", nil, 200, 2, "The address field is required.", false},
		{"no amount", "LTC", "create-invoice", nil, 200, 2, "The amount field is required.", false},
		{"a comma", "LTC", "create-invoice", map[string]string{"amount": "1,000", "currency": "USD"}, 200, 2, "The amount must be a number.", false},
		{"an exponent", "LTC", "create-invoice", map[string]string{"amount": "1e3"}, 200, 2, "The amount must be a number.", false},
		{"a sign", "LTC", "create-invoice", map[string]string{"amount": "-2"}, 200, 2, "The amount must be a number.", false},
		{"currency", "LTC", "create-invoice", map[string]string{"amount": "2", "currency": "XYZ"}, 200, 2, "The selected currency is invalid.", false},
		{"expire time", "LTC", "create-invoice", map[string]string{"amount": "2", "expire_time": "ten"}, 200, 2, "The expire time must be an integer of at least 1.", false},
		{"expire time too long", "LTC", "create-invoice", map[string]string{"amount": "2", "expire_time": "43201"}, 200, 2, "The expire time may not be greater than 43200.", false},
		{"notify url", "LTC", "create-invoice", map[string]string{"amount": "2", "notify_url": "javascript:alert(1)"}, 200, 2, "The notify url format is invalid.", false},
		{"notify host", "LTC", "create-invoice", map[string]string{"amount": "2", "notify_url": "http://127.0.0.1/n"}, 200, 2, "", false},
		{"below the minimum", "LTC", "create-invoice", map[string]string{"amount": "0.001"}, 200, 2, "", false},
		{"no invoice id", "LTC", "get-invoice", nil, 200, 2, "The invoice id field is required.", false},
		{"unknown invoice", "LTC", "get-invoice", map[string]string{"invoice_id": "LTC99"}, 200, 0, "Invoice not found.", false},
		{"no id", "LTC", "get-transaction", nil, 200, 2, "The id field is required.", false},
		{"unknown transaction", "LTC", "get-transaction", map[string]string{"id": strings.Repeat("ab", 32) + ":0"}, 200, 0, "Transaction not found.", false},
		{"not a transaction id", "LTC", "get-transaction", map[string]string{"id": "5b7e6f7d5aa55854e5726ac2"}, 200, 0, "Transaction not found.", false},
		{"not the vendor's address", "LTC", "get-transaction-by-address", map[string]string{"address": dest}, 200, 0, "Address not found: it is not one of yours.", false},
		{"fiat symbol", "LTC", "get-fiat-to-crypto-rate", map[string]string{"fiat_amount": "1"}, 200, 2, "The fiat symbol field is required.", false},
		{"fiat amount", "LTC", "get-fiat-to-crypto-rate", map[string]string{"fiat_symbol": "USD", "fiat_amount": "1,5"}, 200, 2, "The fiat amount must be a number.", false},
		{"withdraw", "LTC", "withdraw", map[string]string{"to_address": dest, "amount": "2"}, 200, 0, "", false},
		{"accept: no invoice", "LTC", "accept-payment", map[string]string{"amount": "1"}, 200, 2, "The invoice id field is required.", false},
		{"unknown action", "LTC", "get-wallets", nil, 200, 0, `Unknown action "get-wallets".`, false},
		{"unknown coin", "DOGE", "get-new-address", nil, 200, 0, "", false},
		{"a coin not run", "BTC", "get-new-address", nil, 200, 0, "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, r := m.cr(t, tt.coin, tt.action, tt.fields)
			if status != tt.status || r.Flag != tt.flag || tt.msg != "" && r.Msg != tt.msg || r.Msg == "" || string(r.Data) != "[]" {
				t.Errorf("%d %+v %s, want %d flag %d %q", status, r, r.Data, tt.status, tt.flag, tt.msg)
			}
			if tt.noAction != (r.Action == nil) || r.Action != nil && *r.Action != tt.action {
				t.Errorf("action %v", r.Action)
			}
		})
	}
	m.nothingMade(t)
	if status, r := m.cr(t, "LTC", "withdraw", nil); !strings.Contains(r.Msg, "non-custodial") || status != 200 {
		t.Errorf("withdraw: %d %+v", status, r)
	}
}

// TestCoinremitterForms: the seed's curl posts multipart; a plugin posts
// JSON; a field twice or a nested JSON value is refused.
func TestCoinremitterForms(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})
	post := func(ct string, body []byte) crReply {
		t.Helper()
		resp, out := m.call(t, http.MethodPost, "/api/v3/LTC/validate-address", bytes.NewReader(body), map[string]string{"Content-Type": ct})
		var r crReply
		if err := json.Unmarshal([]byte(out), &r); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, out)
		}
		return r
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range map[string]string{"api_key": m.creds.APIKey, "password": m.creds.Secret, "address": dest} {
		mw.WriteField(k, v)
	}
	mw.Close()
	if r := post(mw.FormDataContentType(), buf.Bytes()); r.Flag != 1 || string(r.Data) != `{"valid":true}` || r.Msg != "Success !" {
		t.Errorf("multipart: %+v %s", r, r.Data)
	}
	js, _ := json.Marshal(map[string]any{"api_key": m.creds.APIKey, "password": m.creds.Secret, "address": "ltc1qk8hjy3lf245r7ppr2lfy8zxn8nwrmuasqrx6uc"})
	if r := post("application/json", js); r.Flag != 1 || string(r.Data) != `{"valid":false}` {
		t.Errorf("JSON, a mainnet address: %+v %s", r, r.Data)
	}
	if r := post("application/x-www-form-urlencoded", []byte("api_key=a&api_key=b")); r.Flag != 2 {
		t.Errorf("a field twice: %+v", r)
	}
	if r := post("application/json", []byte(`{"api_key":{"a":1}}`)); r.Flag != 2 {
		t.Errorf("nested JSON: %+v", r)
	}
	for _, body := range []string{`{"api_key":"a"}}`, `{"api_key":"a"}]`, `{"api_key":"a"}{}`} {
		if r := post("application/json", []byte(body)); r.Flag != 2 || r.Msg != "The body must be one JSON object." {
			t.Errorf("%s: %+v", body, r)
		}
	}
}

// TestCoinremitterRates: get-coin-rate needs no credentials; a fiat
// amount is quoted as an invoice would be.
func TestCoinremitterRates(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})
	resp, body := m.post(t, "/api/v3/LTC/get-coin-rate", url.Values{})
	if resp.StatusCode != 200 || body != `{"flag":1,"msg":"success","action":"get-coin-rate","data":{"LTC":{"symbol":"LTC","name":"Litecoin","price":80}}}`+"\n" {
		t.Errorf("get-coin-rate: %d %s", resp.StatusCode, body)
	}
	_, r := m.cr(t, "LTC", "get-fiat-to-crypto-rate", map[string]string{"fiat_symbol": "EUR", "fiat_amount": "37"})
	if r.Flag != 1 || string(r.Data) != `{"crypto_amount":"0.50000000","crypto_symbol":"LTC","crypto_currency":"Litecoin","fiat_amount":"37","fiat_symbol":"EUR"}` {
		t.Errorf("37 EUR at 74: %+v %s", r, r.Data)
	}
}

// TestCoinremitterInvoice creates an invoice as the seed's curl does and
// reads it back; its address was minted for the vendor.
func TestCoinremitterInvoice(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})
	_, r := m.cr(t, "LTC", "create-invoice", map[string]string{"amount": "2", "name": "random name", "currency": "EUR", "expire_time": "10",
		"notify_url": "http://shop.example/notify-url", "suceess_url": "http://shop.example/success-url", "fail_url": "http://shop.example/fail-url",
		"description": "Hello world", "custom_data1": "order 7", "custom_data2": "x"})
	var inv map[string]any
	if err := json.Unmarshal(r.Data, &inv); err != nil || r.Flag != 1 {
		t.Fatalf("create-invoice: %+v %s", r, r.Data)
	}
	// 2 EUR at 74 EUR per LTC: 0.02702703 LTC, rounded up.
	want := map[string]any{"invoice_id": "LTC1", "base_currency": "EUR", "coin": "LTC", "name": "random name", "description": "Hello world",
		"status": "Pending", "status_code": 0.0, "notify_url": "http://shop.example/notify-url", "suceess_url": "http://shop.example/success-url",
		"fail_url": "http://shop.example/fail-url", "custom_data1": "order 7", "custom_data2": "x", "wallet_name": "Coffee Shop",
		"merchant_id": m.creds.Vendor.ID, "url": m.srv.URL + "/merch/inv?id=" + inv["id"].(string), "usd_amount": "2.16216240"}
	for k, v := range want {
		if inv[k] != v {
			t.Errorf("%s = %v, want %v", k, inv[k], v)
		}
	}
	// Its id, in its page's URL, is random; invoice_id the vendor's
	// display number.
	if !store.IsNewInvoiceID(inv["id"].(string), "") {
		t.Errorf("id %v: want 24 random characters", inv["id"])
	}
	if total := inv["total_amount"].(map[string]any); total["LTC"] != "0.02702703" || total["EUR"] != "2" || total["USD"] != "2.16216240" {
		t.Errorf("total_amount %v", total)
	}
	if rate := inv["conversion_rate"].(map[string]any); rate["LTC_EUR"] != "74" || rate["EUR_LTC"] != "0.01351352" || rate["LTC_USD"] != "80" {
		t.Errorf("conversion_rate %v", rate)
	}
	if p, ok := inv["paid_amount"].([]any); !ok || len(p) != 0 {
		t.Errorf("paid_amount %v", inv["paid_amount"])
	}
	_, g := m.cr(t, "LTC", "get-invoice", map[string]string{"invoice_id": "LTC1"})
	if g.Flag != 1 || string(g.Data) != string(r.Data) {
		t.Errorf("get-invoice:\n%s\nwant\n%s", g.Data, r.Data)
	}
	// Another vendor's key does not find it.
	other, err := m.inv.AddVendor(t.Context(), newVendor("Tea"))
	if err != nil {
		t.Fatal(err)
	}
	if _, o := m.cr(t, "LTC", "get-invoice", map[string]string{"invoice_id": "LTC1", "api_key": other.APIKey, "password": other.Secret}); o.Flag != 0 {
		t.Errorf("another vendor's invoice: %+v", o)
	}
	// Its address is one the vendor may list.
	_, l := m.cr(t, "LTC", "get-transaction-by-address", map[string]string{"address": inv["address"].(string)})
	if l.Flag != 1 || string(l.Data) != "[]" {
		t.Errorf("its transactions: %+v %s", l, l.Data)
	}
	_, a := m.cr(t, "LTC", "accept-payment", map[string]string{"invoice_id": "LTC1", "amount": "0.02"})
	if a.Flag != 0 || !strings.Contains(a.Msg, "holds no payment") {
		t.Errorf("accept with nothing held: %+v", a)
	}
	_, rf := m.cr(t, "LTC", "refund-payment", map[string]string{"invoice_id": "LTC1", "amount": "0.02", "address": "ltc1qk8hjy3lf245r7ppr2lfy8zxn8nwrmuasqrx6uc"})
	if rf.Flag != 2 || !strings.Contains(rf.Msg, "network") {
		t.Errorf("refund to a mainnet address: %+v", rf)
	}
}

// TestCoinremitterNewAddress: get-new-address mints an address forwarding
// to the vendor's, labelled, with the link of its QR code, which the
// server draws.
func TestCoinremitterNewAddress(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})
	_, r := m.cr(t, "LTC", "get-new-address", map[string]string{"label": "my_label"})
	var a struct {
		Address, Label string
		QRCode         string `json:"qr_code"`
	}
	if err := json.Unmarshal(r.Data, &a); err != nil || r.Flag != 1 || a.Label != "my_label" || !strings.HasPrefix(a.Address, "rltc1q") ||
		a.QRCode != m.srv.URL+"/api/qr/?d="+url.QueryEscape("litecoin:"+a.Address) || r.Msg != "New address created successfully." {
		t.Fatalf("get-new-address: %+v %s", r, r.Data)
	}
	resp, png := m.get(t, strings.TrimPrefix(a.QRCode, m.srv.URL), nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(png, "\x89PNG") {
		t.Errorf("the QR code: %d %s", resp.StatusCode, resp.Header)
	}
	if resp, _ := m.get(t, "/api/qr/?d=", nil); resp.StatusCode != 400 {
		t.Errorf("an empty QR code: %d", resp.StatusCode)
	}
	if resp, _ := m.get(t, "/api/qr/?d="+strings.Repeat("x", 600), nil); resp.StatusCode != 400 {
		t.Errorf("a QR code too long: %d", resp.StatusCode)
	}
	_, l := m.cr(t, "LTC", "get-transaction-by-address", map[string]string{"address": a.Address})
	if l.Flag != 1 || string(l.Data) != "[]" {
		t.Errorf("its transactions: %+v %s", l, l.Data)
	}
}

// TestDialectsRateLimit: past the limit, 429 in Coinremitter's form and
// in the Open API's, with the rate limit's headers.
func TestDialectsRateLimit(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})
	cfg := api.DefaultConfig()
	cfg.RateLimit = 2
	srv := newServer(t, api.New(cfg, m.engine, m.inv))
	var last *http.Response
	var body string
	for range 3 {
		resp, err := http.PostForm(srv.URL+"/api/v3/LTC/get-coin-rate", url.Values{})
		if err != nil {
			t.Fatal(err)
		}
		b := new(bytes.Buffer)
		b.ReadFrom(resp.Body)
		resp.Body.Close()
		last, body = resp, b.String()
	}
	var r crReply
	json.Unmarshal([]byte(body), &r)
	if last.StatusCode != 429 || r.Flag != 0 || r.Msg != "Too Many Attempts" || last.Header.Get("x-ratelimit-limit") != "2" ||
		last.Header.Get("x-ratelimit-remaining") != "0" {
		t.Errorf("past the limit: %d %v %s", last.StatusCode, last.Header, body)
	}
	// With credentials: a request without them (an HTTP client's first
	// try) draws on a budget of its own (TestOpenAPIProbeBudget).
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v2/GetCurrencyList/", nil)
	req.SetBasicAuth(m.creds.Vendor.ID, m.creds.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b := new(bytes.Buffer)
	b.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 429 || b.String() != `{"err":"Too Many Attempts"}`+"\n" || resp.Header.Get("Retry-After") == "" {
		t.Errorf("the Open API past the limit: %d %s", resp.StatusCode, b)
	}
}

// TestDialectsInternalError: a store that fails is an internal error:
// Coinremitter's flag 0 with 500 and data {}, the Open API's {"err"} with
// 500; neither says more than that.
func TestDialectsInternalError(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})
	m.db.Close()
	status, r := m.cr(t, "LTC", "get-invoice", map[string]string{"invoice_id": "LTC1"})
	if status != 500 || r.Flag != 0 || r.Msg != "Oops something went wrong" || string(r.Data) != "{}" || r.Action == nil {
		t.Errorf("Coinremitter: %d %+v %s", status, r, r.Data)
	}
	status, body := m.oa(t, "GetTransactions", nil, m.creds.Vendor.ID, m.creds.APIKey)
	if status != 500 || body != `{"err":"internal error"}`+"\n" {
		t.Errorf("the Open API: %d %s", status, body)
	}
}
