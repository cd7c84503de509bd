package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry/api"
	"github.com/ferry-relay/ferry/relay/relaytest"
)

// TestJSONPolicy: every JSON body is read under one policy, in each
// dialect's form: one value and nothing after it, at most the dialect's
// bound (64 KiB for Fluxcord and Payscrypt, 16 KiB for Coinremitter's
// form and the operator's API), fields the operator's API does not know
// refused; and each refusal changes nothing.
func TestJSONPolicy(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})
	admin := httptest.NewServer(api.AdminHandler(m.inv.Admin(), zerolog.Nop()))
	t.Cleanup(admin.Close)
	pad := func(n int) string { return `"pad":"` + strings.Repeat("x", n) + `"` }
	apiKey := map[string]string{"x-api-key": m.creds.APIKey, "apikey": m.creds.APIKey}
	creds := `"api_key":"` + m.creds.APIKey + `","password":"` + m.creds.Secret + `"`
	vendors := "/vendors/" + m.creds.Vendor.ID

	for _, tt := range []struct {
		name, path, body string
		admin            bool
		status           int
		want             string
	}{
		{"Fluxcord, a stray brace", "/api/payments", `{"amountLtc":0.05}}`, false, 400, `{"error":"the body must be one JSON object"}`},
		{"Fluxcord, 65 KiB", "/api/payments", `{"amountLtc":0.05,` + pad(65<<10) + `}`, false, 413, `{"error":"the body is over 64 KiB"}`},
		{"Fluxcord, 60 KiB", "/api/payments", `{"amountLtc":0.001,` + pad(60<<10) + `}`, false, 400, "smallest payment"},
		{"Payscrypt, a stray brace", "/v1/orders", `{"asset_name":"LTC","target_value":"10000000"}}`, false, 400, `"message":"the body must be one JSON object"`},
		{"Payscrypt, 65 KiB", "/v1/orders", `{` + pad(65<<10) + `}`, false, 400, `"message":"the body is over 64 KiB"`},
		{"Coinremitter, a stray brace", "/api/v3/LTC/create-invoice", `{` + creds + `,"amount":"1"}}`, false, 200,
			`"msg":"The body must be one JSON object."`},
		{"Coinremitter, 17 KiB", "/api/v3/LTC/create-invoice", `{` + creds + `,"amount":"1",` + pad(17<<10) + `}`, false, 200,
			`"msg":"The body is over 16 KiB."`},
		{"operator, a stray brace", vendors + "/webhooks", `{"url":"https://shop.example/hook"}}`, true, 400,
			`{"error":"the body must be one webhook endpoint in JSON"}`},
		{"operator, an unknown field", vendors + "/webhooks", `{"url":"https://shop.example/hook","events":["all"]}`, true, 400,
			`{"error":"the body must be a webhook endpoint in JSON: unknown field \"events\""}`},
		{"operator, 17 KiB", vendors + "/webhooks", `{"url":"https://shop.example/hook",` + pad(17<<10) + `}`, true, 400,
			`{"error":"the body is over 16 KiB"}`},
		{"operator, a vendor's unknown field", "/vendors", `{"name":"Tea","extra":1}`, true, 400, `unknown field \"extra\"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var status int
			var out string
			if tt.admin {
				status, out = adminCall(t, admin, http.MethodPost, tt.path, tt.body)
			} else {
				resp, body := m.postJSON(t, tt.path, tt.body, apiKey)
				status, out = resp.StatusCode, body
			}
			if status != tt.status || !strings.Contains(out, tt.want) {
				t.Errorf("%d %.200s, want %d %s", status, out, tt.status, tt.want)
			}
			if tt.admin {
				return
			}
			var flag struct{ Flag *int }
			if json.Unmarshal([]byte(out), &flag) == nil && flag.Flag != nil && *flag.Flag != 2 {
				t.Errorf("Coinremitter flag %d, want 2", *flag.Flag)
			}
		})
	}
	m.nothingMade(t)
	if eps, err := m.inv.Admin().Endpoints(t.Context(), m.creds.Vendor.ID); err != nil || len(eps) != 0 {
		t.Errorf("endpoints %v, %v", eps, err)
	}
}
