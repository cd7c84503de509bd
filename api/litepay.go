package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/store"
)

// LitePay's receive API: GET /api/receive and GET /api/check, in both of
// its dialects. The method parameter decides the dialect: the seed's names
// (litecoin, bitcoin) get the seed's answers; the tickers (ltc, btc) that
// LitePay's later clients send get the later ones.

// dialect is the generation of LitePay's API a request speaks.
type dialect int

const (
	// seedDialect answers /api/receive with input_address and every error
	// with 500 text/plain "Error Generating Receiving Address: …".
	seedDialect dialect = iota
	// laterDialect answers JSON with "status":"success", or
	// "status":"error" and a "message".
	laterDialect
)

// method is what an API method parameter names.
type method struct {
	coin    string // the coin's id, or "" for a coin ferry does not relay
	dialect dialect
}

// methods lists the method parameters LitePay's clients send. The later
// clients also offer coins ferry does not relay; those are refused by name.
var methods = map[string]method{
	"litecoin": {"ltc", seedDialect},
	"bitcoin":  {"btc", seedDialect},
	"ltc":      {"ltc", laterDialect},
	"btc":      {"btc", laterDialect},
	"zec":      {"", laterDialect},
	"bch":      {"", laterDialect},
	"bsv":      {"", laterDialect},
	"xmr":      {"", laterDialect},
}

// receiver is what LitePay's receive API needs of the relay.
type receiver interface {
	Mint(ctx context.Context, req relay.MintRequest) (*store.Address, error)
	Report(ctx context.Context, coin, address string) (*relay.Report, error)
	FeePercent() ferry.Fraction
}

var _ receiver = (*relay.Engine)(nil)

// litepay serves LitePay's receive API.
type litepay struct {
	relay receiver
	// errs answers the later dialect, and the seed's /api/check, with the
	// kind's own status.
	errs errorTable[int]
}

// routes implements part.
func (l *litepay) routes() []route {
	return []route{
		{method: http.MethodGet, pattern: "/api/receive", handle: l.receive, budget: apiBudget},
		{method: http.MethodGet, pattern: "/api/check", handle: l.check, budget: apiBudget},
	}
}

// receiveErrorPrefix starts every seed-dialect error body of /api/receive,
// as LitePay's.
const receiveErrorPrefix = "Error Generating Receiving Address"

// dialectOf returns the dialect of a request's method parameter, read
// leniently so that a query the API refuses is still answered in its
// client's form; an unknown or missing method is answered in the seed's.
func dialectOf(req *http.Request) dialect {
	q, _ := url.ParseQuery(req.URL.RawQuery)
	return methods[q.Get("method")].dialect
}

// receiveReply is /api/receive's answer in the seed dialect, field for
// field as LitePay's.
type receiveReply struct {
	CallbackURL  string `json:"callback_url"`
	InputAddress string `json:"input_address"`
	Destination  string `json:"destination"`
	FeePercent   string `json:"fee_percent"`
	CallbackReq  string `json:"callback_req"`
}

// laterReceiveReply is /api/receive's answer in the later dialect: what
// LitePay's later clients read (status, address, fee, callback_url,
// destination) and the seed's fields besides, since LitePay's own PHP
// example reads input_address from it.
type laterReceiveReply struct {
	Status  string      `json:"status"`
	Address string      `json:"address"`
	Fee     json.Number `json:"fee"` // the service fee in percent: 1 is 1%
	receiveReply
}

// laterError is an error in the later dialect.
type laterError struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

func (l *litepay) receive(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	reply, err := l.mintFor(req)
	d := dialectOf(req)
	switch {
	case err != nil && d == laterDialect:
		status, msg := l.errs.as("receive").answer(err)
		writeJSON(w, status, laterError{Status: "error", Message: msg})
	case err != nil:
		// The seed answers every error of /api/receive with 500.
		_, msg := l.errs.as("receive").explain(err)
		writeText(w, http.StatusInternalServerError, receiveErrorPrefix+": "+msg)
	case d == laterDialect:
		writeJSON(w, http.StatusOK, laterReceiveReply{
			Status:       "success",
			Address:      reply.InputAddress,
			Fee:          json.Number(l.relay.FeePercent().Percent()),
			receiveReply: *reply,
		})
	default:
		writeJSON(w, http.StatusOK, reply)
	}
}

// mintFor reads a receive request and mints its address.
func (l *litepay) mintFor(req *http.Request) (*receiveReply, error) {
	q, err := parseQuery(req.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	coin, err := coinOf(q.Get("method"))
	if err != nil {
		return nil, err
	}

	// The later clients leave the callback out when they want none; the
	// seed's contract asks for callback_req=0 then.
	callback := decodeTwice(q.Get("callback"))
	cbReq := true
	switch q.Get("callback_req") {
	case "":
		cbReq = callback != "" || dialectOf(req) == seedDialect
	case "1":
	case "0":
		cbReq = false
	default:
		return nil, &ferry.Error{Kind: ferry.KindInvalid, Message: "callback_req must be 0 or 1"}
	}

	a, err := l.relay.Mint(req.Context(), relay.MintRequest{Coin: coin, Destination: q.Get("address"), Callback: callback, CallbackReq: cbReq})
	if err != nil {
		return nil, err
	}
	return &receiveReply{
		CallbackURL:  callback,
		InputAddress: a.Address,
		Destination:  a.Destination,
		FeePercent:   l.relay.FeePercent().String(),
		CallbackReq:  map[bool]string{true: "1", false: "0"}[cbReq],
	}, nil
}

// coinOf returns the coin id the API's method parameter names.
func coinOf(name string) (string, error) {
	m, known := methods[name]
	switch {
	case name == "":
		return "", &ferry.Error{Kind: ferry.KindInvalid, Message: "method is required (litecoin or bitcoin)"}
	case known && m.coin == "":
		return "", &ferry.Error{Kind: ferry.KindUnsupported, Message: fmt.Sprintf("method %s is not supported: this server relays ltc and btc only", name)}
	case !known:
		return "", &ferry.Error{Kind: ferry.KindInvalid, Message: fmt.Sprintf("unknown method %.40q: use litecoin or bitcoin", name)}
	}
	return m.coin, nil
}

// laterCheckReply is /api/check's answer in LitePay's later dialect.
type laterCheckReply struct {
	Status  string `json:"status"`
	Address string `json:"address"`
	// Amount is what the address received, in coins, unconfirmed
	// payments included.
	Amount string `json:"amount"`
	// Confirmations are those of the least confirmed deposit: 0 while
	// one is unconfirmed or none was made.
	Confirmations int64    `json:"confirmations"`
	TxIDs         []string `json:"txids"`
}

// later sums a report up as LitePay's later clients read it. Deposits a
// reorg took away are not counted.
func later(r *relay.Report) laterCheckReply {
	out := laterCheckReply{Status: "success", Address: r.Address.Address, TxIDs: []string{}}
	var sum ferry.Amount
	seen := map[ferry.Hash]bool{}
	first := true
	for _, d := range r.Deposits {
		if d.State == ferry.DepositVanished {
			continue
		}
		sum += d.Value
		if first || d.Confirmations < out.Confirmations {
			out.Confirmations, first = d.Confirmations, false
		}
		if !seen[d.OutPoint.Hash] {
			seen[d.OutPoint.Hash] = true
			out.TxIDs = append(out.TxIDs, d.OutPoint.Hash.String())
		}
	}
	out.Amount = sum.Short()
	return out
}

func (l *litepay) check(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	report, err := l.report(req)
	isLater := dialectOf(req) == laterDialect
	switch {
	case err != nil:
		status, msg := l.errs.as("check").answer(err)
		var body any = map[string]string{"error": msg}
		if isLater {
			body = laterError{Status: "error", Message: msg}
		}
		writeJSON(w, status, body)
	case isLater:
		writeJSON(w, http.StatusOK, later(report))
	default:
		writeJSON(w, http.StatusOK, checkReplyOf(report))
	}
}

// report reads a check request and reports its input address.
func (l *litepay) report(req *http.Request) (*relay.Report, error) {
	q, err := parseQuery(req.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	coin, err := coinOf(q.Get("method"))
	if err != nil {
		return nil, err
	}
	return l.relay.Report(req.Context(), coin, q.Get("address"))
}

// queryParams are the parameters LitePay's calls read; each may appear
// once.
var queryParams = []string{"method", "address", "callback", "callback_req"}

// maxQuery bounds the query string of an API call.
const maxQuery = 2048

// parseQuery parses a query string strictly: malformed escapes and repeated
// parameters are errors, since a repeated address or callback is ambiguous.
func parseQuery(raw string) (url.Values, error) {
	if len(raw) > maxQuery {
		return nil, &ferry.Error{Kind: ferry.KindInvalid, Message: fmt.Sprintf("query string over %d bytes", maxQuery)}
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil, &ferry.Error{Kind: ferry.KindInvalid, Message: "malformed query string"}
	}
	for _, p := range queryParams {
		if len(q[p]) > 1 {
			return nil, &ferry.Error{Kind: ferry.KindInvalid, Message: p + " given more than once"}
		}
	}
	return q, nil
}

// decodeTwice undoes the second encoding of a URL that was percent-encoded
// before being put in the query (LitePay's PHP client calls urlencode and
// then http_build_query): a value that is itself an encoded http or https
// URL is decoded once more. Any other value is returned as it is, so a URL
// encoded once is unchanged.
func decodeTwice(raw string) string {
	low := strings.ToLower(raw)
	if !strings.HasPrefix(low, "http%3a%2f%2f") && !strings.HasPrefix(low, "https%3a%2f%2f") {
		return raw
	}
	u, err := url.QueryUnescape(raw)
	if err != nil {
		return raw // left for the URL check to refuse
	}
	return u
}
