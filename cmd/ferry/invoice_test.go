package main

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-relay/ferry/api/browsertest"
	"github.com/ferry-relay/ferry/mail/mailtest"
	"github.com/ferry-relay/ferry/rates"
	"github.com/ferry-relay/ferry/store"
)

// screenshotsEnv names a directory to save the page's screenshots in (the
// README's, under docs/), when set.
const screenshotsEnv = "FERRY_SCREENSHOTS"

// invoiceDaemon is ferry on a Litecoin node with invoices priced at a
// static $80 per LTC, email to a real SMTP server, and one vendor added
// with ferry vendor add through the daemon's admin socket.
type invoiceDaemon struct {
	*testDaemon
	cfg    Config
	smtp   *mailtest.Server
	vendor vendorCreds
	payout string
}

// vendorCreds is what ferry vendor add prints.
type vendorCreds struct {
	Vendor struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"vendor"`
	Secret        string `json:"secret"`
	APIKey        string `json:"api_key"`
	WebhookSecret string `json:"webhook_secret"`
}

func startInvoiceDaemon(t *testing.T, n *node) *invoiceDaemon {
	t.Helper()
	smtp := mailtest.Start(t, mailtest.Options{})
	cfg := merchantConfig(t, n)
	cfg.FiatRates = "static:LTC/USD=80"
	cfg.SMTPURL, cfg.SMTPFrom = "smtp://"+smtp.Addr(), "ferry@relay.example"
	d := &invoiceDaemon{testDaemon: startFerry(t, cfg), cfg: cfg, smtp: smtp, payout: newAddress(t, n)}
	out := vendorCLI(t, cfg.DataDir, 0, "add", "--name", "Coffee Shop", "--email", "owner@shop.example", "--ltc-address", d.payout)
	if err := json.Unmarshal([]byte(out), &d.vendor); err != nil || d.vendor.Secret == "" || d.vendor.Vendor.ID == "" {
		t.Fatalf("ferry vendor add printed %q: %v", out, err)
	}
	return d
}

// vendorCLI runs ferry vendor args on dataDir (regtest), checks its exit
// code and returns its output (stdout, or stderr on failure).
func vendorCLI(t *testing.T, dataDir string, code int, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := map[string]string{EnvName("data-dir"): dataDir, EnvName("network"): "regtest"}
	got := vendorMain(t.Context(), args, &stdout, &stderr, func(k string) string { return env[k] })
	if got != code {
		t.Fatalf("ferry vendor %q: exit %d, want %d\nstdout: %s\nstderr: %s", args, got, code, stdout.String(), stderr.String())
	}
	if code != 0 {
		return stderr.String()
	}
	return stdout.String()
}

// TestInvoiceFlow runs LitePay's merchant flow end to end on regtest: a
// shop's PHP checkout in the official class's style gets the page's URL
// from /p/; a form post to /merch/ redirects to the same invoice; the page
// in headless Chromium shows the price and a QR code of the exact BIP21
// URI; paying it turns the page to paid without a reload (and, in Tor
// Browser's safest mode, with its meta refresh); the shop's callback comes
// once it answers *ok*; the vendor's email arrives at a real SMTP server;
// and the forward pays the vendor exactly.
func TestInvoiceFlow(t *testing.T) {
	n := startNode(t, "litecoin")
	d := startInvoiceDaemon(t, n)
	const number, shopSecret = "1001", "s3cret-of-the-shop"
	shop := startPHPServer(t, "shop_callback.php", "INVOICE="+number, "SECRET="+shopSecret)

	// The shop's checkout: $10 at $80 is 0.125 LTC.
	out := runPHPFile(t, "shop_invoice.php", "FERRY="+d.URL, "SHOP="+shop.URL, "VENDOR="+d.vendor.Vendor.ID,
		"SECRET="+d.vendor.Secret, "INVOICE="+number, "PRICE=10", "SHOP_SECRET="+shopSecret)
	var created struct{ URL, Error string }
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.URL == "" {
		t.Fatalf("the PHP checkout printed %q", out)
	}
	pageURL, err := url.Parse(created.URL)
	if err != nil || pageURL.Path != "/merch/inv" || !store.IsNewInvoiceID(pageURL.Query().Get("id"), "LTPP-") {
		t.Fatalf("page URL %q", created.URL)
	}

	// The form post of a shop's checkout, the same invoice again: a 303 to
	// the same page.
	form := url.Values{"vendor": {d.vendor.Vendor.ID}, "invoice": {number}, "secret": {d.vendor.Secret}, "price": {"10"},
		"currency": {"USD"}, "callbackUrl": {shop.URL + "/callback.php"}, "returnUrl": {shop.URL + "/thanks.php"}}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.PostForm(d.URL+"/merch/", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != created.URL {
		t.Fatalf("/merch/: %d to %q, want 303 to %q", resp.StatusCode, resp.Header.Get("Location"), created.URL)
	}

	// The page at a phone's width, and as Tor Browser's safest mode shows it.
	phone := browsertest.New(t).Open(t, created.URL, 390, 844)
	tor := browsertest.NewWithoutJS(t).Open(t, created.URL, 1280, 800)
	text := phone.Text(t)
	for _, want := range []string{"Coffee Shop", "Invoice 1001", "0.125 LTC", "10.00 USD", "Waiting for your payment"} {
		if !strings.Contains(text, want) {
			t.Errorf("the page does not show %q:\n%s", want, text)
		}
	}
	shot := phone.Screenshot(t)
	qr := browsertest.DecodeQR(t, shot)
	if len(qr) != 1 || !strings.HasPrefix(qr[0], "litecoin:") || !strings.HasSuffix(qr[0], "?amount=0.125") {
		t.Fatalf("QR code %q, want litecoin:…?amount=0.125", qr)
	}
	input := strings.TrimSuffix(strings.TrimPrefix(qr[0], "litecoin:"), "?amount=0.125")
	if !strings.Contains(text, input) {
		t.Errorf("the QR code's address %s is not the one shown:\n%s", input, text)
	}
	saveScreenshot(t, "invoice-pending.png", shot)

	// The customer pays from the QR code's URI.
	const value = 12_500_000
	op := pay(t, n, input, value)
	phone.WaitText(t, "Payment seen")
	mine(t, n, 1)
	phone.WaitText(t, "Paid: thank you")
	phone.WaitText(t, "Back to the shop")
	if got := phone.Loads(); got != 1 {
		t.Errorf("the page loaded %d times, want once: it should turn paid by itself", got)
	}
	saveScreenshot(t, "invoice-paid.png", phone.Screenshot(t))
	tor.WaitText(t, "Paid: thank you")
	if tor.Loads() < 2 {
		t.Errorf("the page without a script turned paid in %d loads, want its meta refresh", tor.Loads())
	}
	for _, p := range []*browsertest.Page{phone, tor} {
		if errs := p.ConsoleErrors(); len(errs) > 0 {
			t.Errorf("console errors: %q", errs)
		}
		for _, r := range p.Requests() {
			if !strings.HasPrefix(r, d.URL+"/") {
				t.Errorf("a request to another site: %s", r)
			}
		}
	}

	// The forward pays the vendor exactly; the callback comes once, with the
	// shop's own parameters; the email arrives.
	fwd := spender(t, n, op)
	mine(t, n, 1)
	checkForward(t, n, op, value, fwd, d.payout, d.cfg.LTCFeeAddress)
	waitForLong(t, "the callback", func() bool { return len(shop.calls(t, "end", nil)) >= 1 })
	calls := shop.calls(t, "end", nil)
	c := calls[0]
	want := map[string]string{"order": number, "secret": shopSecret, "invoice": number, "status": "paid", "price": "10",
		"currency": "USD", "coin": "ltc", "value": "12500000", "input_address": input, "transaction_hash": op.Hash.String(),
		"vout": strconv.FormatUint(uint64(op.Index), 10), "confirmations": "1"}
	for k, v := range want {
		if c.Get[k] != v {
			t.Errorf("callback %s=%q, want %q", k, c.Get[k], v)
		}
	}
	if !c.Accepted {
		t.Errorf("the shop refused the callback: %v", c.Get)
	}
	mail := waitMail(t, d.smtp, 1)[0]
	for _, want := range []string{"Invoice number #1001 has been paid", input, "0.125 LTC / ~10.00 USD", op.Hash.String(), "confirmations"} {
		if !strings.Contains(mail.body, want) {
			t.Errorf("the email does not say %q:\n%s", want, mail.body)
		}
	}
	if mail.subject != "ferry Merchant | Invoice 1001 has been paid!" || mail.to != "owner@shop.example" {
		t.Errorf("email %q to %q", mail.subject, mail.to)
	}

	// Once *ok*, never again: two more blocks, no second callback or email.
	mine(t, n, 2)
	waitScanned(t, n, d.URL)
	if got := len(shop.calls(t, "start", nil)); got != 1 {
		t.Errorf("%d callbacks, want 1", got)
	}
	if got := len(mailtest.Received(t, d.smtp.Dir)); got != 1 {
		t.Errorf("%d emails, want 1", got)
	}
}

// sentMail is one email as the vendor reads it.
type sentMail struct{ subject, to, body string }

// waitMail waits until the SMTP server has count messages and returns them.
func waitMail(t *testing.T, s *mailtest.Server, count int) []sentMail {
	t.Helper()
	waitForLong(t, "the email", func() bool { return len(mailtest.Received(t, s.Dir)) >= count })
	var out []sentMail
	for _, r := range mailtest.Received(t, s.Dir) {
		m, err := mail.ReadMessage(bytes.NewReader(r.Data))
		if err != nil {
			t.Fatal(err)
		}
		var body io.Reader = m.Body
		if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			body = quotedprintable.NewReader(m.Body)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sentMail{subject: m.Header.Get("Subject"), to: strings.Join(r.RcptTos, ","), body: string(b)})
	}
	return out
}

// saveScreenshot saves a page's screenshot under $FERRY_SCREENSHOTS, when
// it is set (make screenshots: the README's pictures, in docs/).
func saveScreenshot(t *testing.T, name string, png []byte) {
	t.Helper()
	if dir := os.Getenv(screenshotsEnv); dir != "" {
		browsertest.SavePNG(t, filepath.Join(dir, name), png)
	}
}

// TestVendorCLI manages vendors with ferry vendor, with the daemon running
// (through its socket) and without it (on the store): the same answers;
// a payout address of the other coin or network is refused and adds
// nobody; the secret is never stored as given.
func TestVendorCLI(t *testing.T) {
	n := startNode(t, "litecoin")
	cfg := merchantConfig(t, n)
	d := startFerry(t, cfg)
	payout := newAddress(t, n)

	list := func() []map[string]any {
		t.Helper()
		var l struct{ Vendors []map[string]any }
		if err := json.Unmarshal([]byte(vendorCLI(t, cfg.DataDir, 0, "list")), &l); err != nil {
			t.Fatal(err)
		}
		return l.Vendors
	}
	var a vendorCreds
	if err := json.Unmarshal([]byte(vendorCLI(t, cfg.DataDir, 0, "add", "--name", "A", "--email", "a@shop.example", "--ltc-address", payout)), &a); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]string{
		{"add", "--name", "B", "--email", "b@shop.example", "--ltc-address", "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"}, // a Bitcoin address
		{"add", "--name", "B", "--email", "b@shop.example", "--ltc-address", "ltc1qw508d6qejxtdg4y5r3zarvary0c5xw7kgmn4n9"},  // mainnet
		{"add", "--name", "B", "--email", "not an email", "--ltc-address", payout},
		{"add", "--email", "b@shop.example", "--ltc-address", payout},
		{"add", "--name", "B", "--email", "b@shop.example"},
	} {
		if msg := vendorCLI(t, cfg.DataDir, 1, bad...); msg == "" {
			t.Errorf("%q: no reason given", bad)
		}
	}
	if vs := list(); len(vs) != 1 || vs[0]["id"] != a.Vendor.ID {
		t.Fatalf("vendors %v", vs)
	}

	// Through the socket, a key of scope create: it makes an order, and
	// may not cancel it; a new secret: the old one fails at once.
	var create struct {
		APIKey string `json:"api_key"`
	}
	json.Unmarshal([]byte(vendorCLI(t, cfg.DataDir, 0, "key", "add", a.Vendor.ID, "--scope", "create")), &create)
	o := restOrder(t, d.URL+"/v1/orders", create.APIKey, `{"asset_name":"LTC","target_value":"5000000"}`)
	req, _ := http.NewRequest(http.MethodPost, d.URL+"/v1/orders/"+o["id"].(string)+"/cancel", nil)
	req.Header.Set("apikey", create.APIKey)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 403 || resp.Header.Get("grpc-code") != "7" {
		t.Errorf("CancelOrder with a key of scope create: %v %v", resp, err)
	}
	vendorCLI(t, cfg.DataDir, 0, "secret", a.Vendor.ID)
	resp, err := http.PostForm(d.URL+"/p/", url.Values{"vendor": {a.Vendor.ID}, "secret": {a.Secret}, "invoice": {"1"}, "price": {"10"},
		"callbackUrl": {"https://shop.example/cb"}, "returnUrl": {"https://shop.example/"}})
	if err != nil || resp.StatusCode != 403 {
		t.Errorf("/p/ with the old secret: %v %v", resp, err)
	}

	// Offline: the same store, opened by the command itself.
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	if vs := list(); len(vs) != 1 || vs[0]["id"] != a.Vendor.ID || vs[0]["name"] != "A" {
		t.Fatalf("vendors offline %v", vs)
	}
	raw, err := os.ReadFile(filepath.Join(cfg.DataDir, "db", "CURRENT"))
	if err != nil || len(raw) == 0 {
		t.Fatalf("no store: %v", err)
	}
	if found := grepDir(t, filepath.Join(cfg.DataDir, "db"), a.Secret, a.APIKey); len(found) > 0 {
		t.Errorf("a vendor's secret or API key stored as given in %v", found)
	}
	vendorCLI(t, cfg.DataDir, 0, "remove", a.Vendor.ID)
	vendorCLI(t, cfg.DataDir, 1, "remove", a.Vendor.ID)
	if vs := list(); len(vs) != 0 {
		t.Fatalf("vendors after remove %v", vs)
	}
}

// grepDir returns the files under dir that contain any of needles.
func grepDir(t *testing.T, dir string, needles ...string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(needles, func(s string) bool { return bytes.Contains(b, []byte(s)) }) {
			found = append(found, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// priceAPI serves a price API's recorded answer (rates/testdata) locally,
// or a recorded failure with its HTTP status while failing is set.
type priceAPI struct {
	URL     string
	ok      []byte
	failing atomic.Pointer[struct {
		status int
		body   []byte
	}]
}

func startPriceAPI(t *testing.T, recorded string) *priceAPI {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../rates/testdata", recorded))
	if err != nil {
		t.Fatal(err)
	}
	a := &priceAPI{ok: b}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if f := a.failing.Load(); f != nil {
			w.WriteHeader(f.status)
			w.Write(f.body)
			return
		}
		w.Write(a.ok)
	}))
	t.Cleanup(srv.Close)
	a.URL = srv.URL
	return a
}

// fail makes the API answer status with the recorded body.
func (a *priceAPI) fail(t *testing.T, status int, recorded string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../rates/testdata", recorded))
	if err != nil {
		t.Fatal(err)
	}
	a.failing.Store(&struct {
		status int
		body   []byte
	}{status, b})
}

// TestFiatRateSources prices an invoice with each real price API, its
// recorded answer served locally (--fiat-rates-url): $10 at CoinGecko's
// and Kraken's 80.12 is 0.12481279 LTC, rounded up to the satoshi. While
// the API fails, /p/ says so and creates nothing: the invoice made once it
// answers again is the first.
func TestFiatRateSources(t *testing.T) {
	n := startNode(t, "litecoin")
	for _, tt := range []struct {
		source, recorded, failure string
		status                    int
	}{
		{"coingecko", "coingecko/simple_price.json", "coingecko/rate_limited.json", http.StatusTooManyRequests},
		{"kraken", "kraken/ticker.json", "kraken/unavailable.json", http.StatusOK},
	} {
		t.Run(tt.source, func(t *testing.T) {
			prices := startPriceAPI(t, tt.recorded)
			cfg := merchantConfig(t, n)
			cfg.FiatRates, cfg.FiatRatesURL = tt.source, prices.URL
			// A vendor added before the daemon's first start, on the store.
			var v vendorCreds
			out := vendorCLI(t, cfg.DataDir, 0, "add", "--name", "Tea Shop", "--email", "tea@shop.example", "--ltc-address", newAddress(t, n))
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Fatal(err)
			}
			d := startFerry(t, cfg)
			form := url.Values{"vendor": {v.Vendor.ID}, "invoice": {"7"}, "secret": {v.Secret}, "price": {"10"},
				"callbackUrl": {"http://127.0.0.1:9/cb"}, "returnUrl": {"http://127.0.0.1:9/thanks"}}

			prices.fail(t, tt.status, tt.failure)
			reply := postP(t, d.URL, form)
			if reply.Status != "error" || !strings.Contains(reply.Message, "LTC/USD rate is unavailable") {
				t.Errorf("/p/ with the price API failing: %+v", reply)
			}

			// A failure is the answer for rates.FailureTTL: asked again until
			// the API's answer comes through, each refusal creating nothing.
			prices.failing.Store(nil)
			deadline := time.Now().Add(rates.FailureTTL + 20*time.Second)
			for reply = postP(t, d.URL, form); reply.Status == "error" && time.Now().Before(deadline); reply = postP(t, d.URL, form) {
				if !strings.Contains(reply.Message, "LTC/USD rate is unavailable") {
					t.Fatalf("/p/ while the failure is remembered: %+v", reply)
				}
				time.Sleep(500 * time.Millisecond) // a poll, not a timing assertion
			}
			if u, err := url.Parse(reply.URL); reply.Status != "success" || err != nil || !store.IsNewInvoiceID(u.Query().Get("id"), "LTPP-") {
				t.Fatalf("/p/: %+v", reply)
			}
			page := httpGet(t, reply.URL)
			for _, want := range []string{"0.12481279 LTC", "10.00 USD"} {
				if !strings.Contains(page, want) {
					t.Errorf("the page does not show %q", want)
				}
			}
		})
	}
}

// pReply is /p/'s answer.
type pReply struct{ Status, URL, Message string }

func postP(t *testing.T, base string, form url.Values) pReply {
	t.Helper()
	resp, err := http.PostForm(base+"/p/", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r pReply
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

func httpGet(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", u, resp.StatusCode, err)
	}
	return string(b)
}
