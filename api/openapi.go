package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/store"
)

// The "Open API" gateway's calls, version 2, as ForumPay's own PHP client
// (forumpay/payment-gateway-php-client 1.6.0) makes them: GET or POST
// /v2/<Call>/ with HTTP Basic auth (the vendor's id and api_key), asked
// for with a 401 and WWW-Authenticate (curl's CURLAUTH_ANY first tries
// without); the call's parameters in the query, or, for StartPayment and
// RequestKyc, in a posted form (openapi_params.go). Answers in JSON,
// amounts as decimal strings, errors as {"err":…} with 400, 401, 403
// (CancelPayment, AcceptPayment and RefundPayment with a key of scope
// create), 404 or 500, and never an err_code (the client reads a text
// err_code on an error status as a TypeError). Its payments
// (openapi_payments.go) hold what they do not take, for AcceptPayment and
// RefundPayment; their changes are webhooks (openapi_events.go).

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
	InvoicesByReference(ctx context.Context, vendor, dialect, ref string, offset, limit int) ([]*invoice.View, error)
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
	// tester posts Ping's test webhooks.
	tester *webhookTester
}

// routes implements part: one route, every call, by GET or POST (ForumPay's
// client posts StartPayment's form, and its later calls on the same curl
// handle are posts too).
func (oa *openAPI) routes() []route {
	var rs []route
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		rs = append(rs, route{method: method, pattern: "/v2/:call/", handle: oa.serve, budget: apiBudget,
			refuse: func(w http.ResponseWriter, msg string) {
				writeJSON(w, http.StatusTooManyRequests, openAPIErr{Err: msg})
			},
			fail: func(w http.ResponseWriter, _ *http.Request, ps httprouter.Params, err error) {
				oa.fail(w, ps.ByName("call"), err)
			},
			probe: func(req *http.Request) bool { return req.Header.Get("Authorization") == "" }})
	}
	return rs
}

// oaCall is one call: its parameters and the vendor it authenticated.
type oaCall struct {
	oa     *openAPI
	req    *http.Request
	q      url.Values
	vendor *store.Vendor
}

// oaCallDef is a call: what it does, whether it needs a key of scope all
// (it cancels a payment, or moves what one holds), and whether its
// parameters come in a posted form.
type oaCallDef struct {
	do   func(c *oaCall) (any, error)
	all  bool
	form bool
}

// oaCalls are the calls, by name.
var oaCalls = map[string]oaCallDef{
	"Ping":            {do: oaPing},
	"GetRate":         {do: oaGetRate},
	"GetRates":        {do: oaGetRates},
	"StartPayment":    {do: oaStartPayment, form: true},
	"CheckPayment":    {do: oaCheckPayment},
	"CancelPayment":   {do: oaCancelPayment, all: true},
	"AcceptPayment":   {do: oaAcceptPayment, all: true},
	"RefundPayment":   {do: oaRefundPayment, all: true},
	"GetCurrencyList": {do: oaCurrencyList},
	"GetTransactions": {do: oaTransactionList},
	"GetWalletApps":   {do: oaWalletApps},
	"RequestKyc":      {do: oaRequestKyc, form: true},
}

// oaCallNames lists the calls, for the answer to an unknown one.
var oaCallNames = func() string {
	names := make([]string, 0, len(oaCalls))
	for n := range oaCalls {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}()

// serve answers /v2/:call/.
func (oa *openAPI) serve(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
	data, err := oa.call(req, ps.ByName("call"))
	if err != nil {
		oa.fail(w, ps.ByName("call"), err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, data)
}

// fail answers call's error: {"err":…}, and never an err_code (ForumPay's
// client, under strict_types, fails on a text one with an error status).
func (oa *openAPI) fail(w http.ResponseWriter, call string, err error) {
	status, msg := oa.errs.as("openapi " + call).answer(err)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="ferry"`)
	}
	writeJSON(w, status, openAPIErr{Err: msg})
}

// call runs one call. The credentials come first, before the call's name
// or parameters are read: a client's first try without them (curl's
// CURLAUTH_ANY) is answered 401, asked for Basic auth, and changes
// nothing.
func (oa *openAPI) call(req *http.Request, name string) (any, error) {
	p, err := oa.authenticate(req)
	if err != nil {
		return nil, err
	}
	call, ok := oaCalls[name]
	if !ok {
		return nil, &ferry.Error{Kind: ferry.KindNotFound, Message: fmt.Sprintf("no call %.40q: the calls are %s", name, oaCallNames)}
	}
	q, err := oaParams(req, call.form)
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

// oaAmount writes an amount of coin as the Open API does: 8 decimals.
func oaAmount(sat ferry.Amount) string { return sat.String() }

// oaDate writes a time as the Open API does, in UTC.
func oaDate(t time.Time) string { return t.UTC().Format(time.DateTime) }

// oaDateOf is a time as the Open API writes it, or nil for none.
func oaDateOf(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	d := oaDate(t)
	return &d
}

// oaText is s, or nil for "".
func oaText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// oaWait is how often a client should ask again, as the Open API says.
const oaWait = "5 seconds"
