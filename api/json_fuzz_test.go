package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/relay/relaytest"
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
	m := newMerchantEnv(f, relaytest.InvoiceOptions{})
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
		a, _ := chain.ParseAmount(string(in.AmountLtc))
		b, err := chain.ParseAmount(string(got.AmountLtc))
		if err != nil || a != b || a <= 0 {
			t.Fatalf("asked %s, the payment asks %s", in.AmountLtc, got.AmountLtc)
		}
	})
}

// FuzzPayscryptBody posts any body to POST /v1/orders with a vendor's key:
// it never fails inside, every answer carries its gRPC code, and an order
// it makes asks exactly the target_value given.
func FuzzPayscryptBody(f *testing.F) {
	for _, s := range []string{`{"asset_name":"LTC","target_value":"0.1"}`, `{"asset_name":"LTC","target_value":"0.1","merchant_order_id":"A","pg_wallet_id":"0"}`,
		`{"asset_name":"BTC","target_value":"1"}`, `{"asset_name":"LTC","target_value":0.1}`, `{"target_value":"1e3"}`, `{`, `[]`, `null`,
		`{"asset_name":"LTC","target_value":"0.1","callback_url":"javascript:x"}`, `{"unknown":1,"asset_name":"LTC","target_value":"0.02"}`} {
		f.Add(s)
	}
	m := newMerchantEnv(f, relaytest.InvoiceOptions{})
	f.Fuzz(func(t *testing.T, body string) {
		resp, out := m.postJSON(t, "/v1/orders", body, map[string]string{"apikey": m.creds.APIKey})
		if resp.StatusCode >= 500 && resp.StatusCode != 503 || resp.Header.Get("grpc-code") == "" {
			t.Fatalf("%d %v %s", resp.StatusCode, resp.Header, out)
		}
		if resp.StatusCode != 200 {
			return
		}
		var in struct {
			TargetValue string `json:"target_value"`
		}
		json.Unmarshal([]byte(body), &in)
		o := decodeOrder(t, out)
		a, _ := chain.ParseAmount(in.TargetValue)
		b, err := chain.ParseAmount(o["target_value"].(string))
		if err != nil || a != b && !strings.Contains(body, "merchant_order_id") {
			t.Fatalf("asked %s, the order asks %v", in.TargetValue, o["target_value"])
		}
	})
}
