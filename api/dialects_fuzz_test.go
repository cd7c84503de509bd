package api_test

import (
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/store"
)

// crFuzzActions are the actions FuzzCoinremitterForm posts to.
var crFuzzActions = []string{"create-invoice", "get-invoice", "get-new-address", "validate-address", "get-transaction",
	"get-transaction-by-address", "get-fiat-to-crypto-rate", "get-coin-rate", "accept-payment", "refund-payment", "withdraw"}

// FuzzCoinremitterForm posts any fields to each Coinremitter action, as a
// form or as JSON, with the vendor's credentials: it never fails inside,
// always answers Coinremitter's envelope (flag 1 only with 200; data [] on
// a refusal), and an invoice it creates asks the amount given.
func FuzzCoinremitterForm(f *testing.F) {
	for _, s := range []struct {
		action uint8
		json   bool
		body   string
	}{
		{0, false, "amount=2&name=random+name&currency=EUR&expire_time=10&notify_url=http%3A%2F%2Fshop.example%2Fn&description=Hello"},
		{0, false, "amount=1%2C000&currency=USD"}, {0, false, "amount=0.1"}, {0, false, "amount=1e3&expire_time=-1"},
		{0, true, `{"amount":"0.1","custom_data1":"x"}`}, {0, true, `{"amount":0.1}`}, {0, true, `{"amount":[1]}`}, {0, true, `[]`},
		{1, false, "invoice_id=LTC1"}, {2, false, "label=my_label"}, {3, false, "address=" + dest}, {4, false, "id=" + strings.Repeat("a", 64) + ":0"},
		{5, false, "address=" + dest}, {6, false, "fiat_symbol=USD&fiat_amount=1"}, {7, false, ""}, {8, false, "invoice_id=LTC1&amount=0.1"},
		{9, false, "invoice_id=LTC1&amount=0.1&address=" + dest}, {10, false, "to_address=x&amount=2"}, {0, false, "%zz=1"},
		{0, false, "amount=2&amount=3"}, {0, true, `{"amount":25.479999999999997,"currency":"USD"}`},
		{0, false, "amount=0.30000000000000004"}, {6, true, `{"fiat_symbol":"USD","fiat_amount":25.475}`},
	} {
		f.Add(s.action, s.json, s.body)
	}
	m := newMerchantEnv(f, fuzzInvoices)
	f.Fuzz(func(t *testing.T, action uint8, asJSON bool, body string) {
		name := crFuzzActions[int(action)%len(crFuzzActions)]
		ct := "application/x-www-form-urlencoded"
		if asJSON {
			ct = "application/json"
			if obj := strings.TrimSpace(body); strings.HasPrefix(obj, "{") {
				creds, _ := json.Marshal(map[string]string{"api_key": m.creds.APIKey, "password": m.creds.Secret})
				body = string(creds[:len(creds)-1]) + "," + obj[1:]
			}
		} else {
			body = url.Values{"api_key": {m.creds.APIKey}, "password": {m.creds.Secret}}.Encode() + "&" + body
		}
		resp, out := m.call(t, http.MethodPost, "/api/v3/LTC/"+name, strings.NewReader(body), map[string]string{"Content-Type": ct})
		var r crReply
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%s: %d %q: %v", name, resp.StatusCode, out, err)
		}
		switch {
		case resp.StatusCode == http.StatusInternalServerError:
			t.Fatalf("%s failed inside: %s", name, out)
		case r.Msg == "" || r.Flag < 0 || r.Flag > 2 || r.Flag == 1 && resp.StatusCode != 200:
			t.Fatalf("%s answered %d %s", name, resp.StatusCode, out)
		case r.Flag != 1 && string(r.Data) != "[]":
			t.Fatalf("%s refused with data %s", name, r.Data)
		}
		if name != "create-invoice" || r.Flag != 1 {
			return
		}
		var inv struct {
			ID          string            `json:"id"`
			InvoiceID   string            `json:"invoice_id"`
			URL         string            `json:"url"`
			TotalAmount map[string]string `json:"total_amount"`
		}
		json.Unmarshal(r.Data, &inv)
		v, err := m.inv.Find(t.Context(), m.creds.Vendor.ID, "coinremitter", inv.InvoiceID)
		if err != nil || v.ID != inv.ID || !store.IsNewInvoiceID(v.ID, "") || inv.URL != m.srv.URL+"/merch/inv?id="+v.ID || !v.Hold ||
			inv.TotalAmount["LTC"] == "" {
			t.Fatalf("created %s: %+v, %v", inv.InvoiceID, v, err)
		}
	})
}

// oaFuzzCalls are the calls FuzzOpenAPIQuery makes.
var oaFuzzCalls = []string{"GetRate", "StartPayment", "CheckPayment", "CancelPayment", "AcceptPayment", "RefundPayment", "GetCurrencyList", "GetTransactions",
	"Ping", "GetRates", "GetWalletApps", "RequestKyc"}

// FuzzOpenAPIQuery makes each Open API call with any query, as the
// vendor: it never fails inside, errors are {"err":…} with 400 or 404,
// and a payment it starts asks the amount given.
func FuzzOpenAPIQuery(f *testing.F) {
	for _, s := range []struct {
		call  uint8
		query string
	}{
		{0, "pos_id=POS1&invoice_currency=EUR&invoice_amount=48.25&currency=LTC&accept_zero_confirmations=true"},
		{1, "pos_id=POS1&invoice_currency=USD&invoice_amount=10&currency=LTC&reference_no=12-23-456&payer_user_agent=Mozilla%2F5.0"},
		{1, "pos_id=POS1&invoice_currency=LTC&invoice_amount=0.5&currency=LTC&payment_id=123e4567-e89b-12d3-a456-426614174000"},
		{1, "pos_id=P&invoice_currency=USD&invoice_amount=1,000&currency=LTC"}, {1, "pos_id=P&invoice_amount=1e9&currency=btc"},
		{2, "payment_id=123e4567-e89b-12d3-a456-426614174000&currency=LTC"}, {3, "payment_id=x"}, {4, "payment_id=x&accepted_amount=-1"},
		{5, "payment_id=x&refund_amount=0.1&address_out=" + dest}, {6, ""}, {7, "offset=0&limit=20"}, {7, "offset=99999999999"}, {0, "%zz"},
		{1, "pos_id=a&pos_id=b"}, {7, "reference_no=42&locale=en_US"}, {8, "webhook_url="}, {8, "webhook_url=ftp%3A%2F%2Fx"},
		{9, "pos_id=P&invoice_currency=EUR&invoice_amount=9.25&currencies=LTC,BTC,,ltc"}, {10, "locale=en_US"}, {11, "email=a%40b.c"},
	} {
		f.Add(s.call, s.query)
	}
	m := newMerchantEnv(f, fuzzInvoices)
	f.Fuzz(func(t *testing.T, call uint8, query string) {
		name := oaFuzzCalls[int(call)%len(oaFuzzCalls)]
		req, _ := http.NewRequest(http.MethodGet, m.srv.URL+"/v2/"+name+"/", nil)
		req.URL.RawQuery = query
		req.SetBasicAuth(m.creds.Vendor.ID, m.creds.APIKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return // a query the client itself cannot send
		}
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusBadRequest && !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			return // a request line net/http itself refuses: not the API's
		}
		var out any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatalf("%s?%s: %d, not JSON: %v", name, query, resp.StatusCode, err)
		}
		if resp.StatusCode != 200 {
			e, _ := out.(map[string]any)
			if s, _ := e["err"].(string); s == "" || resp.StatusCode != 400 && resp.StatusCode != 404 {
				t.Fatalf("%s?%s: %d %v", name, query, resp.StatusCode, out)
			}
			return
		}
		if name != "StartPayment" {
			return
		}
		start := out.(map[string]any)
		v, err := m.inv.Find(t.Context(), m.creds.Vendor.ID, "openapi", start["payment_id"].(string))
		if err != nil || v.Dialect != "openapi" || start["amount"] != formatAmount(int64(v.Coins[0].Due)) {
			t.Fatalf("started %v: %+v, %v", start, v, err)
		}
	})
}

// FuzzOpenAPIForm posts any body to StartPayment (and RequestKyc), as
// multipart/form-data or urlencoded, as the vendor, with a query beside
// it that a posted form must not read: it never fails inside, refusals
// are {"err":…} with 400, and a payment it starts asks the amount of the
// form.
func FuzzOpenAPIForm(f *testing.F) {
	var b strings.Builder
	w := multipart.NewWriter(&b)
	w.SetBoundary("fuzzboundary")
	for _, kv := range [][2]string{{"pos_id", "woocommerce-1"}, {"invoice_currency", "EUR"}, {"payment_id", ""}, {"invoice_amount", "9.25"},
		{"currency", "LTC"}, {"reference_no", "42"}, {"require_kyt_for_confirmation", ""}, {"webhook_url", "https://shop.example/?act=webhook"}} {
		w.WriteField(kv[0], kv[1])
	}
	w.Close()
	for _, s := range []struct {
		multipart, kyc bool
		body           string
	}{
		{true, false, b.String()}, {true, false, b.String()[:len(b.String())/2]}, {true, true, "--fuzzboundary\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\na@b.c\r\n--fuzzboundary--\r\n"},
		{true, false, "--fuzzboundary\r\nContent-Disposition: form-data; name=\"x\"; filename=\"f\"\r\n\r\n1\r\n--fuzzboundary--\r\n"},
		{false, false, "pos_id=P&invoice_currency=USD&invoice_amount=10&currency=LTC&payment_id="}, {false, false, "pos_id=a&pos_id=b"}, {false, false, ""},
		{false, false, "%zz"}, {false, true, "email="},
	} {
		f.Add(s.multipart, s.kyc, s.body)
	}
	m := newMerchantEnv(f, fuzzInvoices)
	f.Fuzz(func(t *testing.T, isMultipart, kyc bool, body string) {
		call := "StartPayment"
		if kyc {
			call = "RequestKyc"
		}
		req, _ := http.NewRequest(http.MethodPost, m.srv.URL+"/v2/"+call+"/?invoice_amount=1234", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if isMultipart {
			req.Header.Set("Content-Type", "multipart/form-data; boundary=fuzzboundary")
		}
		req.SetBasicAuth(m.creds.Vendor.ID, m.creds.APIKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatalf("%s %q: %d, not a JSON object: %v", call, body, resp.StatusCode, err)
		}
		if resp.StatusCode != 200 {
			if s, _ := out["err"].(string); s == "" || resp.StatusCode != 400 || len(out) != 1 {
				t.Fatalf("%s %q: %d %v", call, body, resp.StatusCode, out)
			}
			return
		}
		if call != "StartPayment" {
			return
		}
		v, err := m.inv.Find(t.Context(), m.creds.Vendor.ID, "openapi", out["payment_id"].(string))
		if err != nil || out["amount"] != formatAmount(int64(v.Coins[0].Due)) || v.Amount == "1234" || out["invoice_amount"] != v.Amount {
			t.Fatalf("started %v: %+v, %v", out, v, err)
		}
	})
}

// formatAmount writes satoshis as the Open API does: eight decimals.
func formatAmount(sat int64) string { return ferry.Amount(sat).String() }
