package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-relay/ferry/api"
	"github.com/ferry-relay/ferry/relay/relaytest"
	"github.com/ferry-relay/ferry/store"
)

// uuidV4 is a random UUID's form: 122 random bits.
var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestDialectIDs: the id in every public URL and public call carries at
// least 96 random bits (LitePay's LTPP- and 24 base32 characters,
// Payscrypt's and Coinremitter's 24, Fluxcord's and the Open API's random
// UUIDs, the Open API payment's own id 24); Coinremitter's invoice_id is
// the vendor's display number; and walking the numbers a global counter
// would have made finds nothing, on the page, its status or a public
// call.
func TestDialectIDs(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})
	seen := map[string]bool{}
	check := func(dialect, id string, ok bool) {
		t.Helper()
		if !ok || seen[id] {
			t.Errorf("%s id %q: not random, or seen before", dialect, id)
		}
		seen[id] = true
	}
	key := map[string]string{"apikey": m.creds.APIKey}
	for i := range 3 {
		// LitePay.
		_, body := m.post(t, "/p/", m.form(map[string]string{"invoice": fmt.Sprint(100 + i)}))
		var lp struct{ URL string }
		json.Unmarshal([]byte(body), &lp)
		id := pageID(t, lp.URL)
		check("LitePay", id, store.IsNewInvoiceID(id, "LTPP-"))

		// Payscrypt.
		_, body = m.postJSON(t, "/v1/orders", fmt.Sprintf(`{"merchant_order_id":"A-%d","asset_name":"LTC","target_value":"10000000"}`, i), key)
		o := decodeOrder(t, body)
		id, _ = o["id"].(string)
		check("Payscrypt", id, store.IsNewInvoiceID(id, "") && o["redirect_url"] == m.srv.URL+"/merch/inv?id="+id)

		// Coinremitter: a random id in the page's URL; the vendor's number.
		_, r := m.cr(t, "LTC", "create-invoice", map[string]string{"amount": "0.1"})
		var cr struct {
			ID        string `json:"id"`
			InvoiceID string `json:"invoice_id"`
			URL       string `json:"url"`
		}
		json.Unmarshal(r.Data, &cr)
		check("Coinremitter", cr.ID, store.IsNewInvoiceID(cr.ID, "") && cr.URL == m.srv.URL+"/merch/inv?id="+cr.ID)
		if cr.InvoiceID != "LTC"+strconv.Itoa(i+1) {
			t.Errorf("Coinremitter invoice_id %q, want LTC%d", cr.InvoiceID, i+1)
		}

		// Fluxcord.
		_, body = m.postJSON(t, "/api/payments", `{"amountLtc":0.05}`, map[string]string{"x-api-key": m.creds.APIKey})
		var fx struct{ PaymentID, PaymentURL string }
		json.Unmarshal([]byte(body), &fx)
		check("Fluxcord", fx.PaymentID, uuidV4.MatchString(fx.PaymentID) && fx.PaymentURL == m.srv.URL+"/merch/inv?id="+fx.PaymentID)

		// The Open API: a payment_id of GetRate's, of StartPayment's, or
		// the vendor's own; the payment's own id is random whichever.
		q := url.Values{"pos_id": {"POS1"}, "invoice_currency": {"LTC"}, "invoice_amount": {"0.5"}, "currency": {"LTC"}}
		var rate oaTexts
		m.oaOK(t, "GetRate", q, &rate)
		check("Open API GetRate", rate["payment_id"], uuidV4.MatchString(rate["payment_id"]))
		q.Set("payment_id", []string{rate["payment_id"], "", fmt.Sprintf("00000000-0000-0000-0000-%012d", i)}[i])
		var start oaTexts
		m.oaOK(t, "StartPayment", q, &start)
		if i != 1 && start["payment_id"] != q.Get("payment_id") {
			t.Errorf("Open API payment_id %q, want the one given, %q", start["payment_id"], q.Get("payment_id"))
		}
		if i == 1 {
			check("Open API StartPayment", start["payment_id"], uuidV4.MatchString(start["payment_id"]))
		}
		v, err := m.inv.Find(t.Context(), m.creds.Vendor.ID, "openapi", start["payment_id"])
		if err != nil {
			t.Fatal(err)
		}
		check("Open API payment", v.ID, store.IsNewInvoiceID(v.ID, ""))
	}

	// Walking the numbers finds nothing.
	for n := range 40 {
		for _, id := range []string{fmt.Sprintf("LTPP-%d", n), fmt.Sprint(n), fmt.Sprintf("LTC%d", n), fmt.Sprintf("BTC%d", n)} {
			for _, path := range []string{"/merch/inv?id=" + id, "/merch/inv/status?id=" + id, "/v1/public/orders/" + id, "/api/payments/" + id} {
				if resp, body := m.get(t, path, nil); resp.StatusCode != http.StatusNotFound {
					t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
				}
			}
		}
	}
}

// TestPagePublicFields: an invoice's page, and its status, show nothing
// its dialect's public call hides: a Payscrypt order's page shows neither
// its merchant_order_id nor its callback_url (which may carry a shop's
// order key), but its id; a LitePay invoice's page shows the vendor's
// number and, once paid, the link back, as LitePay's does.
func TestPagePublicFields(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})
	const secretOrder, secretURL = "WC-ORDER-7781", "https://shop.example/checkout/order-received/7781/?key=wc_order_Q9xT2"
	_, body := m.postJSON(t, "/v1/orders", `{"merchant_order_id":"`+secretOrder+`","asset_name":"LTC","target_value":"10000000",`+
		`"callback_url":"`+secretURL+`","description":"two mugs"}`, map[string]string{"apikey": m.creds.APIKey})
	id, _ := decodeOrder(t, body)["id"].(string)
	page := func(path string) string {
		t.Helper()
		resp, body := m.get(t, path, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
		return body
	}
	html := page("/merch/inv?id=" + url.QueryEscape(id))
	status := page("/merch/inv/status?id=" + url.QueryEscape(id))
	for _, hidden := range []string{secretOrder, "wc_order_Q9xT2", "order-received", "two mugs"} {
		if strings.Contains(html, hidden) || strings.Contains(status, hidden) {
			t.Errorf("a Payscrypt order's page shows %q, which its public order hides", hidden)
		}
	}
	if !strings.Contains(html, `Invoice <span class="number">`+id+`</span>`) {
		t.Errorf("the Payscrypt order's page does not name it by its id:\n%s", html)
	}

	// LitePay's page: the vendor's number, and its return link.
	_, body = m.post(t, "/p/", m.form(map[string]string{"invoice": "77", "returnUrl": "https://shop.example/thanks?o=77"}))
	var lp struct{ URL string }
	json.Unmarshal([]byte(body), &lp)
	html = page("/merch/inv?id=" + url.QueryEscape(pageID(t, lp.URL)))
	for _, want := range []string{`Invoice <span class="number">77</span>`, `href="https://shop.example/thanks?o=77"`} {
		if !strings.Contains(html, want) {
			t.Errorf("LitePay's page does not show %s", want)
		}
	}
}

// TestPageRateLimit: the page and its status poll draw on a budget of
// their own per client (--page-rate-limit): past it they answer 429 with
// Retry-After, as text and as the poll's JSON; the API's budget is apart,
// each way; the next minute starts afresh.
func TestPageRateLimit(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})
	_, body := m.post(t, "/p/", m.form(nil))
	var lp struct{ URL string }
	json.Unmarshal([]byte(body), &lp)
	id := url.QueryEscape(pageID(t, lp.URL))

	clock := relaytest.Clock()
	cfg := api.DefaultConfig()
	cfg.RateLimit, cfg.PageRateLimit, cfg.Clock = 2, 3, clock
	srv := newServer(t, api.New(cfg, m.engine, m.inv))
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	pagePath, statusPath := "/merch/inv?id="+id, "/merch/inv/status?id="+id+"&coin=ltc"

	// The API's budget spent: the page still answers.
	for range 3 {
		get("/v1/public/orders/1")
	}
	if resp, _ := get("/v1/public/orders/1"); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the API past its limit: %d", resp.StatusCode)
	}
	for i, path := range []string{pagePath, statusPath, statusPath} {
		resp, body := get(path)
		if resp.StatusCode != 200 || resp.Header.Get("x-ratelimit-limit") != "3" || resp.Header.Get("x-ratelimit-remaining") != strconv.Itoa(2-i) {
			t.Fatalf("%s: %d, limit %q remaining %q: %.200s", path, resp.StatusCode, resp.Header.Get("x-ratelimit-limit"),
				resp.Header.Get("x-ratelimit-remaining"), body)
		}
	}
	if resp, body := get(pagePath); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" ||
		body != "Too Many Attempts\n" {
		t.Errorf("the page past its limit: %d %q", resp.StatusCode, body)
	}
	if resp, body := get(statusPath); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" ||
		body != `{"error":"Too Many Attempts"}`+"\n" {
		t.Errorf("the status past its limit: %d %q", resp.StatusCode, body)
	}

	// The next minute starts afresh: the page's budget spent, the API
	// answers.
	clock.Advance(time.Minute)
	for range 3 {
		get(statusPath)
	}
	if resp, _ := get("/v1/public/orders/1"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the API with the page's budget spent: %d", resp.StatusCode)
	}
	if resp, _ := get(statusPath); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the status past its limit again: %d", resp.StatusCode)
	}
}

// TestPageRateLimitFitsPolling: the default page budget takes pages open
// for a minute, polled as their script polls (read from the script
// served), ten of them behind one address, and is bounded.
func TestPageRateLimitFitsPolling(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})
	_, script := m.get(t, "/assets/page.js", nil)
	every := regexp.MustCompile(`var wait = (\d+);`).FindStringSubmatch(script)
	if every == nil {
		t.Fatalf("no poll interval in the page's script:\n%s", script)
	}
	ms, _ := strconv.Atoi(every[1])
	perPage := 60_000/ms + 1 + 4 // its polls, its load, and a no-script refresh's 4
	cfg := api.DefaultConfig()
	if cfg.PageRateLimit < 10*perPage || cfg.PageRateLimit > 10*cfg.RateLimit {
		t.Errorf("page rate limit %d: want at least %d (ten pages polling every %d ms) and at most %d", cfg.PageRateLimit, 10*perPage, ms, 10*cfg.RateLimit)
	}
}
