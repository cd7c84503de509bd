package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/store"
)

// Coinremitter's API, version 3: POST /api/v3/<LTC|BTC>/<action>, a form
// (urlencoded, as its SDKs post it, or multipart; JSON too, as its
// WooCommerce plugin posts it) with the vendor's api_key and its secret as
// password, answered with {"flag","msg","action","data"}: flag 1 on
// success; 0 on a failure (HTTP 200; 500 for an internal error); 2 on a
// validation error (HTTP 200). get-coin-rate is also where its SDKs ask
// for it, with no coin. Its invoices (coinremitter_invoice.go) hold what
// they do not take; its amounts (coinremitter_amount.go) may be floats.

// coinremitterDialect names Coinremitter's invoices.
const coinremitterDialect = "coinremitter"

// Coinremitter's flags.
const (
	crFail    = 0
	crOK      = 1
	crInvalid = 2
)

// Messages of Coinremitter's API, as its documentation gives them.
const (
	crBadCredentials = "Invalid API key or password."
	crOops           = "Oops something went wrong"
	crNonCustodial   = "ferry is non-custodial: it keeps no balance and sends nothing from one; every payment is forwarded to your own address by itself, less the service and network fees."
)

// crNone is the data of a failure: an empty array, as Coinremitter writes
// it.
var crNone = []any{}

// crReply is Coinremitter's answer.
type crReply struct {
	Flag   int    `json:"flag"`
	Msg    string `json:"msg"`
	Action string `json:"action,omitempty"`
	Data   any    `json:"data"`
}

// crError is a refusal in Coinremitter's words: its flag, HTTP status and
// message.
type crError struct {
	flag, status int
	msg          string
	// bare leaves the action out of the answer, as Coinremitter answers
	// wrong credentials.
	bare bool
}

func (e *crError) Error() string { return e.msg }

// errCRCredentials answers a wrong api_key or password.
var errCRCredentials = &crError{flag: crFail, status: http.StatusOK, msg: crBadCredentials, bare: true}

// crInvalidf is a validation error (flag 2).
func crInvalidf(format string, args ...any) error {
	return &crError{flag: crInvalid, status: http.StatusOK, msg: fmt.Sprintf(format, args...)}
}

// crFailf is a failure (flag 0, HTTP 200).
func crFailf(format string, args ...any) error {
	return &crError{flag: crFail, status: http.StatusOK, msg: fmt.Sprintf(format, args...)}
}

// coinremitterErrors is Coinremitter's answer to each kind of error: a
// refused request is a validation error; a wrong key, something not found
// or in the wrong state a failure; an internal error a failure with 500.
// An answer with no message says the engine's, as a sentence.
var coinremitterErrors = newErrorTable(crError{flag: crFail, status: http.StatusOK}, map[ferry.Kind]crError{
	ferry.KindInvalid:      {flag: crInvalid, status: http.StatusOK},
	ferry.KindTooLarge:     {flag: crInvalid, status: http.StatusOK},
	ferry.KindUnauthorized: *errCRCredentials,
	ferry.KindInternal:     {flag: crFail, status: http.StatusInternalServerError, msg: crOops},
})

// crInvoices is what Coinremitter's invoices need of the invoice engine,
// besides what they hold (holds).
type crInvoices interface {
	creator
	finder
}

// crAddresses is what Coinremitter's addresses and transactions need of
// the invoice engine.
type crAddresses interface {
	NewAddress(ctx context.Context, vendor *store.Vendor, coin, label string) (*store.Address, error)
	Transactions(ctx context.Context, vendor, coin, address string) ([]invoice.Transaction, error)
	Transaction(ctx context.Context, vendor, coin, id string) (*invoice.Transaction, error)
}

var (
	_ crInvoices  = (*invoice.Engine)(nil)
	_ crAddresses = (*invoice.Engine)(nil)
)

// coinremitter serves Coinremitter's API.
type coinremitter struct {
	relay    coinLister
	keys     apiKeys
	secrets  secrets
	invoices crInvoices
	holds    holds
	quotes   quoter
	wallet   crAddresses
	links    *links
	// network is the chain network's name; expiry the longest an invoice
	// stays payable.
	network string
	expiry  time.Duration
	errs    errorTable[crError]
}

// routes implements part: every action at /api/v3/<coin>/<action>, and
// get-coin-rate and the coin list where Coinremitter's own clients ask for
// them, with no coin in the path: the PHP SDK's get_coin_rate POSTs
// /api/get-coin-rate, the Node SDK's getCoinRate GETs
// /api/v3/get-coin-rate (with a form it labels JSON), and the WooCommerce
// plugin lists the coins with GET /get-coins.
func (cr *coinremitter) routes() []route {
	refuse := func(w http.ResponseWriter, msg string) {
		writeJSON(w, http.StatusTooManyRequests, crReply{Flag: crFail, Msg: msg, Data: crNone})
	}
	failAs := func(action string) func(http.ResponseWriter, *http.Request, httprouter.Params, error) {
		return func(w http.ResponseWriter, _ *http.Request, ps httprouter.Params, err error) {
			a := action
			if a == "" {
				a = ps.ByName("action")
			}
			status, reply := cr.fail(a, err)
			writeJSON(w, status, reply)
		}
	}
	rate := func(method, pattern, action string) route {
		return route{method: method, pattern: pattern, handle: cr.serveRates(action), budget: apiBudget, refuse: refuse, fail: failAs(action)}
	}
	return []route{
		{method: http.MethodPost, pattern: "/api/v3/:coin/:action", handle: cr.serve, budget: apiBudget, refuse: refuse, fail: failAs("")},
		rate(http.MethodPost, "/api/get-coin-rate", "get-coin-rate"),
		rate(http.MethodGet, "/api/v3/get-coin-rate", "get-coin-rate"),
		rate(http.MethodGet, "/get-coins", "get-coins"),
	}
}

// serveRates answers get-coin-rate (or get-coins, its answer under the
// WooCommerce plugin's name) asked with no coin in the path. It needs no
// credentials, as get-coin-rate never does, and reads no body: the Node
// SDK's GET carries a form labelled application/json.
func (cr *coinremitter) serveRates(action string) httprouter.Handle {
	return func(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
		data, msg, err := crCoinRate(&crCall{cr: cr, req: req})
		if err != nil {
			status, reply := cr.fail(action, err)
			writeJSON(w, status, reply)
			return
		}
		writeJSON(w, http.StatusOK, crReply{Flag: crOK, Msg: msg, Action: action, Data: data})
	}
}

// crCall is one call: its coin, its form, and the vendor it authenticated.
type crCall struct {
	cr     *coinremitter
	req    *http.Request
	coin   string
	form   url.Values
	vendor *store.Vendor
}

// crAction answers one action: the data and message of its success.
type crAction func(c *crCall) (data any, msg string, err error)

// crActions are the actions, by name; crOpen those that need no
// credentials.
var (
	crActions = map[string]crAction{
		"get-new-address":            crNewAddress,
		"validate-address":           crValidateAddress,
		"get-transaction":            crGetTransaction,
		"get-transaction-by-address": crTransactionsByAddress,
		"create-invoice":             crCreateInvoice,
		"get-invoice":                crGetInvoice,
		"get-fiat-to-crypto-rate":    crFiatToCrypto,
		"get-coin-rate":              crCoinRate,
		"withdraw":                   crCustodial,
		"get-balance":                crBalance,
		"accept-payment":             crAccept,
		"refund-payment":             crRefund,
	}
	crOpen = map[string]bool{"get-coin-rate": true}
)

// serve answers POST /api/v3/:coin/:action.
func (cr *coinremitter) serve(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
	status, reply := cr.call(req, ps.ByName("coin"), ps.ByName("action"))
	writeJSON(w, status, reply)
}

// call runs one call and returns its answer. Every answer but an internal
// error is HTTP 200, an unknown action or coin too: Coinremitter's SDKs
// show the message of an answer only with 200 (the Node SDK reports any
// other status as its number, the PHP SDK as "error").
func (cr *coinremitter) call(req *http.Request, ticker, action string) (int, crReply) {
	do, known := crActions[action]
	if !known {
		return http.StatusOK, crReply{Flag: crFail, Msg: fmt.Sprintf("Unknown action %.40q.", action), Action: clipText(action), Data: crNone}
	}
	coin := strings.ToLower(ticker)
	if chain.CoinName(coin) == "" || !runs(cr.relay, coin) {
		return http.StatusOK, crReply{Flag: crFail, Msg: fmt.Sprintf("Coin %.10q is not supported: this server relays %s.", ticker,
			strings.ToUpper(strings.Join(cr.relay.Coins(), " and "))), Action: action, Data: crNone}
	}
	form, err := crForm(req)
	if err != nil {
		return cr.fail(action, err)
	}
	c := &crCall{cr: cr, req: req, coin: coin, form: form}
	if !crOpen[action] {
		if c.vendor, err = cr.authenticate(c); err != nil {
			return cr.fail(action, err)
		}
	}
	data, msg, err := do(c)
	if err != nil {
		return cr.fail(action, err)
	}
	return http.StatusOK, crReply{Flag: crOK, Msg: msg, Action: action, Data: data}
}

// fail answers an action's error: a refusal in Coinremitter's words as
// it is, an engine error as coinremitterErrors says.
func (cr *coinremitter) fail(action string, err error) (int, crReply) {
	var ce crError
	if e := (*crError)(nil); errors.As(err, &e) {
		ce = *e
	} else {
		var msg string
		ce, msg = cr.errs.as("coinremitter " + action).answer(err)
		if ce.msg == "" {
			ce.msg = crSentence(msg)
		}
	}
	r := crReply{Flag: ce.flag, Msg: ce.msg, Action: action, Data: crNone}
	if ce.bare {
		r.Action = ""
	}
	if ce.status == http.StatusInternalServerError {
		r.Data = struct{}{}
	}
	return ce.status, r
}

// crSentence writes an engine message as Coinremitter's are written: a
// capital, and a full stop.
func crSentence(msg string) string {
	if msg == "" {
		return crOops
	}
	msg = strings.ToUpper(msg[:1]) + msg[1:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}

// authenticate returns the vendor whose api_key and secret (password)
// the call carries. The secret may do all the vendor may, so the key's
// scope does not matter: every action, accept-payment and refund-payment
// too, is the secret's.
func (cr *coinremitter) authenticate(c *crCall) (*store.Vendor, error) {
	if err := c.required("api_key", "password"); err != nil {
		return nil, err
	}
	var v *store.Vendor
	p, err := cr.keys.VendorByAPIKey(c.req.Context(), c.form.Get("api_key"))
	if err == nil {
		v, err = cr.secrets.Authenticate(c.req.Context(), p.Vendor.ID, c.form.Get("password"))
	}
	if k, _ := ferry.Explain(err); err != nil && k == ferry.KindUnauthorized {
		return nil, errCRCredentials
	}
	return v, err
}

// required checks that fields are there, in order, as Laravel says it:
// "The invoice id field is required."
func (c *crCall) required(fields ...string) error {
	for _, f := range fields {
		if strings.TrimSpace(c.form.Get(f)) == "" {
			return crInvalidf("The %s field is required.", crName(f))
		}
	}
	return nil
}

// crName is a field's name as Laravel's messages write it.
func crName(field string) string { return strings.ReplaceAll(field, "_", " ") }

// crForm reads a call's fields: a form (urlencoded or multipart), or a
// JSON object of strings, numbers and booleans; each field at most once,
// 16 KiB in all.
func crForm(req *http.Request) (url.Values, error) {
	ct := req.Header.Get("Content-Type")
	if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), "application/json") {
		f, err := parseForm(req)
		if err != nil {
			_, msg := ferry.Explain(err)
			return nil, crInvalidf("%s", crSentence(msg))
		}
		return f, nil
	}
	var obj map[string]json.RawMessage
	if err := formJSON.read(req, &obj); err != nil {
		_, msg := ferry.Explain(err)
		return nil, crInvalidf("%s", crSentence(msg))
	}
	f := url.Values{}
	for k, raw := range obj {
		var v any
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			return nil, crInvalidf("The %s field cannot be read.", crName(clipText(k)))
		}
		switch x := v.(type) {
		case string:
			f.Set(k, x)
		case json.Number:
			f.Set(k, x.String())
		case bool:
			f.Set(k, fmt.Sprint(x))
		case nil:
		default:
			return nil, crInvalidf("The %s field must be a string.", crName(clipText(k)))
		}
	}
	return f, nil
}

// clipText bounds a client's text quoted back.
func clipText(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
