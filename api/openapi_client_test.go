package api_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/api"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/relay/relaytest"
)

// What ForumPay's PHP client (forumpay/payment-gateway-php-client 1.6.0)
// sends and reads. Its response classes take each field in one of these
// ways; anything else is a TypeError (which the client turns into an
// InvalidResponseException) or a PHP warning (in the shop's log, and in
// its JSON with WP_DEBUG_DISPLAY):
//
//	s   a string: a required parameter that is not nullable
//	s?  present, a string or null: read as $a['k'] into ?string (absent: a warning)
//	s~  a string, null or absent: read with ??
//	b   true or false: a bool parameter, no cast
//	b~  true, false or absent
//	c   present, any scalar: read with an (int) or (bool) cast
//	a   an array
//	o~  an object, null or absent
type oaSpec string

// The fields each call's answer has, as the client's classes read them
// (Response/*.php).
const (
	oaPingSpec     oaSpec = "result:s webhook_response:o~"
	oaCurrencySpec oaSpec = "currency:s description:s status:s zero_confirmations_enabled:c currency_fiat:s icon_url:s rate:s? " +
		"sell_status:s sell_rate:s? buy_status:s buy_rate:s? sell_min_invoice_amount:s? sell_max_invoice_amount:s? " +
		"sell_network_processing_fee:s? buy_min_invoice_amount:s? buy_max_invoice_amount:s? buy_network_processing_fee:s?"
	oaRatesSpec oaSpec = "payment_id:s invoice_amount:s invoice_currency:s sid:s~ currencies:o~"
	oaRateSpec  oaSpec = "invoice_currency:s invoice_amount:s? currency:s rate:s? amount_exchange:s? network_processing_fee:s amount:s? " +
		"wait_time:s sid:s? fast_transaction_fee:s? fast_transaction_fee_currency:s? payment_id:s"
	oaStartSpec oaSpec = "invoice_currency:s invoice_amount:s? currency:s rate:s? amount_exchange:s? network_processing_fee:s amount:s? " +
		"min_confirmations:c wait_time:s sid:s? fast_transaction_fee:s? fast_transaction_fee_currency:s? cancelled:b~ address:s qr:s " +
		"qr_alt:s qr_img:s qr_alt_img:s print_string:s? access_token:s access_url:s stats_token:s notices:a payment_id:s " +
		"beneficiary_vasp_details:o~ item_name:s~ invoice_surcharge_amount:s~ invoice_amount_with_surcharge:s~ invoice_surcharge_percent:s~"
	oaCheckSpec oaSpec = "reference_no:s? inserted:s invoice_amount:s? type:s invoice_currency:s amount:s? original_amount:s~ " +
		"min_confirmations:c accept_zero_confirmations:c require_kyt_for_confirmation:c currency:s confirmed:b confirmed_time:s? " +
		"reason:s? payment:s? sid:s? confirmations:s access_token:s? access_url:s? wait_time:s? status:s unconfirmed_amount:s~ " +
		"unconfirmed_invoice_amount:s~ underpayment:o~ cancelled:b~ cancelled_time:s~ print_string:s? state:s item_name:s~ " +
		"invoice_surcharge_amount:s~ invoice_amount_with_surcharge:s~ invoice_surcharge_percent:s~"
	oaUnderpaymentSpec oaSpec = "address:s missing_amount:s qr:s qr_alt:s qr_img:s qr_alt_img:s"
	oaCancelSpec       oaSpec = "cancelled:b status:s"
	oaInvoiceSpec      oaSpec = "state:s status:s status_loc:s pos_id:s invoice_currency:s invoice_amount:s? currency:s amount:s? " +
		"amount_exchange:s? network_processing_fee:s address:s type:s type_loc:s payment:s? refund:s? refund_amount_opened:s? " +
		"refund_status:s? refund_status_loc:s? invoice_date:s? inserted:s confirmed:s? cancelled:s? double_spending_alert:s? " +
		"accept_zero_confirmations:b item_name:s? access_token:s? sid:s? payment_id:s? customer_details:o~"
	oaWalletAppSpec oaSpec = "id:s name:s image:s~ image_darkmode:s~"
	oaKycSpec       oaSpec = "status:s"
)

// checkSpec checks that v, an object, has every field of spec as the
// client reads it, and no top-level err (which the client turns into an
// ApiErrorException on a 2xx answer).
func checkSpec(t *testing.T, what string, v any, spec oaSpec) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Errorf("%s: %s is not an object", what, clip(v))
		return nil
	}
	if _, ok := m["err"]; ok {
		t.Errorf("%s: an err in a 2xx answer: %s", what, clip(v))
	}
	for _, f := range strings.Fields(string(spec)) {
		name, kind, _ := strings.Cut(f, ":")
		fv, has := m[name]
		var ok bool
		switch kind {
		case "s":
			_, ok = fv.(string)
		case "s?":
			_, isS := fv.(string)
			ok = has && (isS || fv == nil)
		case "s~":
			_, isS := fv.(string)
			ok = isS || fv == nil
		case "b":
			_, ok = fv.(bool)
		case "b~":
			_, isB := fv.(bool)
			ok = isB || !has
		case "c":
			switch fv.(type) {
			case string, float64, bool:
				ok = true
			}
		case "a":
			_, ok = fv.([]any)
		case "o~":
			_, isO := fv.(map[string]any)
			ok = isO || fv == nil
		default:
			t.Fatalf("spec kind %q", kind)
		}
		if !ok {
			t.Errorf("%s: %s is %s (present: %v), the client reads %s", what, name, clip(fv), has, kind)
		}
	}
	return m
}

// clip writes v as JSON, shortened.
func clip(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 120 {
		return string(b[:120]) + "…"
	}
	return string(b)
}

// oaRequest is one request as ForumPay's client makes it: GET with the
// parameters in the query, or POST of a multipart form (form), or both
// (its curl handle posts a previous form again); with the vendor's
// credentials unless noAuth.
type oaRequest struct {
	call   string
	query  url.Values
	form   [][2]string
	noAuth bool
}

// do makes r of m's API and returns the status, the headers and the
// decoded answer (nil if it is not JSON).
func (m *merchantEnv) do(t *testing.T, r oaRequest) (int, http.Header, any) {
	t.Helper()
	u := m.srv.URL + "/v2/" + r.call + "/"
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var req *http.Request
	if r.form != nil {
		body, ct := multipartForm(t, r.form)
		req, _ = http.NewRequest(http.MethodPost, u, body)
		req.Header.Set("Content-Type", ct)
	} else {
		req, _ = http.NewRequest(http.MethodGet, u, nil)
	}
	if !r.noAuth {
		req.SetBasicAuth(m.creds.Vendor.ID, m.creds.APIKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v any
	json.NewDecoder(resp.Body).Decode(&v)
	return resp.StatusCode, resp.Header, v
}

// ok makes r, fails the test unless the answer is 200, and returns it.
func (m *merchantEnv) ok(t *testing.T, r oaRequest) any {
	t.Helper()
	status, _, v := m.do(t, r)
	if status != 200 {
		t.Fatalf("%s: %d %s", r.call, status, clip(v))
	}
	return v
}

// multipartForm is fields as curl posts a PHP array: multipart/form-data,
// one part per field, in order, an empty part for a null.
func multipartForm(t *testing.T, fields [][2]string) (*bytes.Buffer, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, f := range fields {
		if err := w.WriteField(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	return &b, w.FormDataContentType()
}

// startForm is StartPayment's form as ForumPay's WooCommerce plugin posts
// it (a new payment: payment_id empty; nulls as empty parts), for order
// ref, with extra fields after.
func startForm(ref string, extra ...[2]string) [][2]string {
	f := [][2]string{{"pos_id", "woocommerce-1"}, {"invoice_currency", "EUR"}, {"payment_id", ""}, {"invoice_amount", "9.25"},
		{"currency", "LTC"}, {"reference_no", ref}, {"accept_zero_confirmations", "false"}, {"payer_ip_address", "1.2.3.4"},
		{"payer_email", "buyer@shop.example"}, {"payer_id", "guest_" + ref + "_8f2d"}, {"auto_accept_underpayment", "false"},
		{"auto_accept_underpayment_min", ""}, {"auto_accept_overpayment", "false"}, {"auto_accept_late_payment", "false"},
		{"payer_user_agent", ""}, {"wallet_app_id", ""}, {"sid", ""}, {"require_kyt_for_confirmation", ""}, {"locale", "en_US"},
		{"auto_accept_overpayment_max", ""}, {"network_processing_fee_paid_by", "payer"}}
	return append(f, extra...)
}

// TestOpenAPIClientFields makes every call of ForumPay's client as it
// makes them, and checks every field it reads of each answer, in each
// state CheckPayment shows (waiting, underpayment, confirmed, cancelled),
// and the values its WooCommerce plugin compares.
func TestOpenAPIClientFields(t *testing.T) {
	m := newPayingEnv(t)
	eur := url.Values{"invoice_currency": {"EUR"}, "locale": {"en_US"}}

	checkSpec(t, "Ping", m.ok(t, oaRequest{call: "Ping"}), oaPingSpec)
	if p := m.ok(t, oaRequest{call: "Ping", query: url.Values{"webhook_url": {""}}}).(map[string]any); p["result"] != "pong" || len(p) != 1 {
		t.Errorf("Ping with an empty webhook_url: %v", p)
	}
	list, _ := m.ok(t, oaRequest{call: "GetCurrencyList", query: eur}).([]any)
	if len(list) != 1 {
		t.Fatalf("GetCurrencyList: %v", list)
	}
	ltc := checkSpec(t, "GetCurrencyList", list[0], oaCurrencySpec)
	if ltc["status"] != "OK" || ltc["currency"] != "LTC" || ltc["rate"] != "74" || ltc["currency_fiat"] != "EUR" {
		t.Errorf("GetCurrencyList: %v", ltc)
	}
	if l, _ := m.ok(t, oaRequest{call: "GetCurrencyList", query: url.Values{"invoice_currency": {"XYZ"}}}).([]any); len(l) != 1 ||
		checkSpec(t, "GetCurrencyList XYZ", l[0], oaCurrencySpec)["rate"] != nil {
		t.Errorf("GetCurrencyList in a currency without a price: %v", l)
	}
	if resp, body := m.get(t, strings.TrimPrefix(ltc["icon_url"].(string), m.srv.URL), nil); resp.StatusCode != 200 ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "image/svg+xml") || !strings.Contains(body, "<svg") {
		t.Errorf("the icon %s: %d %s", ltc["icon_url"], resp.StatusCode, resp.Header)
	}

	price := url.Values{"pos_id": {"woocommerce-1"}, "invoice_currency": {"EUR"}, "invoice_amount": {"9.25"}, "accept_zero_confirmations": {"false"},
		"locale": {"en_US"}}
	with := func(q url.Values, k, v string) url.Values {
		out := url.Values{k: {v}}
		for a, b := range q {
			out[a] = b
		}
		return out
	}
	rates := checkSpec(t, "GetRates", m.ok(t, oaRequest{call: "GetRates", query: with(price, "currencies", "LTC,BTC,XYZ")}), oaRatesSpec)
	cur, _ := rates["currencies"].(map[string]any)
	if l, _ := cur["LTC"].(map[string]any); l["amount"] != "0.12500000" || l["wait_time"] == nil {
		t.Errorf("GetRates LTC: %v", cur["LTC"])
	}
	for _, c := range []string{"BTC", "XYZ"} {
		if e, _ := cur[c].(map[string]any); e["err"] == nil || len(e) != 1 {
			t.Errorf("GetRates %s, not relayed here: %v", c, cur[c])
		}
	}
	checkSpec(t, "GetRate", m.ok(t, oaRequest{call: "GetRate", query: with(price, "currency", "LTC")}), oaRateSpec)

	// StartPayment, posted; its page.
	start := checkSpec(t, "StartPayment", m.ok(t, oaRequest{call: "StartPayment", form: startForm("1001")}), oaStartSpec)
	if start["min_confirmations"] != 1.0 || start["stats_token"] != "" || len(start["notices"].([]any)) != 0 || start["amount"] != "0.12500000" {
		t.Errorf("StartPayment: %v", start)
	}
	if resp, _ := m.get(t, strings.TrimPrefix(start["access_url"].(string), m.srv.URL), nil); resp.StatusCode != 200 ||
		!strings.HasPrefix(start["access_url"].(string), m.srv.URL+"/merch/inv?id=") {
		t.Errorf("access_url %s: %d", start["access_url"], resp.StatusCode)
	}
	checkQ := func(p map[string]any) url.Values {
		return url.Values{"pos_id": {"woocommerce-1"}, "currency": {"LTC"}, "payment_id": {p["payment_id"].(string)}, "address": {p["address"].(string)},
			"locale": {"en_US"}}
	}
	checkPayment := func(what string, p map[string]any) map[string]any {
		t.Helper()
		return checkSpec(t, "CheckPayment "+what, m.ok(t, oaRequest{call: "CheckPayment", query: checkQ(p)}), oaCheckSpec)
	}
	if c := checkPayment("waiting", start); c["state"] != "waiting" || c["confirmed"] != false || c["confirmations"] != "0" ||
		c["reference_no"] != "1001" || c["type"] != "Sell" || c["underpayment"] != nil {
		t.Errorf("CheckPayment waiting: %v", c)
	}

	// Underpaid: what is missing, to pay to the same address.
	m.payHeld(t, start["payment_id"].(string), 6_000_000)
	c := checkPayment("underpaid", start)
	u := checkSpec(t, "underpayment", c["underpayment"], oaUnderpaymentSpec)
	if c["state"] != "underpayment" || c["status"] == "Confirmed" || c["confirmations"] != "1" || u["missing_amount"] != "0.06500000" ||
		u["address"] != start["address"] || u["qr"] != "litecoin:"+start["address"].(string)+"?amount=0.065" {
		t.Errorf("CheckPayment underpaid: %v", c)
	}

	// Paid in full: Confirmed, exactly as the plugin compares it.
	paid := checkSpec(t, "StartPayment", m.ok(t, oaRequest{call: "StartPayment", form: startForm("1002")}), oaStartSpec)
	m.payFull(t, paid)
	if c := checkPayment("paid", paid); c["status"] != "Confirmed" || c["state"] != "confirmed" || c["confirmed"] != true ||
		c["confirmed_time"] == nil || c["payment"] != "0.12500000" || c["invoice_amount"] != "9.25" {
		t.Errorf("CheckPayment paid: %v", c)
	}

	// Cancelled: Cancelled; again, the same.
	gone := checkSpec(t, "StartPayment", m.ok(t, oaRequest{call: "StartPayment", form: startForm("1001")}), oaStartSpec)
	cq := with(checkQ(gone), "reason", "")
	cq.Set("comment", "")
	for range 2 {
		if r := checkSpec(t, "CancelPayment", m.ok(t, oaRequest{call: "CancelPayment", query: cq}), oaCancelSpec); r["cancelled"] != true || r["status"] != "Cancelled" {
			t.Errorf("CancelPayment: %v", r)
		}
	}
	if c := checkPayment("cancelled", gone); c["status"] != "Cancelled" || c["state"] != "cancelled" || c["cancelled"] != true || c["cancelled_time"] == nil {
		t.Errorf("CheckPayment cancelled: %v", c)
	}

	// GetTransactions of an order: its payments only, as {"invoices":[…]}.
	txs := m.ok(t, oaRequest{call: "GetTransactions", query: url.Values{"reference_no": {"1001"}, "locale": {"en_US"}}})
	invs, _ := txs.(map[string]any)["invoices"].([]any)
	var statuses []string
	for _, inv := range invs {
		statuses = append(statuses, checkSpec(t, "GetTransactions", inv, oaInvoiceSpec)["status"].(string))
	}
	if strings.Join(statuses, ",") != "Underpayment,Cancelled" {
		t.Errorf("GetTransactions of order 1001: %v", statuses)
	}

	apps, ok := m.ok(t, oaRequest{call: "GetWalletApps", query: url.Values{"locale": {"en_US"}}}).([]any)
	if !ok || len(apps) != 0 {
		t.Errorf("GetWalletApps: %v", apps)
	}
	for _, a := range apps {
		checkSpec(t, "GetWalletApps", a, oaWalletAppSpec)
	}
	checkSpec(t, "RequestKyc", m.ok(t, oaRequest{call: "RequestKyc", form: [][2]string{{"email", "buyer@shop.example"}, {"locale", "en_US"}}}), oaKycSpec)
}

// payFull mines a block paying a payment of StartPayment's whole amount,
// and waits until it is paid.
func (m *payingEnv) payFull(t *testing.T, start map[string]any) {
	t.Helper()
	c, _ := chain.Litecoin(chain.Regtest)
	d, err := c.ParseDestination(start["address"].(string))
	if err != nil {
		t.Fatal(err)
	}
	sat, _ := ferry.ParseAmount(start["amount"].(string))
	m.node.Mine(t, chain.Output{Value: int64(sat), Script: d.Script})
	relaytest.WaitFor(t, "the payment paid", func() bool {
		v, err := m.view(t.Context(), start["payment_id"].(string))
		return err == nil && v.Status == ferry.InvoicePaid
	})
}

// TestOpenAPIClientErrors: what the client turns into exceptions. Every
// refusal is a 4xx with {"err":<text>} and never an err_code (a text one
// on an error status is a TypeError in the client: a PHP fatal error in
// the shop); missing credentials are asked for (401, WWW-Authenticate:
// Basic, which curl's CURLAUTH_ANY waits for before it sends them), and
// none changes anything.
func TestOpenAPIClientErrors(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})
	big := strings.Repeat("x", 17<<10)
	for _, tt := range []struct {
		name   string
		r      oaRequest
		status int
		err    string
	}{
		{"Ping, no credentials", oaRequest{call: "Ping", noAuth: true}, 401, "Invalid API key"},
		{"StartPayment posted, no credentials", oaRequest{call: "StartPayment", form: startForm("7"), noAuth: true}, 401, "Invalid API key"},
		{"an unknown call, no credentials", oaRequest{call: "GetBalance", noAuth: true}, 401, "Invalid API key"},
		{"an unknown call", oaRequest{call: "GetBalance"}, 404, "the calls are AcceptPayment, CancelPayment, CheckPayment, GetCurrencyList, " +
			"GetRate, GetRates, GetTransactions, GetWalletApps, Ping, RefundPayment, RequestKyc and StartPayment"},
		{"a field twice", oaRequest{call: "StartPayment", form: startForm("7", [2]string{"currency", "BTC"})}, 400, "currency given more than once"},
		{"a form too large", oaRequest{call: "StartPayment", form: startForm("7", [2]string{"payer_user_agent_2", big})}, 400, "over 16 KiB"},
		{"no currencies", oaRequest{call: "GetRates", query: url.Values{"pos_id": {"P"}, "invoice_currency": {"EUR"}, "invoice_amount": {"1"}}}, 400,
			"currencies is required"},
		{"a bad amount for GetRates", oaRequest{call: "GetRates", query: url.Values{"pos_id": {"P"}, "invoice_currency": {"EUR"},
			"invoice_amount": {"1,5"}, "currencies": {"LTC"}}}, 400, "the price"},
		{"a webhook_url to a private host", oaRequest{call: "StartPayment", form: startForm("7", [2]string{"webhook_url", "http://10.0.0.1/hook"})},
			400, "webhook_url: "},
		{"a webhook_url that is none", oaRequest{call: "StartPayment", form: startForm("7", [2]string{"webhook_url", "shop"})}, 400, "webhook_url"},
		{"Ping's webhook_url that is none", oaRequest{call: "Ping", query: url.Values{"webhook_url": {"ftp://shop.example/"}}}, 400, "webhook_url"},
		{"RequestKyc without an email", oaRequest{call: "RequestKyc", form: [][2]string{{"locale", "en_US"}}}, 400, "email is required"},
		{"an unknown payment", oaRequest{call: "CheckPayment", query: url.Values{"payment_id": {"123e4567-e89b-12d3-a456-426614174000"}}},
			404, "not found"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, h, v := m.do(t, tt.r)
			e, _ := v.(map[string]any)
			msg, _ := e["err"].(string)
			_, code := e["err_code"]
			if status != tt.status || !strings.Contains(msg, tt.err) || code || len(e) != 1 || h.Get("Content-Type") != "application/json" {
				t.Errorf("%d %s %s, want %d and an err with %q", status, h.Get("Content-Type"), clip(v), tt.status, tt.err)
			}
			if auth := h.Get("WWW-Authenticate"); (status == 401) != strings.HasPrefix(auth, "Basic ") {
				t.Errorf("%d with WWW-Authenticate %q", status, auth)
			}
		})
	}
	// A file, and a body that is no form.
	for _, tt := range []struct{ name, ct, body, err string }{
		{"a file", "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"pos_id\"; filename=\"a\"\r\n\r\nx\r\n--b--\r\n", "is a file"},
		{"JSON", "application/json", `{"pos_id":"P"}`, "multipart/form-data or application/x-www-form-urlencoded"},
		{"no type", "", "pos_id=P", "no Content-Type"},
		{"a broken form", "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"pos_id\"\r\n\r\nx", "cannot be read"},
	} {
		req, _ := http.NewRequest(http.MethodPost, m.srv.URL+"/v2/StartPayment/", strings.NewReader(tt.body))
		req.Header.Set("Content-Type", tt.ct)
		req.SetBasicAuth(m.creds.Vendor.ID, m.creds.APIKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e map[string]string
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(e["err"], tt.err) {
			t.Errorf("%s: %d %v", tt.name, resp.StatusCode, e)
		}
	}
	m.nothingMade(t)
}

// TestOpenAPIClientHandle: ForumPay's client keeps one curl handle, whose
// POST is never turned off. After StartPayment, the plugin's
// GetTransactions and CancelPayment arrive as POSTs carrying
// StartPayment's form again, their own parameters in the query: each
// reads its query only, and GetTransactions lists only the order's
// payments (the plugin cancels every other Waiting one of them).
func TestOpenAPIClientHandle(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})
	other := checkSpec(t, "StartPayment", m.ok(t, oaRequest{call: "StartPayment", form: startForm("8")}), oaStartSpec)
	first := checkSpec(t, "StartPayment", m.ok(t, oaRequest{call: "StartPayment", form: startForm("7")}), oaStartSpec)
	form := startForm("7")
	second := checkSpec(t, "StartPayment", m.ok(t, oaRequest{call: "StartPayment", form: form}), oaStartSpec)
	if first["payment_id"] == second["payment_id"] {
		t.Fatal("payment_id \"\" twice: the same payment")
	}

	txs := m.ok(t, oaRequest{call: "GetTransactions", query: url.Values{"reference_no": {"7"}, "locale": {"en_US"}}, form: form})
	invs, _ := txs.(map[string]any)["invoices"].([]any)
	var ids []any
	for _, inv := range invs {
		ids = append(ids, checkSpec(t, "GetTransactions", inv, oaInvoiceSpec)["payment_id"])
	}
	if len(ids) != 2 || ids[0] != first["payment_id"] || ids[1] != second["payment_id"] {
		t.Fatalf("GetTransactions of order 7: %v, want %v and %v", ids, first["payment_id"], second["payment_id"])
	}
	cancel := url.Values{"pos_id": {"woocommerce-1"}, "currency": {"LTC"}, "payment_id": {first["payment_id"].(string)},
		"address": {first["address"].(string)}, "reason": {""}, "comment": {""}, "locale": {"en_US"}}
	checkSpec(t, "CancelPayment", m.ok(t, oaRequest{call: "CancelPayment", query: cancel, form: form}), oaCancelSpec)
	for _, p := range []struct {
		start map[string]any
		state string
	}{{first, "cancelled"}, {second, "waiting"}, {other, "waiting"}} {
		q := url.Values{"payment_id": {p.start["payment_id"].(string)}}
		if c := m.ok(t, oaRequest{call: "CheckPayment", query: q, form: form}).(map[string]any); c["state"] != p.state {
			t.Errorf("%s after the cancel: %v, want %s", p.start["payment_id"], c["state"], p.state)
		}
	}
	// A POST's form, not its query, for StartPayment: the query is the
	// seed's way only for a GET.
	q := url.Values{"pos_id": {"P"}, "invoice_currency": {"USD"}, "invoice_amount": {"999"}, "currency": {"LTC"}}
	if s := m.ok(t, oaRequest{call: "StartPayment", query: q, form: startForm("9")}).(map[string]any); s["invoice_amount"] != "9.25" {
		t.Errorf("StartPayment posted with a query: %v", s)
	}
}

// TestOpenAPIProbeBudget: curl's CURLAUTH_ANY sends each new handle's
// first request without credentials, and again with them after the 401:
// the first draws on a budget of its own, so that a client's calls count
// once against --rate-limit; requests without credentials are limited all
// the same.
func TestOpenAPIProbeBudget(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})
	cfg := api.DefaultConfig()
	cfg.RateLimit = 3
	m.srv = newServer(t, api.New(cfg, m.engine, m.inv))
	for i := range 3 {
		if status, _, v := m.do(t, oaRequest{call: "Ping", noAuth: true}); status != 401 {
			t.Fatalf("probe %d: %d %v", i, status, v)
		}
		if status, _, v := m.do(t, oaRequest{call: "Ping"}); status != 200 {
			t.Fatalf("call %d after its probe: %d %v", i, status, v)
		}
	}
	for _, r := range []oaRequest{{call: "Ping", noAuth: true}, {call: "Ping"}} {
		status, h, v := m.do(t, r)
		if e, _ := v.(map[string]any); status != 429 || e["err"] != "Too Many Attempts" || h.Get("x-ratelimit-limit") != "3" || h.Get("Retry-After") == "" {
			t.Errorf("past the limit (credentials: %v): %d %v %v", !r.noAuth, status, h, v)
		}
	}
}
