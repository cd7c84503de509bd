package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/store"
)

// The "Open API" gateway's calls, version 2: GET /v2/<Call>/ with HTTP
// Basic auth (the vendor's id and api_key) and the call's parameters in
// the query; answers in JSON, amounts as decimal strings, errors as
// {"err":…} with 400, 401, 403 (CancelPayment, AcceptPayment and
// RefundPayment with a key of scope create), 404 or 500. Its payments
// (openapi_payments.go) hold what they do not take, for AcceptPayment and
// RefundPayment.

// openAPIDialect names the Open API's payments.
const openAPIDialect = "openapi"

// openAPIErr is the Open API's error.
type openAPIErr struct {
	Err string `json:"err"`
}

// openAPIStatuses is the HTTP status of each kind of error: the Open API
// knows 400, 401, 404 and 500; ferry adds 403, for a key whose scope does
// not allow the call.
var openAPIStatuses = httpStatuses.with(map[ferry.Kind]int{
	ferry.KindUnavailable: http.StatusInternalServerError,
	ferry.KindConflict:    http.StatusBadRequest,
	ferry.KindTooLarge:    http.StatusBadRequest,
	ferry.KindLimit:       http.StatusBadRequest,
})

// oaRelay is what the Open API needs of the relay.
type oaRelay interface {
	coinLister
	MinDeposit(coin string) ferry.Amount
	FeeRate(ctx context.Context, coin string) (int64, error)
}

// oaInvoices is what the Open API's payments need of the invoice engine,
// besides what they hold (holds).
type oaInvoices interface {
	creator
	finder
	canceller
	Invoices(ctx context.Context, vendor, dialect string, offset, limit int) ([]*invoice.View, error)
}

var (
	_ oaRelay    = (*relay.Engine)(nil)
	_ oaInvoices = (*invoice.Engine)(nil)
)

// openAPI serves the Open API.
type openAPI struct {
	relay    oaRelay
	keys     apiKeys
	invoices oaInvoices
	holds    holds
	quotes   quoter
	links    *links
	clock    clock.Clock
	// confirmations, zeroConf and sessionExpiry are Config's.
	confirmations int64
	zeroConf      map[string]ferry.Amount
	sessionExpiry time.Duration
	errs          errorTable[int]
	// reserved keeps the quotes GetRate handed out.
	reserved quotes
}

// routes implements part: one route, every call.
func (oa *openAPI) routes() []route {
	return []route{{method: http.MethodGet, pattern: "/v2/:call/", handle: oa.serve, budget: apiBudget,
		refuse: func(w http.ResponseWriter, msg string) {
			writeJSON(w, http.StatusTooManyRequests, openAPIErr{Err: msg})
		},
		fail: func(w http.ResponseWriter, _ *http.Request, ps httprouter.Params, err error) {
			oa.fail(w, ps.ByName("call"), err)
		}}}
}

// oaCall is one call: its parameters and the vendor it authenticated.
type oaCall struct {
	oa     *openAPI
	req    *http.Request
	q      url.Values
	vendor *store.Vendor
}

// oaCallDef is a call: what it does, and whether it needs a key of scope
// all (it cancels a payment, or moves what one holds).
type oaCallDef struct {
	do  func(c *oaCall) (any, error)
	all bool
}

// oaCalls are the calls, by name.
var oaCalls = map[string]oaCallDef{
	"GetRate":         {do: oaGetRate},
	"StartPayment":    {do: oaStartPayment},
	"CheckPayment":    {do: oaCheckPayment},
	"CancelPayment":   {do: oaCancelPayment, all: true},
	"AcceptPayment":   {do: oaAcceptPayment, all: true},
	"RefundPayment":   {do: oaRefundPayment, all: true},
	"GetCurrencyList": {do: oaCurrencyList},
	"GetTransactions": {do: oaTransactions},
}

// maxOAQuery bounds a call's query string (a payer's user agent may be
// long).
const maxOAQuery = 4 << 10

// serve answers GET /v2/:call/.
func (oa *openAPI) serve(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
	data, err := oa.call(req, ps.ByName("call"))
	if err != nil {
		oa.fail(w, ps.ByName("call"), err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, data)
}

// fail answers call's error.
func (oa *openAPI) fail(w http.ResponseWriter, call string, err error) {
	status, msg := oa.errs.as("openapi " + call).answer(err)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="ferry"`)
	}
	writeJSON(w, status, openAPIErr{Err: msg})
}

// call runs one call.
func (oa *openAPI) call(req *http.Request, name string) (any, error) {
	call, ok := oaCalls[name]
	if !ok {
		return nil, &ferry.Error{Kind: ferry.KindNotFound, Message: fmt.Sprintf("no call %.40q: the calls are GetRate, StartPayment, CheckPayment, "+
			"CancelPayment, AcceptPayment, RefundPayment, GetCurrencyList and GetTransactions", name)}
	}
	q, err := oaQuery(req.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	p, err := oa.authenticate(req)
	if err != nil {
		return nil, err
	}
	if call.all {
		if err := p.RequireAll(); err != nil {
			return nil, err
		}
	}
	return call.do(&oaCall{oa: oa, req: req, q: q, vendor: p.Vendor})
}

// errOAAuth is the answer to missing or wrong credentials.
var errOAAuth = &ferry.Error{Kind: ferry.KindUnauthorized, Message: "Invalid API key or authentication failed"}

// authenticate returns the vendor of a request's HTTP Basic auth, and its
// key's scope: its id as the user name, its api_key as the password.
func (oa *openAPI) authenticate(req *http.Request) (*invoice.Principal, error) {
	id, key, ok := req.BasicAuth()
	if !ok || id == "" || key == "" {
		return nil, errOAAuth
	}
	p, err := oa.keys.VendorByAPIKey(req.Context(), key)
	if k, _ := ferry.Explain(err); err != nil && k == ferry.KindUnauthorized || err == nil && p.Vendor.ID != id {
		return nil, errOAAuth
	}
	return p, err
}

// oaQuery reads a call's parameters strictly: bounded, each at most once.
func oaQuery(raw string) (url.Values, error) {
	if len(raw) > maxOAQuery {
		return nil, invalidf("the query is over %d KiB", maxOAQuery>>10)
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil, invalidf("the query cannot be read")
	}
	for k, vs := range q {
		if len(vs) > 1 {
			return nil, invalidf("%.40s given more than once", k)
		}
	}
	return q, nil
}

// required returns the parameter name, or says it is required.
func (c *oaCall) required(name string) (string, error) {
	v := strings.TrimSpace(c.q.Get(name))
	if v == "" {
		return "", invalidf("%s is required", name)
	}
	return v, nil
}

// flag reads a true-or-false parameter (absent: false).
func (c *oaCall) flag(name string) (bool, error) {
	raw := c.q.Get(name)
	if raw == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(raw)
	if err != nil {
		return false, invalidf("%s must be true or false, not %.20q", name, raw)
	}
	return b, nil
}

// coin reads the currency parameter: a coin the server relays.
func (c *oaCall) coin() (string, error) {
	cur, err := c.required("currency")
	if err != nil {
		return "", err
	}
	coin := strings.ToLower(cur)
	if chain.CoinName(coin) == "" || !runs(c.oa.relay, coin) {
		return "", &ferry.Error{Kind: ferry.KindUnsupported, Message: fmt.Sprintf("currency %.20q is not supported: this server relays %s", cur,
			strings.ToUpper(strings.Join(c.oa.relay.Coins(), " and ")))}
	}
	return coin, nil
}

// amount reads a positive amount of coin from parameter name: a decimal
// string with at most 8 decimals.
func (c *oaCall) amount(name string) (ferry.Amount, error) {
	raw, err := c.required(name)
	if err != nil {
		return 0, err
	}
	sat, err := ferry.ParseAmount(raw)
	if err != nil || sat <= 0 {
		return 0, invalidf("%s must be a positive amount with at most 8 decimals, not %.30q", name, raw)
	}
	return sat, nil
}

// oaAmount writes an amount of coin as the Open API does: 8 decimals.
func oaAmount(sat ferry.Amount) string { return sat.String() }

// oaDate writes a time as the Open API does, in UTC.
func oaDate(t time.Time) string { return t.UTC().Format(time.DateTime) }

// uuidForm is a payment_id's form.
var uuidForm = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// quotesMax bounds the quotes GetRate keeps.
const quotesMax = 10_000

// quoteHold is how long a quote of an amount in a coin (which has no
// expiry of its own) is kept for StartPayment.
const quoteHold = 15 * time.Minute

// reserved is a quote GetRate handed out, kept for StartPayment: nothing
// is minted or recorded until then.
type reserved struct {
	vendor  string
	quote   *invoice.Quote
	expires time.Time
}

// quotes keeps the quotes GetRate handed out, by payment_id, until they
// run out: the oldest go first past quotesMax. A restart forgets them
// (StartPayment then quotes again). Safe for concurrent use.
type quotes struct {
	mu    sync.Mutex
	m     map[string]reserved
	order []string
}

// put keeps r under id.
func (qs *quotes) put(id string, r reserved) {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	if qs.m == nil {
		qs.m = map[string]reserved{}
	}
	for len(qs.order) >= quotesMax {
		delete(qs.m, qs.order[0])
		qs.order = qs.order[1:]
	}
	qs.m[id] = r
	qs.order = append(qs.order, id)
}

// take returns the quote kept under id and forgets it; false if there is
// none, or it ran out at now.
func (qs *quotes) take(id string, now time.Time) (reserved, bool) {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	r, ok := qs.m[id]
	delete(qs.m, id)
	return r, ok && now.Before(r.expires)
}

// oaRate is GetRate's answer, and the start of StartPayment's.
type oaRate struct {
	InvoiceAmount              string `json:"invoice_amount"`
	InvoiceCurrency            string `json:"invoice_currency"`
	Currency                   string `json:"currency"`
	Rate                       string `json:"rate"`
	AmountExchange             string `json:"amount_exchange"`
	NetworkProcessingFee       string `json:"network_processing_fee"`
	Amount                     string `json:"amount"`
	FastTransactionFee         string `json:"fast_transaction_fee"`
	FastTransactionFeeCurrency string `json:"fast_transaction_fee_currency"`
	WaitTime                   string `json:"wait_time"`
	PaymentID                  string `json:"payment_id"`
}

// oaWait is how often a client should ask again, as the Open API says.
const oaWait = "5 seconds"

// rate is what a payment of coin quoted q shows: the customer pays the
// amount exchanged and nothing more (the network fee of the forward comes
// out of the vendor's side); fast_transaction_fee is the fee rate ferry's
// own forwards pay now, per byte, as a hint to the payer's wallet.
func (c *oaCall) rate(coin string, invoiceAmount, invoiceCurrency string, due ferry.Amount, rate, id string) oaRate {
	if rate == "" {
		rate = "1" // an amount in the coin
	}
	r := oaRate{InvoiceAmount: invoiceAmount, InvoiceCurrency: invoiceCurrency, Currency: strings.ToUpper(coin), Rate: rate,
		AmountExchange: oaAmount(due), NetworkProcessingFee: oaAmount(0), Amount: oaAmount(due),
		FastTransactionFeeCurrency: strings.ToUpper(coin) + "/Byte", WaitTime: oaWait, PaymentID: id}
	if fr, err := c.oa.relay.FeeRate(c.req.Context(), coin); err == nil {
		r.FastTransactionFee = oaAmount(ferry.Amount((fr + 999) / 1000))
	}
	return r
}

// invoiceParams reads GetRate's and StartPayment's invoice_amount,
// invoice_currency (a fiat code, or the coin's ticker) and currency.
func (c *oaCall) invoiceParams() (amount, currency, coin string, err error) {
	if _, err = c.required("pos_id"); err != nil {
		return
	}
	if amount, err = c.required("invoice_amount"); err != nil {
		return
	}
	if currency, err = c.required("invoice_currency"); err != nil {
		return
	}
	if coin, err = c.coin(); err != nil {
		return
	}
	currency = strings.ToUpper(currency)
	if tk := strings.ToLower(currency); chain.CoinName(tk) != "" && tk != coin {
		err = invalidf("invoice_currency must be a fiat currency or %s itself, not %s", strings.ToUpper(coin), currency)
		return
	}
	if kyt, ferr := c.flag("require_kyt_for_confirmation"); ferr != nil || kyt {
		err = ferr
		if kyt {
			err = invalidf("require_kyt_for_confirmation: ferry runs no KYT check")
		}
		return
	}
	_, err = c.flag("accept_zero_confirmations")
	return
}

// oaGetRate is GetRate: the amount to pay, at the price a payment started
// now would get, and a payment_id keeping that quote for StartPayment
// while it holds (--quote-validity).
func oaGetRate(c *oaCall) (any, error) {
	amount, currency, coin, err := c.invoiceParams()
	if err != nil {
		return nil, err
	}
	q, err := c.oa.quotes.Quote(c.req.Context(), amount, currency, coin)
	if err != nil {
		return nil, err
	}
	if minimum := c.oa.relay.MinDeposit(coin); q.Coin.Due < minimum {
		return nil, invalidf("the amount is below the smallest payment this server forwards (%s %s)", ferry.Amount(minimum).Short(), strings.ToUpper(coin))
	}
	id := store.NewUUID()
	expires := q.Coin.QuoteExpires
	if expires.IsZero() {
		expires = c.oa.clock.Now().Add(quoteHold)
	}
	c.oa.reserved.put(id, reserved{vendor: c.vendor.ID, quote: q, expires: expires})
	return c.rate(coin, q.Amount, q.Currency, q.Coin.Due, q.Coin.Rate, id), nil
}

// oaCurrency is one of GetCurrencyList's currencies.
type oaCurrency struct {
	Currency string `json:"currency"`
	Name     string `json:"name"`
	// MinAmount is the smallest payment forwarded (smaller ones are the
	// operator's); ZeroConfirmationsMax the largest payment
	// accept_zero_confirmations confirms unconfirmed; Confirmations
	// those a payment needs otherwise.
	MinAmount            string `json:"min_amount"`
	ZeroConfirmationsMax string `json:"zero_confirmations_max"`
	Confirmations        int64  `json:"confirmations"`
}

// oaCurrencyList is GetCurrencyList: the coins the vendor can be paid in
// here.
func oaCurrencyList(c *oaCall) (any, error) {
	out := []oaCurrency{}
	for _, coin := range c.oa.relay.Coins() {
		if _, ok := c.vendor.Payout[coin]; !ok {
			continue
		}
		out = append(out, oaCurrency{Currency: strings.ToUpper(coin), Name: crCoinName(coin), MinAmount: oaAmount(c.oa.relay.MinDeposit(coin)),
			ZeroConfirmationsMax: oaAmount(c.oa.zeroConf[coin]), Confirmations: c.oa.confirmations})
	}
	return out, nil
}

// oaTransactions is GetTransactions: the vendor's payments, oldest first,
// limit (20; at most 100) after offset.
func oaTransactions(c *oaCall) (any, error) {
	offset, limit := 0, 20
	for _, p := range []struct {
		name string
		v    *int
		max  int
	}{{"offset", &offset, 1 << 30}, {"limit", &limit, 100}} {
		raw := c.q.Get(p.name)
		if raw == "" {
			continue
		}
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 || n > p.max {
			return nil, invalidf("%s must be a whole number from 0 to %d, not %.20q", p.name, p.max, raw)
		}
		*p.v = n
	}
	vs, err := c.oa.invoices.Invoices(c.req.Context(), c.vendor.ID, openAPIDialect, offset, limit)
	if err != nil {
		return nil, err
	}
	out := make([]oaTransaction, 0, len(vs))
	for _, v := range vs {
		t, err := c.transaction(v)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}
