package api

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/rates"
)

// The hosted payment page of an invoice: /merch/inv?id=…[&coin=…], its
// status as JSON for the page's script at /merch/inv/status?id=…, and the
// page's assets under /assets/. Everything the page shows is rendered on
// the server, the QR code included, so that it works without JavaScript
// (Tor Browser's safest mode: a meta refresh then keeps it current); with
// JavaScript, it updates itself without a reload. It makes no request to
// any other site, under a strict Content-Security-Policy.

//go:embed page
var pageFS embed.FS

var pageTmpl = template.Must(template.ParseFS(pageFS, "page/invoice.html"))

// pageCSP lets the page load only its own stylesheet and script, and call
// only its own status URL.
const pageCSP = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// pageRefresh is how often a page without JavaScript reloads while its
// invoice may still change.
const pageRefresh = 15

// pageCoin is a coin the customer may choose.
type pageCoin struct {
	Ticker, URL string
	Current     bool
}

// pageData is what the page template shows.
type pageData struct {
	ID, Number, Vendor     string
	Amount, Currency       string
	Coin, Ticker, CoinName string
	Due, Seen, Confirmed   string
	Address                string
	// URI is the BIP21 payment URI, made of the coin's name, an address
	// ferry minted and an amount it formatted: html/template would
	// otherwise refuse its scheme.
	URI template.URL
	// QR is the URI's QR code, drawn for the page only (not for its
	// status, which the script polls).
	QR                      template.HTML
	Status, StatusText      string
	Final, Paid             bool
	QuoteExpires            time.Time
	QuoteRunOut, FiatPriced bool
	QuoteLeft               string
	MinPayment              string
	Expires                 time.Time
	Coins                   []pageCoin
	ReturnURL               string
	StatusURL               string
	Refresh                 int
}

// statusText says a status to the customer.
var statusText = map[ferry.InvoiceStatus]string{
	ferry.InvoicePending:     "Waiting for your payment",
	ferry.InvoiceUnconfirmed: "Payment seen: waiting for its confirmation",
	ferry.InvoicePaid:        "Paid: thank you",
	ferry.InvoiceOverpaid:    "Paid (more than the amount): thank you",
	ferry.InvoiceUnderpaid:   "Part paid: the rest is still due",
	ferry.InvoiceExpired:     "Expired: this invoice can no longer be paid",
	ferry.InvoiceCancelled:   "Cancelled",
}

// pageInvoices is what the payment page needs of the invoice engine: an
// invoice to show (its quote renewed when it ran out), and its status.
type pageInvoices interface {
	Show(ctx context.Context, id string) (*invoice.View, error)
	viewer
}

var _ pageInvoices = (*invoice.Engine)(nil)

// page serves the invoices' payment pages and their status.
type page struct {
	invoices pageInvoices
	clock    clock.Clock
	errs     errorTable[int]
	// qrs keeps the pages' QR codes.
	qrs qrCache[template.HTML]
}

// routes implements part: the pages draw on a budget of their own; their
// status refuses a client past it in JSON. A server without invoices has
// no pages: they are not found.
func (p *page) routes() []route {
	return []route{
		{method: http.MethodGet, pattern: "/merch/inv", handle: p.page, budget: pageBudget},
		{method: http.MethodGet, pattern: "/merch/inv/status", handle: p.status, budget: pageBudget, refuse: refuseJSON},
	}
}

// refuseJSON refuses in JSON: {"error":…}.
func refuseJSON(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": msg})
}

// page answers GET /merch/inv?id=…[&coin=…].
func (p *page) page(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	q := req.URL.Query()
	v, err := p.invoices.Show(req.Context(), q.Get("id"))
	if err != nil {
		status, msg := p.errs.answer(err)
		writeText(w, status, msg)
		return
	}
	d, err := p.data(v, q.Get("coin"))
	if err == nil && !d.Final {
		d.QR, err = p.qrs.get(string(d.URI), qrSVG)
	}
	if err != nil {
		p.errs.explain(err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, d); err != nil {
		p.errs.explain(err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

// data prepares an invoice's page in coin ("" for the one the customer
// paid in, or the first).
func (p *page) data(v *invoice.View, coin string) (*pageData, error) {
	c, ok := v.Coin(coin)
	if !ok {
		c = v.Paying()
	}
	name := chain.CoinName(c.Coin)
	ticker := strings.ToUpper(c.Coin)
	// The URI asks for what is left to pay, but never less than a payment
	// the relay forwards.
	left := max(c.Due-c.Seen, 0)
	if left == 0 {
		left = c.Due
	}
	left = max(left, c.MinPayment)
	uri := name + ":" + c.Address + "?amount=" + ferry.Amount(left).Short()
	d := &pageData{
		ID: v.ID, Number: v.Number, Amount: v.Amount, Currency: v.Currency,
		Coin: c.Coin, Ticker: ticker, CoinName: name,
		Due: ferry.Amount(c.Due).Short(), Seen: ferry.Amount(c.Seen).Short(), Confirmed: ferry.Amount(c.Confirmed).Short(),
		Address: c.Address, URI: template.URL(uri), MinPayment: ferry.Amount(c.MinPayment).Short(),
		Status: string(v.Status), StatusText: statusText[v.Status],
		Final: v.Status.Final(), Paid: v.Status == ferry.InvoicePaid || v.Status == ferry.InvoiceOverpaid,
		QuoteExpires: c.QuoteExpires, FiatPriced: c.Rate != "",
		Expires:   v.Expires,
		StatusURL: "/merch/inv/status?id=" + url.QueryEscape(v.ID) + "&coin=" + c.Coin,
		Refresh:   pageRefresh,
	}
	if pageShowsOwn(v.Dialect) {
		d.ReturnURL = v.ReturnURL
	} else {
		d.Number = ""
	}
	if d.Number == "" {
		d.Number = v.ID
	}
	if a, err := rates.ParseDecimal(v.Amount); err == nil && d.FiatPriced {
		d.Amount = a.Fixed(rates.MinorUnits(v.Currency)) // 10 USD is 10.00 USD
	}
	if name != "" {
		d.CoinName = strings.ToUpper(name[:1]) + name[1:]
	}
	if v.Vendor != nil {
		d.Vendor = v.Vendor.Name
	}
	if d.FiatPriced && !c.QuoteExpires.IsZero() {
		rest := c.QuoteExpires.Sub(p.clock.Now())
		d.QuoteRunOut = rest < 0
		d.QuoteLeft = timeLeft(rest)
	}
	if len(v.Coins) > 1 {
		for _, o := range v.Coins {
			d.Coins = append(d.Coins, pageCoin{Ticker: strings.ToUpper(o.Coin), URL: "/merch/inv?id=" + url.QueryEscape(v.ID) + "&coin=" + o.Coin, Current: o.Coin == c.Coin})
		}
	}
	return d, nil
}

// pageShowsOwn reports whether the page of a dialect's invoice shows the
// vendor's own fields, its number for the invoice and the link back to
// the shop: LitePay's and Coinremitter's invoices, whose hosted pages
// show them. The page shows nothing a dialect's public call hides: a
// Payscrypt order's public view leaves out merchant_order_id and
// callback_url, and the Open API's payment_id is for its authenticated
// calls (Fluxcord's payments have neither).
func pageShowsOwn(dialect string) bool {
	return dialect == "" || dialect == coinremitterDialect
}

// timeLeft says how long a quote has left, for a page without JavaScript
// (its script counts down by the second).
func timeLeft(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d < time.Minute:
		return " (less than a minute left)"
	case d < 2*time.Minute:
		return " (1 minute left)"
	}
	return fmt.Sprintf(" (%d minutes left)", int(d/time.Minute))
}

// pageStatus is what the page's script polls.
type pageStatus struct {
	Status     string `json:"status"`
	StatusText string `json:"status_text"`
	Final      bool   `json:"final"`
	Paid       bool   `json:"paid"`
	Seen       string `json:"seen"`
	Confirmed  string `json:"confirmed"`
	Due        string `json:"due"`
	// Reload asks the page to load again: its quote ran out and a new one
	// is made when it does.
	Reload bool `json:"reload"`
}

// status answers GET /merch/inv/status?id=…&coin=….
func (p *page) status(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	q := req.URL.Query()
	v, err := p.invoices.Get(req.Context(), q.Get("id"))
	var d *pageData
	if err == nil {
		d, err = p.data(v, q.Get("coin"))
	}
	if err != nil {
		status, msg := p.errs.as("page status").answer(err)
		writeJSON(w, status, map[string]string{"error": msg})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, pageStatus{Status: d.Status, StatusText: d.StatusText, Final: d.Final, Paid: d.Paid,
		Seen: d.Seen, Confirmed: d.Confirmed, Due: d.Due, Reload: d.QuoteRunOut && v.Status == ferry.InvoicePending})
}

// assets serves the page's stylesheet and script.
func assets() http.Handler {
	sub, _ := fs.Sub(pageFS, "page/assets")
	files := http.FileServer(http.FS(sub))
	return http.StripPrefix("/assets/", http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, req)
	}))
}
