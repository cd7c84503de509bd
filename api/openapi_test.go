package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/rates"
	"github.com/ferry-relay/ferry/relay/relaytest"
)

// movingQuote prices every coin at whatever the test sets: the seam of a
// price that moves.
type movingQuote struct {
	mu    sync.Mutex
	price string
}

func (q *movingQuote) set(p string) { q.mu.Lock(); q.price = p; q.mu.Unlock() }

// Price implements invoice.Quoter.
func (q *movingQuote) Price(_ context.Context, p rates.Pair) (rates.Price, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	d, err := rates.ParseDecimal(q.price)
	return rates.Price{Pair: p, Value: d, Source: "test"}, err
}

// oa calls the Open API with the vendor's credentials (user and key;
// "" for none) and returns the status and the body.
func (m *merchantEnv) oa(t *testing.T, call string, q url.Values, user, key string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, m.srv.URL+"/v2/"+call+"/?"+q.Encode(), nil)
	if user != "" || key != "" {
		req.SetBasicAuth(user, key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}

// oaOK calls the Open API as the vendor and decodes a 200 answer into v.
func (m *merchantEnv) oaOK(t *testing.T, call string, q url.Values, v any) {
	t.Helper()
	status, body := m.oa(t, call, q, m.creds.Vendor.ID, m.creds.APIKey)
	if status != 200 {
		t.Fatalf("%s: %d %s", call, status, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("%s: %v: %s", call, err, body)
	}
}

// oaTexts reads the text fields of an answer, leaving out its numbers,
// flags, arrays and nulls: how the tests read StartPayment's answer,
// which has all of them.
type oaTexts map[string]string

// UnmarshalJSON implements json.Unmarshaler.
func (m *oaTexts) UnmarshalJSON(b []byte) error {
	var all map[string]any
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	*m = oaTexts{}
	for k, v := range all {
		if s, ok := v.(string); ok {
			(*m)[k] = s
		}
	}
	return nil
}

// TestOpenAPIRefusals: every error is {"err":…} with 400, 401 or 404, and
// changes nothing.
func TestOpenAPIRefusals(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})
	id, key := m.creds.Vendor.ID, m.creds.APIKey
	start := url.Values{"pos_id": {"POS1"}, "invoice_currency": {"USD"}, "invoice_amount": {"10"}, "currency": {"LTC"}}
	with := func(k, v string) url.Values {
		q := url.Values{}
		for a, b := range start {
			q[a] = b
		}
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
		return q
	}
	for _, tt := range []struct {
		name, call string
		q          url.Values
		user, key  string
		status     int
		err        string
	}{
		{"no auth", "GetRate", start, "", "", 401, "Invalid API key or authentication failed"},
		{"no auth, an unknown call", "GetBalance", start, "", "", 401, "Invalid API key or authentication failed"},
		{"wrong key", "GetRate", start, id, "nope", 401, "Invalid API key or authentication failed"},
		{"another vendor's id", "GetRate", start, "AAAAAAAA", key, 401, "Invalid API key or authentication failed"},
		{"unknown call", "GetBalance", start, id, key, 404, "no call"},
		{"no pos_id", "StartPayment", with("pos_id", ""), id, key, 400, "pos_id is required"},
		{"no amount", "GetRate", with("invoice_amount", ""), id, key, 400, "invoice_amount is required"},
		{"a comma", "StartPayment", with("invoice_amount", "1,000"), id, key, 400, "the price must be"},
		{"an unknown currency", "StartPayment", with("invoice_currency", "XYZ"), id, key, 400, "unknown currency"},
		{"a coin not relayed", "StartPayment", with("currency", "BTC"), id, key, 400, "is not supported"},
		{"another coin's amount", "StartPayment", with("invoice_currency", "BTC"), id, key, 400, "invoice_currency must be"},
		{"KYT", "StartPayment", with("require_kyt_for_confirmation", "true"), id, key, 400, "no KYT"},
		{"a flag", "StartPayment", with("accept_zero_confirmations", "maybe"), id, key, 400, "true or false"},
		{"a payment_id", "StartPayment", with("payment_id", "../x"), id, key, 400, "payment_id must be"},
		{"below the minimum", "StartPayment", with("invoice_amount", "0.5"), id, key, 400, "below the smallest payment"},
		{"twice", "GetRate", url.Values{"pos_id": {"a", "b"}}, id, key, 400, "more than once"},
		{"no payment", "CheckPayment", url.Values{"payment_id": {"123e4567-e89b-12d3-a456-426614174000"}}, id, key, 404, "not found"},
		{"no payment_id", "CancelPayment", url.Values{}, id, key, 400, "payment_id is required"},
		{"offset", "GetTransactions", url.Values{"offset": {"-1"}}, id, key, 400, "offset must be"},
		{"limit", "GetTransactions", url.Values{"limit": {"1000"}}, id, key, 400, "limit must be"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, body := m.oa(t, tt.call, tt.q, tt.user, tt.key)
			var e struct{ Err string }
			if err := json.Unmarshal([]byte(body), &e); err != nil || status != tt.status || !strings.Contains(e.Err, tt.err) || strings.Count(body, ":") < 1 {
				t.Errorf("%d %s, want %d %q", status, body, tt.status, tt.err)
			}
		})
	}
	m.nothingMade(t)
}

// TestOpenAPIPayment: GetRate's payment_id keeps its quote for
// StartPayment, which makes the payment once; CheckPayment, CancelPayment
// and GetTransactions see it; Accept and Refund of nothing held are
// refused.
func TestOpenAPIPayment(t *testing.T) {
	clk := clock.NewTest(time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC))
	q := &movingQuote{price: "80"}
	m := newMerchantEnv(t, relaytest.InvoiceOptions{Clock: clk, Quoter: q})
	q1 := url.Values{"pos_id": {"POS1"}, "invoice_currency": {"USD"}, "invoice_amount": {"10"}, "currency": {"LTC"}, "accept_zero_confirmations": {"true"}}
	var rate oaTexts
	m.oaOK(t, "GetRate", q1, &rate)
	want := map[string]string{"invoice_amount": "10", "invoice_currency": "USD", "currency": "LTC", "rate": "80", "amount_exchange": "0.12500000",
		"network_processing_fee": "0.00000000", "amount": "0.12500000", "fast_transaction_fee_currency": "LTC/Byte", "wait_time": "5 seconds"}
	for k, v := range want {
		if rate[k] != v {
			t.Errorf("GetRate %s = %q, want %q", k, rate[k], v)
		}
	}
	if len(rate["payment_id"]) != 36 {
		t.Fatalf("payment_id %q", rate["payment_id"])
	}
	m.nothingMade(t)

	// The price moves; StartPayment with the payment_id keeps GetRate's.
	q.set("100")
	q1.Set("payment_id", rate["payment_id"])
	q1.Set("reference_no", "12-23-456")
	var start oaTexts
	m.oaOK(t, "StartPayment", q1, &start)
	addr := start["address"]
	uri := "litecoin:" + addr + "?amount=0.125"
	if start["payment_id"] != rate["payment_id"] || start["amount"] != "0.12500000" || start["rate"] != "80" || start["qr"] != uri ||
		start["qr_alt"] != addr || start["qr_img"] != m.srv.URL+"/api/qr/?d="+url.QueryEscape(uri) || start["qr_alt_img"] != m.srv.URL+"/api/qr/?d="+addr {
		t.Errorf("StartPayment %v", start)
	}
	var again oaTexts
	m.oaOK(t, "StartPayment", q1, &again)
	if again["address"] != addr || again["payment_id"] != start["payment_id"] {
		t.Errorf("StartPayment again made another: %v", again)
	}
	if n, _ := m.db.NextIndex("ltc"); n != 1 {
		t.Errorf("%d addresses minted, want 1", n)
	}
	// Without a payment_id: a new payment, at the new price.
	q2 := url.Values{"pos_id": {"POS2"}, "invoice_currency": {"USD"}, "invoice_amount": {"10"}, "currency": {"LTC"}}
	var second oaTexts
	m.oaOK(t, "StartPayment", q2, &second)
	if second["amount"] != "0.10000000" || second["rate"] != "100" || second["payment_id"] == start["payment_id"] {
		t.Errorf("a second payment %v", second)
	}

	// confirmations is a string, as ForumPay's client reads it (the seed
	// shows a number, which the client's CheckPaymentResponse refuses).
	var check map[string]any
	m.oaOK(t, "CheckPayment", url.Values{"pos_id": {"POS1"}, "currency": {"LTC"}, "payment_id": {start["payment_id"]}, "address": {addr}}, &check)
	for k, v := range map[string]any{"reference_no": "12-23-456", "invoice_amount": "10", "invoice_currency": "USD", "currency": "LTC",
		"amount": "0.12500000", "payment": "0.00000000", "confirmations": "0", "min_confirmations": 0.0, "confirmed": false,
		"state": "waiting", "status": "Waiting for transaction.", "wait_time": "5 seconds", "refund_amount_opened": "0.00000000"} {
		if check[k] != v {
			t.Errorf("CheckPayment %s = %v, want %v", k, check[k], v)
		}
	}
	if status, body := m.oa(t, "CheckPayment", url.Values{"payment_id": {start["payment_id"]}, "address": {"rltc1qother"}}, m.creds.Vendor.ID, m.creds.APIKey); status != 400 {
		t.Errorf("another address: %d %s", status, body)
	}
	if status, body := m.oa(t, "AcceptPayment", url.Values{"payment_id": {start["payment_id"]}, "accepted_amount": {"0.01"}}, m.creds.Vendor.ID, m.creds.APIKey); status != 400 ||
		!strings.Contains(body, "holds no payment") {
		t.Errorf("accept with nothing held: %d %s", status, body)
	}
	if status, body := m.oa(t, "RefundPayment", url.Values{"payment_id": {start["payment_id"]}, "refund_amount": {"0.01"},
		"address_out": {"ltc1qk8hjy3lf245r7ppr2lfy8zxn8nwrmuasqrx6uc"}}, m.creds.Vendor.ID, m.creds.APIKey); status != 400 || !strings.Contains(body, "refund address") {
		t.Errorf("refund to a mainnet address: %d %s", status, body)
	}
	var cancelled map[string]any
	m.oaOK(t, "CancelPayment", url.Values{"payment_id": {second["payment_id"]}, "currency": {"LTC"}, "reason": {"other"}, "comment": {"test"}}, &cancelled)
	if cancelled["cancelled"] != true || cancelled["status"] != "Cancelled" {
		t.Errorf("CancelPayment %v", cancelled)
	}

	// GetTransactions answers {"invoices":[…]}, as ForumPay's client
	// reads it (the seed shows a list).
	var txs struct{ Invoices []map[string]any }
	m.oaOK(t, "GetTransactions", url.Values{"offset": {"0"}, "limit": {"20"}}, &txs)
	list := txs.Invoices
	if len(list) != 2 || list[0]["payment_id"] != start["payment_id"] || list[0]["status"] != "Waiting" || list[1]["status"] != "Cancelled" ||
		list[1]["cancelled"] != "2026-11-21 12:00:00" || list[0]["confirmed"] != nil || list[0]["accept_zero_confirmations"] != true ||
		list[0]["type"] != "Sell" || list[0]["pos_id"] != "POS1" {
		t.Errorf("GetTransactions %v", list)
	}
	m.oaOK(t, "GetTransactions", url.Values{"offset": {"1"}, "limit": {"1"}}, &txs)
	if list = txs.Invoices; len(list) != 1 || list[0]["payment_id"] != second["payment_id"] {
		t.Errorf("the second page %v", list)
	}
	var currencies []map[string]any
	m.oaOK(t, "GetCurrencyList", nil, &currencies)
	if len(currencies) != 1 || currencies[0]["currency"] != "LTC" || currencies[0]["zero_confirmations_max"] != "0.50000000" {
		t.Errorf("GetCurrencyList %v", currencies)
	}
}
