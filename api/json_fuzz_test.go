package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ferry-relay/ferry"
	"golang.org/x/net/http/httpguts"
)

// FuzzFluxcordBody posts any body to POST /api/payments with a vendor's
// key: it never fails inside, and a payment it makes asks exactly the
// amountLtc given.
func FuzzFluxcordBody(f *testing.F) {
	for _, s := range []string{`{"amountLtc":0.05}`, `{"amountLtc": 0.05, "webhookUrl": "https://shop.example/wh"}`,
		`{"amountLtc":1e2}`, `{"amountLtc":"0.05"}`, `{"amountLtc":-1}`, `{"amountLtc":0.123456789}`, `[]`, `{`, `null`, ``,
		`{"amountLtc":12345678.12345678}`, `{"amountLtc":0.05,"webhookUrl":null}`, `{"amountLtc":0.05}{"x":1}`} {
		f.Add(s)
	}
	m := newMerchantEnv(f, fuzzInvoices)
	f.Fuzz(func(t *testing.T, body string) {
		resp, out := m.postJSON(t, "/api/payments", body, map[string]string{"x-api-key": m.creds.APIKey})
		if resp.StatusCode >= 500 && resp.StatusCode != 503 {
			t.Fatalf("%d %s", resp.StatusCode, out)
		}
		if resp.StatusCode != 200 {
			var e struct{ Error string }
			if json.Unmarshal([]byte(out), &e) != nil || e.Error == "" {
				t.Fatalf("%d without a reason: %s", resp.StatusCode, out)
			}
			return
		}
		var in, got struct{ AmountLtc json.Number }
		json.Unmarshal([]byte(body), &in)
		json.Unmarshal([]byte(out), &got)
		a, _ := ferry.ParseAmount(string(in.AmountLtc))
		b, err := ferry.ParseAmount(string(got.AmountLtc))
		if err != nil || a != b || a <= 0 {
			t.Fatalf("asked %s, the payment asks %s", in.AmountLtc, got.AmountLtc)
		}
	})
}

// FuzzPayscryptBody posts any body to POST /v1/orders with a vendor's key:
// it never fails inside, every answer is one an HTTP client reads (every
// header value valid) and carries its gRPC code and its message
// percent-encoded, and an order it makes asks exactly the target_value
// given.
func FuzzPayscryptBody(f *testing.F) {
	for _, s := range []string{`{"asset_name":"LTC","target_value":"10000000"}`, `{"asset_name":"LTC","target_value":"10000000","merchant_order_id":"A","pg_wallet_id":"0"}`,
		`{"asset_name":"BTC","target_value":"1"}`, `{"asset_name":"LTC","target_value":0.1}`, `{"target_value":"1e3"}`, `{`, `[]`, `null`,
		`{"asset_name":"LTC","target_value":"10000000","callback_url":"javascript:x"}`, `{"unknown":1,"asset_name":"LTC","target_value":"2000000"}`,
		"\"\x7f\"", "\"%\xe2\x82\xac\xff\""} {
		f.Add(s)
	}
	m := newMerchantEnv(f, fuzzInvoices)
	f.Fuzz(func(t *testing.T, body string) {
		resp, out := m.postJSON(t, "/v1/orders", body, map[string]string{"apikey": m.creds.APIKey})
		if resp.StatusCode >= 500 && resp.StatusCode != 503 || resp.Header.Get("grpc-code") == "" {
			t.Fatalf("%d %v %s", resp.StatusCode, resp.Header, out)
		}
		checkGRPCHeaders(t, resp, out)
		if resp.StatusCode != 200 {
			return
		}
		var in struct {
			TargetValue string `json:"target_value"`
		}
		json.Unmarshal([]byte(body), &in)
		o := decodeOrder(t, out)
		a, _ := ferry.ParseBaseUnits(in.TargetValue)
		b, err := ferry.ParseBaseUnits(o["target_value"].(string))
		if err != nil || a != b && !strings.Contains(body, "merchant_order_id") {
			t.Fatalf("asked %s, the order asks %v", in.TargetValue, o["target_value"])
		}
	})
}

// checkGRPCHeaders checks a Payscrypt REST answer's headers: every value is
// one HTTP allows, and grpc-message is the body's message percent-encoded
// (only printable ASCII but '%' left as it is).
func checkGRPCHeaders(t *testing.T, resp *http.Response, body string) {
	t.Helper()
	for k, vs := range resp.Header {
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) {
				t.Fatalf("header %s: %q is not a valid value", k, v)
			}
		}
	}
	enc := resp.Header.Get("grpc-message")
	for i := range len(enc) {
		if c := enc[i]; c < ' ' || c > '~' || c == '%' && (i+2 >= len(enc) || !isHex(enc[i+1]) || !isHex(enc[i+2])) {
			t.Fatalf("grpc-message %q is not percent-encoded", enc)
		}
	}
	if resp.StatusCode == http.StatusOK {
		return
	}
	msg, err := url.PathUnescape(enc)
	var e struct{ Message string }
	// The body's JSON writes invalid UTF-8 as U+FFFD: compare it so.
	again, _ := json.Marshal(msg)
	json.Unmarshal(again, &msg)
	if err != nil || json.Unmarshal([]byte(body), &e) != nil || e.Message != msg {
		t.Fatalf("grpc-message %q (%v) is not the body's message: %s", enc, err, body)
	}
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }
