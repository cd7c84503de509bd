package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ferry-relay/ferry/relay/relaytest"
)

// postJSON posts body to path with headers, and returns the answer.
func (m *merchantEnv) postJSON(t *testing.T, path, body string, header map[string]string) (*http.Response, string) {
	t.Helper()
	return m.call(t, http.MethodPost, path, strings.NewReader(body), header)
}

// get gets path and returns the answer.
func (m *merchantEnv) get(t *testing.T, path string, header map[string]string) (*http.Response, string) {
	t.Helper()
	return m.call(t, http.MethodGet, path, nil, header)
}

// call makes a request of the API with headers, and returns the answer.
func (m *merchantEnv) call(t *testing.T, method, path string, body io.Reader, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, m.srv.URL+path, body)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// nothingMade fails the test if an invoice or an address was made.
func (m *merchantEnv) nothingMade(t *testing.T) {
	t.Helper()
	if ids, _ := m.db.OpenInvoices(); len(ids) != 0 {
		t.Errorf("%d invoices made", len(ids))
	}
	if n, _ := m.db.NextIndex("ltc"); n != 0 {
		t.Errorf("%d addresses minted", n)
	}
}

// TestFluxcordCreate makes a payment as the seed's clients do and reads
// it back from the public endpoint: the seed's fields, exactly.
func TestFluxcordCreate(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})
	key := map[string]string{"x-api-key": m.creds.APIKey}
	resp, body := m.postJSON(t, "/api/payments", `{"amountLtc": 0.05, "webhookUrl": "https://shop.example/api/webhook/ltc-payment"}`, key)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	var p map[string]any
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		t.Fatal(err)
	}
	id, _ := p["paymentId"].(string)
	if len(id) != 36 || id[14] != '4' || p["amountLtc"] != json.Number("0.05") || p["status"] != "pending" ||
		p["paymentUrl"] != m.srv.URL+"/merch/inv?id="+id || !strings.HasPrefix(p["receivingAddress"].(string), "rltc1q") {
		t.Errorf("create answered %s", body)
	}
	exp, err := time.Parse("2006-01-02T15:04:05.000Z", p["expiresAt"].(string))
	if err != nil || exp.Sub(time.Now()) < 59*time.Minute || exp.Sub(time.Now()) > 61*time.Minute {
		t.Errorf("expiresAt %v: %v", p["expiresAt"], err)
	}

	resp, body = m.get(t, "/api/payments/"+id, nil)
	var pub map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &pub); err != nil || resp.StatusCode != 200 {
		t.Fatalf("public: %d %s", resp.StatusCode, body)
	}
	want := []string{"paymentId", "status", "amountLtc", "receivingAddress", "expiresAt", "businessName"}
	if len(pub) != len(want) {
		t.Errorf("public payload has %d fields, want %v: %s", len(pub), want, body)
	}
	for _, k := range want {
		if _, ok := pub[k]; !ok {
			t.Errorf("public payload lacks %s: %s", k, body)
		}
	}
	if string(pub["businessName"]) != `"Coffee Shop"` || string(pub["amountLtc"]) != "0.05" || string(pub["status"]) != `"pending"` {
		t.Errorf("public payload: %s", body)
	}
	// Other APIs' invoices are not payments.
	pm, _ := m.post(t, "/p/", m.form(nil))
	if pm.StatusCode != 200 {
		t.Fatalf("a merchant invoice: %d", pm.StatusCode)
	}
	if resp, body := m.get(t, "/api/payments/LTPP-2", nil); resp.StatusCode != 404 || body != "{\"error\":\"Payment not found\"}\n" {
		t.Errorf("a LitePay invoice as a payment: %d %s", resp.StatusCode, body)
	}
	// Its webhooks, for its vendor only.
	if resp, body := m.get(t, "/api/payments/"+id+"/webhooks", key); resp.StatusCode != 200 || !strings.Contains(body, `"webhooks":[]`) {
		t.Errorf("webhooks: %d %s", resp.StatusCode, body)
	}
	if resp, _ := m.get(t, "/api/payments/"+id+"/webhooks", nil); resp.StatusCode != 401 {
		t.Errorf("webhooks without a key: %d", resp.StatusCode)
	}
}

// TestFluxcordRefusals: every bad request is answered in JSON with a
// 4xx, says why, and makes nothing.
func TestFluxcordRefusals(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})
	key := map[string]string{"x-api-key": m.creds.APIKey}
	tests := []struct {
		name   string
		header map[string]string
		body   string
		status int
		msg    string
	}{
		{"no key", nil, `{"amountLtc":0.05}`, 401, "wrong credentials"},
		{"wrong key", map[string]string{"x-api-key": "nope"}, `{"amountLtc":0.05}`, 401, "wrong credentials"},
		{"the vendor's secret as key", map[string]string{"x-api-key": m.creds.Secret}, `{"amountLtc":0.05}`, 401, "wrong credentials"},
		{"malformed JSON", key, `{"amountLtc":`, 400, "JSON object"},
		{"not an object", key, `[0.05]`, 400, "JSON object"},
		{"two objects", key, `{"amountLtc":0.05}{}`, 400, "one JSON object"},
		{"a stray brace after", key, `{"amountLtc":0.05}}`, 400, "one JSON object"},
		{"a stray bracket after", key, `{"amountLtc":0.05} ]`, 400, "one JSON object"},
		{"empty", key, ``, 400, "empty"},
		{"no amount", key, `{"webhookUrl":"https://shop.example/"}`, 400, "amountLtc is required"},
		{"zero", key, `{"amountLtc":0}`, 400, "positive number"},
		{"negative", key, `{"amountLtc":-0.05}`, 400, "positive number"},
		{"nine decimals", key, `{"amountLtc":0.050000001}`, 400, "at most 8 decimals"},
		{"exponent", key, `{"amountLtc":5e-2}`, 400, "at most 8 decimals"},
		{"a string", key, `{"amountLtc":"0.05"}`, 400, "positive number"},
		{"huge", key, `{"amountLtc":1e9999}`, 400, "positive number"},
		{"below the minimum", key, `{"amountLtc":0.001}`, 400, "smallest payment"},
		{"loopback webhook", key, `{"amountLtc":0.05,"webhookUrl":"http://127.0.0.1/x"}`, 400, "webhookUrl: callback host refused"},
		{"metadata webhook", key, `{"amountLtc":0.05,"webhookUrl":"http://169.254.169.254/latest"}`, 400, "webhookUrl: callback host refused"},
		{"ftp webhook", key, `{"amountLtc":0.05,"webhookUrl":"ftp://shop.example/"}`, 400, "webhookUrl"},
		{"webhook a number", key, `{"amountLtc":0.05,"webhookUrl":5}`, 400, "webhookUrl must be a string"},
		{"2 MB", key, `{"amountLtc":0.05,"pad":"` + strings.Repeat("x", 2<<20) + `"}`, 413, "over 64 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := m.postJSON(t, "/api/payments", tt.body, tt.header)
			var e struct{ Error string }
			if json.Unmarshal([]byte(body), &e) != nil || resp.StatusCode != tt.status || !strings.Contains(e.Error, tt.msg) {
				t.Errorf("%d %.200s, want %d and %q", resp.StatusCode, body, tt.status, tt.msg)
			}
		})
	}
	m.nothingMade(t)
	for _, id := range []string{"nope", "550e8400-e29b-41d4-a716-446655440000", "%00"} {
		if resp, _ := m.get(t, "/api/payments/"+id, nil); resp.StatusCode != 404 {
			t.Errorf("GET %s: %d", id, resp.StatusCode)
		}
	}
}
