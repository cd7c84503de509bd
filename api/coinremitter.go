package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/store"
)

// Coinremitter's API, version 3: POST /api/v3/<LTC|BTC>/<action>, a form
// (urlencoded or multipart; JSON too, as its later plugins post it) with
// the vendor's api_key and its secret as password, answered with
// {"flag","msg","action","data"}: flag 1 on success; 0 on a failure (HTTP
// 200; 500 for an internal error); 2 on a validation error (HTTP 200). Its
// invoices (coinremitter_invoice.go) hold what they do not take.

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

// crCall is one call: its coin, its form, and the vendor it authenticated.
type crCall struct {
	s      *Server
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
		"get-balance":                crCustodial,
		"accept-payment":             crAccept,
		"refund-payment":             crRefund,
	}
	crOpen = map[string]bool{"get-coin-rate": true}
)

// coinremitter answers POST /api/v3/:coin/:action.
func (s *Server) coinremitter(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
	action := ps.ByName("action")
	status, reply := s.coinremitterCall(req, ps.ByName("coin"), action)
	writeJSON(w, status, reply)
}

// coinremitterCall runs one call and returns its answer.
func (s *Server) coinremitterCall(req *http.Request, ticker, action string) (int, crReply) {
	do, known := crActions[action]
	if !known {
		return http.StatusNotFound, crReply{Flag: crFail, Msg: fmt.Sprintf("Unknown action %.40q.", action), Action: clipText(action), Data: crNone}
	}
	fail := func(err error) (int, crReply) {
		var ce *crError
		if !errors.As(err, &ce) {
			ce = s.crExplain(err, action)
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
	coin := strings.ToLower(ticker)
	if chain.CoinName(coin) == "" || !s.runs(coin) {
		return http.StatusNotFound, crReply{Flag: crFail, Msg: fmt.Sprintf("Coin %.10q is not supported: this server relays %s.", ticker,
			strings.ToUpper(strings.Join(s.engine.Coins(), " and "))), Action: action, Data: crNone}
	}
	if s.invoices == nil {
		return fail(errNoInvoices)
	}
	form, err := crForm(req)
	if err != nil {
		return fail(err)
	}
	c := &crCall{s: s, req: req, coin: coin, form: form}
	if !crOpen[action] {
		if c.vendor, err = s.crAuthenticate(c); err != nil {
			return fail(err)
		}
	}
	data, msg, err := do(c)
	if err != nil {
		return fail(err)
	}
	return http.StatusOK, crReply{Flag: crOK, Msg: msg, Action: action, Data: data}
}

// runs reports whether the server relays coin.
func (s *Server) runs(coin string) bool {
	for _, c := range s.engine.Coins() {
		if c == coin {
			return true
		}
	}
	return false
}

// crExplain turns an engine error into Coinremitter's words: a refused
// request is a validation error; a wrong key, something not found or in
// the wrong state a failure; an internal error a failure with 500.
func (s *Server) crExplain(err error, action string) *crError {
	kind, msg := s.explain(err, "coinremitter "+action)
	switch kind {
	case ferry.KindInvalid, ferry.KindTooLarge:
		return &crError{flag: crInvalid, status: http.StatusOK, msg: crSentence(msg)}
	case ferry.KindUnauthorized:
		return errCRCredentials
	case ferry.KindInternal:
		return &crError{flag: crFail, status: http.StatusInternalServerError, msg: crOops}
	}
	return &crError{flag: crFail, status: http.StatusOK, msg: crSentence(msg)}
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

// crAuthenticate returns the vendor whose api_key and secret (password)
// the call carries. The secret may do all the vendor may, so the key's
// scope does not matter: every action, accept-payment and refund-payment
// too, is the secret's.
func (s *Server) crAuthenticate(c *crCall) (*store.Vendor, error) {
	if err := c.required("api_key", "password"); err != nil {
		return nil, err
	}
	var v *store.Vendor
	p, err := s.invoices.VendorByAPIKey(c.req.Context(), c.form.Get("api_key"))
	if err == nil {
		v, err = s.invoices.Authenticate(c.req.Context(), p.Vendor.ID, c.form.Get("password"))
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

// crNumber is a number as Laravel's numeric rule takes it: digits, and a
// point with more; no sign, exponent or thousands separator ("1,000" is
// refused, as Coinremitter warns).
var crNumber = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// amount reads a positive amount of the call's coin from field.
func (c *crCall) amount(field string) (ferry.Amount, error) {
	if err := c.required(field); err != nil {
		return 0, err
	}
	raw := strings.TrimSpace(c.form.Get(field))
	if !crNumber.MatchString(raw) {
		return 0, crInvalidf("The %s must be a number.", crName(field))
	}
	sat, err := ferry.ParseAmount(raw)
	if err != nil {
		return 0, crInvalidf("The %s must be an amount of %s with at most 8 decimals.", crName(field), strings.ToUpper(c.coin))
	}
	if sat <= 0 {
		return 0, crInvalidf("The %s must be greater than 0.", crName(field))
	}
	return sat, nil
}

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
	body, err := io.ReadAll(http.MaxBytesReader(nil, req.Body, maxForm))
	if err != nil {
		return nil, crInvalidf("The body cannot be read (at most %d KiB).", maxForm>>10)
	}
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&obj); err != nil || trailing(dec, body) {
		return nil, crInvalidf("The body must be one JSON object.")
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

// crNewAddress is get-new-address: an input address forwarding to the
// vendor's payout address, with its label and the link of its QR code.
func crNewAddress(c *crCall) (any, string, error) {
	label := c.form.Get("label")
	if len(label) > 100 {
		return nil, "", crInvalidf("The label may not be greater than 100 characters.")
	}
	a, err := c.s.invoices.NewAddress(c.req.Context(), c.vendor, c.coin, label)
	if err != nil {
		return nil, "", err
	}
	return struct {
		Address string `json:"address"`
		Label   string `json:"label"`
		QRCode  string `json:"qr_code"`
	}{a.Address, label, qrLink(c.s.baseURL(c.req), chain.CoinName(c.coin)+":"+a.Address)}, "New address created successfully.", nil
}

// crValidateAddress is validate-address: whether address is one of the
// coin on ferry's network (flag 1 either way).
func crValidateAddress(c *crCall) (any, string, error) {
	if err := c.required("address"); err != nil {
		return nil, "", err
	}
	_, err := c.s.destination(c.coin, c.form.Get("address"))
	return struct {
		Valid bool `json:"valid"`
	}{err == nil}, "Success !", nil
}

// destination parses an address of coin on the server's network.
func (s *Server) destination(coin, address string) (chain.Destination, error) {
	net, err := chain.ParseNetwork(s.cfg.Network)
	if err != nil {
		return chain.Destination{}, err
	}
	cc, err := chain.CoinByID(coin, net)
	if err != nil {
		return chain.Destination{}, err
	}
	return cc.ParseDestination(address)
}

// crCustodial answers withdraw and get-balance: ferry holds no balance.
func crCustodial(c *crCall) (any, string, error) {
	return nil, "", crFailf("%s", crNonCustodial)
}

// crGetTransaction is get-transaction: a deposit to one of the vendor's
// addresses ("<txid>:<vout>"), or the forward or refund that paid it out
// (that and ":out").
func crGetTransaction(c *crCall) (any, string, error) {
	if err := c.required("id"); err != nil {
		return nil, "", err
	}
	t, err := c.s.invoices.Transaction(c.req.Context(), c.vendor.ID, c.coin, c.form.Get("id"))
	if k, _ := ferry.Explain(err); err != nil && k == ferry.KindNotFound {
		return nil, "", crFailf("Transaction not found.")
	}
	if err != nil {
		return nil, "", err
	}
	return crTransaction(c.vendor, *t), "success", nil
}

// crTransactionsByAddress is get-transaction-by-address: every deposit to
// one of the vendor's addresses, and what paid each out.
func crTransactionsByAddress(c *crCall) (any, string, error) {
	if err := c.required("address"); err != nil {
		return nil, "", err
	}
	ts, err := c.s.invoices.Transactions(c.req.Context(), c.vendor.ID, c.coin, c.form.Get("address"))
	if k, _ := ferry.Explain(err); err != nil && k == ferry.KindNotFound {
		return nil, "", crFailf("Address not found: it is not one of yours.")
	}
	if err != nil {
		return nil, "", err
	}
	out := make([]any, 0, len(ts))
	for _, t := range ts {
		out = append(out, crTransaction(c.vendor, t))
	}
	return out, "success", nil
}

// crTxReceive is a deposit as Coinremitter shows a transaction.
type crTxReceive struct {
	ID            string `json:"id"`
	TxID          string `json:"txid"`
	ExplorerURL   string `json:"explorer_url"`
	Type          string `json:"type"`
	MerchantID    string `json:"merchant_id"`
	CoinShortName string `json:"coin_short_name"`
	WalletID      string `json:"wallet_id"`
	WalletName    string `json:"wallet_name"`
	Address       string `json:"address"`
	Amount        string `json:"amount"`
	Confirmations int64  `json:"confirmations"`
	Date          string `json:"date"`
}

// crTxSend is a forward or refund as Coinremitter shows a transaction
// sent, with ferry's status of it.
type crTxSend struct {
	crTxReceive
	TransactionFees string `json:"transaction_fees"`
	ProcessingFees  string `json:"processing_fees"`
	TotalAmount     string `json:"total_amount"`
}

// crTransaction is t in Coinremitter's fields: a deposit is received; its
// forward or refund is sent, with the network fee (transaction_fees) and
// the service fee (processing_fees) that came out of the deposit
// (total_amount).
func crTransaction(v *store.Vendor, t invoice.Transaction) any {
	coin := string(t.Deposit.Coin)
	r := crTxReceive{ID: t.ID(), TxID: t.TxID().String(), Type: "receive", MerchantID: v.ID, CoinShortName: t.Deposit.Coin.Ticker(),
		WalletID: crWallet(v, coin), WalletName: v.Name, Address: t.To, Amount: t.Amount().Short(),
		Confirmations: t.Confirmations, Date: crDate(t.Time)}
	if t.Kind == invoice.KindDeposit {
		return r
	}
	r.Type = "send"
	return crTxSend{crTxReceive: r, TransactionFees: t.NetworkFee().String(), ProcessingFees: t.ServiceFee().String(),
		TotalAmount: t.Total().Short()}
}

// crWallet is a vendor's wallet id in a coin: its id and the ticker.
func crWallet(v *store.Vendor, coin string) string { return v.ID + "-" + strings.ToUpper(coin) }

// crFiatToCrypto is get-fiat-to-crypto-rate: fiat_amount of fiat_symbol
// in the coin, at the price an invoice would be quoted at now.
func crFiatToCrypto(c *crCall) (any, string, error) {
	if err := c.required("fiat_symbol", "fiat_amount"); err != nil {
		return nil, "", err
	}
	amount := strings.TrimSpace(c.form.Get("fiat_amount"))
	if !crNumber.MatchString(amount) {
		return nil, "", crInvalidf("The fiat amount must be a number.")
	}
	fiat := strings.ToUpper(strings.TrimSpace(c.form.Get("fiat_symbol")))
	if chain.CoinName(strings.ToLower(fiat)) != "" {
		return nil, "", crInvalidf("The selected fiat symbol is invalid.")
	}
	q, err := c.s.invoices.Quote(c.req.Context(), amount, fiat, c.coin)
	if err != nil {
		return nil, "", err
	}
	return struct {
		CryptoAmount   string `json:"crypto_amount"`
		CryptoSymbol   string `json:"crypto_symbol"`
		CryptoCurrency string `json:"crypto_currency"`
		FiatAmount     string `json:"fiat_amount"`
		FiatSymbol     string `json:"fiat_symbol"`
	}{ferry.Amount(q.Coin.Due).String(), strings.ToUpper(c.coin), crCoinName(c.coin), q.Amount, q.Currency}, "success", nil
}

// crCoinName is a coin's full name: "Litecoin".
func crCoinName(coin string) string {
	n := chain.CoinName(coin)
	return strings.ToUpper(n[:1]) + n[1:]
}

// crCoinRate is get-coin-rate: the USD price of each coin ferry relays.
func crCoinRate(c *crCall) (any, string, error) {
	type rate struct {
		Symbol string      `json:"symbol"`
		Name   string      `json:"name"`
		Price  json.Number `json:"price"`
	}
	out := map[string]rate{}
	for _, coin := range c.s.engine.Coins() {
		q, err := c.s.invoices.Quote(c.req.Context(), "1", "USD", coin)
		if err != nil {
			return nil, "", err
		}
		out[strings.ToUpper(coin)] = rate{strings.ToUpper(coin), crCoinName(coin), json.Number(q.Coin.Rate)}
	}
	return out, "success", nil
}
