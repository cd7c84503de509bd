package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/api"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/rates"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/relay/relaytest"
	"github.com/ferry-relay/ferry/store"
	"github.com/ferry-relay/ferry/torproxy"
	"github.com/ferry-relay/ferry/torproxy/dnstest"
)

// merchantEnv is an API over a test engine (its node down) with invoices
// priced by static rates, and one vendor.
type merchantEnv struct {
	srv    *httptest.Server
	engine *relay.Engine
	db     *store.DB
	inv    *invoice.Engine
	creds  *invoice.Credentials
}

func newMerchantEnv(t testing.TB, opt relaytest.InvoiceOptions) *merchantEnv {
	t.Helper()
	dns := dnstest.NewServer(t)
	dns.Set("shop.example", netip.MustParseAddr("93.184.216.34"))
	env := relaytest.NewEngine(t, relaytest.Options{Hosts: &torproxy.Dialer{Resolver: dns.Resolver()}, Started: true, Down: true})
	inv := env.Invoices(t, opt)
	creds, err := inv.AddVendor(context.Background(), invoice.NewVendor{Name: "Coffee Shop", Email: "owner@shop.example", Payout: map[string]string{"ltc": dest}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := api.DefaultConfig()
	cfg.RateLimit, cfg.PageRateLimit = 0, 0 // TestRateLimit and TestPageRateLimit test the limits
	cfg.Network = "regtest"
	if opt.Clock != nil {
		cfg.Clock = opt.Clock
	}
	srv := httptest.NewServer(api.New(cfg, env.Engine, inv).Handler())
	t.Cleanup(srv.Close)
	return &merchantEnv{srv: srv, engine: env.Engine, db: env.Store, inv: inv, creds: creds}
}

// fuzzInvoices shapes the invoice engine of the fuzz targets that create
// invoices: without a limit on open invoices, so that every execution
// can still create one (TestMaxOpenInvoices tests the limit).
var fuzzInvoices = relaytest.InvoiceOptions{Config: func(c *invoice.Config) { c.MaxOpen = 0 }}

// form is a valid merchant form for the env's vendor, with mod applied.
func (m *merchantEnv) form(mod map[string]string) url.Values {
	f := url.Values{
		"vendor": {m.creds.Vendor.ID}, "invoice": {"42"}, "secret": {m.creds.Secret}, "price": {"10"}, "currency": {"USD"},
		"callbackUrl": {"https://shop.example/cb.php?invoice=42&secret=s"}, "returnUrl": {"https://shop.example/thanks"},
	}
	for k, v := range mod {
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
	}
	return f
}

// pageID is the invoice id of a page's URL.
func pageID(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || u.Path != "/merch/inv" {
		t.Fatalf("not a page's URL: %q", raw)
	}
	return u.Query().Get("id")
}

// post posts a form, without following redirects.
func (m *merchantEnv) post(t *testing.T, path string, f url.Values) (*http.Response, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(m.srv.URL+path, f)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestMerchantCreate(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})

	// /p/: JSON with the page's URL.
	resp, body := m.post(t, "/p/", m.form(nil))
	var r struct{ Status, URL, Message string }
	if err := json.Unmarshal([]byte(body), &r); err != nil || resp.StatusCode != 200 || r.Status != "success" || !strings.HasPrefix(r.URL, m.srv.URL+"/merch/inv?id=LTPP-") {
		t.Fatalf("/p/: %d %s", resp.StatusCode, body)
	}
	first := pageID(t, r.URL)
	if !store.IsNewInvoiceID(first, "LTPP-") {
		t.Errorf("invoice id %q: want LTPP- and 24 random characters", first)
	}
	v, err := m.inv.Get(context.Background(), first)
	if err != nil {
		t.Fatal(err)
	}
	// $10 at 80 USD/LTC: 0.125 LTC exactly.
	if v.Coins[0].Due != 12_500_000 || v.Amount != "10" || v.Currency != "USD" || v.Status != ferry.InvoicePending || v.Coins[0].Rate != "80" {
		t.Errorf("invoice %+v %+v", v.Invoice, v.Coins)
	}

	// /merch/ with the same vendor and number: a redirect to the same.
	resp, _ = m.post(t, "/merch/", m.form(nil))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != r.URL {
		t.Errorf("/merch/ again: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Another number: a new invoice, the URLs encoded twice as LitePay's
	// PHP client sends them, the buyer's email too.
	f := m.form(map[string]string{
		"invoice": "43", "email": url.QueryEscape("buyer@example.com"),
		"callbackUrl": url.QueryEscape("https://shop.example/cb.php?invoice=43&secret=s"), "returnUrl": url.QueryEscape("https://shop.example/thanks?o=43"),
	})
	resp, _ = m.post(t, "/merch/", f)
	second := pageID(t, resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || !store.IsNewInvoiceID(second, "LTPP-") || second == first {
		t.Fatalf("/merch/: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	v, _ = m.inv.Get(context.Background(), second)
	if v.CallbackURL != "https://shop.example/cb.php?invoice=43&secret=s" || v.ReturnURL != "https://shop.example/thanks?o=43" || v.Email != "buyer@example.com" {
		t.Errorf("decoded fields: %q %q %q", v.CallbackURL, v.ReturnURL, v.Email)
	}

	// The page shows it.
	page, err := http.Get(m.srv.URL + "/merch/inv?id=" + second)
	if err != nil {
		t.Fatal(err)
	}
	defer page.Body.Close()
	html, _ := io.ReadAll(page.Body)
	for _, want := range []string{"Coffee Shop", "Invoice <span class=\"number\">43</span>", "0.125", "10.00 USD", v.Coins[0].Address, "<svg class=\"qr\"", "Waiting for your payment"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
}

// TestMerchantRefusals posts every wrong thing: each answers in LitePay's
// words with the reason, and creates nothing.
func TestMerchantRefusals(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})
	tests := []struct {
		name string
		mod  map[string]string
		msg  string
	}{
		{"unknown vendor", map[string]string{"vendor": "NOSUCH"}, "ERROR: Please double check the information you submitted"},
		{"wrong secret", map[string]string{"secret": "wrong"}, "ERROR: Please double check the information you submitted"},
		{"no secret", map[string]string{"secret": ""}, "You have missing fields: secret"},
		{"no price, no callback", map[string]string{"price": "", "callbackUrl": ""}, "You have missing fields: price, callbackUrl"},
		{"price 0", map[string]string{"price": "0"}, "price"},
		{"price -1", map[string]string{"price": "-1"}, "price"},
		{"price 1e9999", map[string]string{"price": "1e9999"}, "price"},
		{"price abc", map[string]string{"price": "abc"}, "price"},
		{"price with a comma", map[string]string{"price": "1,000"}, "price"},
		{"too many decimals", map[string]string{"price": "10.001"}, "price"},
		{"unknown currency", map[string]string{"currency": "XYZ"}, "unknown currency"},
		{"loopback callback", map[string]string{"callbackUrl": "http://127.0.0.1/cb"}, "callback host refused"},
		{"metadata callback", map[string]string{"callbackUrl": "http://169.254.169.254/latest/meta-data/"}, "callback host refused"},
		{"javascript return URL", map[string]string{"returnUrl": "javascript:alert(1)"}, "returnUrl"},
		{"bad email", map[string]string{"email": "not an address"}, "email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := m.post(t, "/merch/", m.form(tt.mod))
			if resp.StatusCode < 400 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || !strings.Contains(body, tt.msg) {
				t.Errorf("/merch/: %d %q, want %q", resp.StatusCode, body, tt.msg)
			}
			resp, body = m.post(t, "/p/", m.form(tt.mod))
			var r struct{ Status, Message string }
			if json.Unmarshal([]byte(body), &r) != nil || r.Status != "error" || !strings.Contains(r.Message, tt.msg) {
				t.Errorf("/p/: %d %s, want %q", resp.StatusCode, body, tt.msg)
			}
		})
	}
	if ids, _ := m.db.OpenInvoices(); len(ids) != 0 {
		t.Errorf("%d invoices created by refused requests", len(ids))
	}
	if n, _ := m.db.NextIndex("ltc"); n != 0 {
		t.Errorf("%d addresses minted by refused requests", n)
	}
}

// failingQuoter is a price source that cannot be reached: the seam where a
// rate outage is simulated.
type failingQuoter struct{}

func (failingQuoter) Price(context.Context, rates.Pair) (rates.Price, error) {
	return rates.Price{}, errors.Join(rates.ErrUnavailable, errors.New("HTTP 503"))
}

// TestMerchantRatesDown: without a price, nothing is created, and the shop
// is told why.
func TestMerchantRatesDown(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{Quoter: failingQuoter{}})
	resp, body := m.post(t, "/p/", m.form(nil))
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "LTC/USD rate is unavailable") {
		t.Errorf("/p/ with the rates down: %d %s", resp.StatusCode, body)
	}
	if ids, _ := m.db.OpenInvoices(); len(ids) != 0 {
		t.Errorf("%d invoices created without a rate", len(ids))
	}
	if n, _ := m.db.NextIndex("ltc"); n != 0 {
		t.Errorf("%d addresses minted without a rate", n)
	}
}
