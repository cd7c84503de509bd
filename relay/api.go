package relay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/ferry-relay/ferry/chain"
)

// Handler returns the HTTP API:
//
//	GET /api/receive  LitePay's receive call: mint an input address
//	GET /api/check    the state of an input address and its deposits
//	GET /healthz      node reachability and scanner height per coin
//
// The two API calls are rate limited per client IP.
func (s *Service) Handler() http.Handler {
	return s.router(s.limiter, func(req *http.Request) netip.Prefix { return clientOf(req, s.cfg.ClientIPHeader) })
}

// OnionHandler returns the same API for the onion service. Its clients all
// come from Tor's address, so they share one budget, ten times a client's.
func (s *Service) OnionHandler() http.Handler {
	return s.router(s.onionLimiter, func(*http.Request) netip.Prefix { return netip.Prefix{} })
}

func (s *Service) router(l *rateLimiter, client func(*http.Request) netip.Prefix) http.Handler {
	rt := httprouter.New()
	rt.GET("/api/receive", s.limited(l, client, s.receive))
	rt.GET("/api/check", s.limited(l, client, s.check))
	rt.GET("/healthz", s.healthz)
	return rt
}

// dialect is the generation of LitePay's API a request speaks. The method
// decides: the seed's names (litecoin, bitcoin) get the seed's answers, the
// tickers (ltc, btc) that LitePay's later clients send get the later ones.
type dialect int

const (
	// seedDialect answers /api/receive with input_address and every error
	// with 500 text/plain "Error Generating Receiving Address: …".
	seedDialect dialect = iota
	// laterDialect answers JSON with "status":"success" or
	// "status":"error" and a "message".
	laterDialect
)

// method is what an API method parameter names.
type method struct {
	coin    string // the coin's name, "litecoin" or "bitcoin"
	dialect dialect
}

// methods lists the method parameters LitePay's clients send. The later
// clients also offer coins ferry does not relay; those are refused by name.
var methods = map[string]method{
	"litecoin": {"litecoin", seedDialect},
	"bitcoin":  {"bitcoin", seedDialect},
	"ltc":      {"litecoin", laterDialect},
	"btc":      {"bitcoin", laterDialect},
	"zec":      {"", laterDialect},
	"bch":      {"", laterDialect},
	"bsv":      {"", laterDialect},
	"xmr":      {"", laterDialect},
}

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

// receiveErrorPrefix starts every error body of /api/receive, as LitePay's.
const receiveErrorPrefix = "Error Generating Receiving Address"

func (s *Service) receive(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	reply, err := s.mintFor(req)
	d := dialectOf(req)
	if err != nil {
		kind, msg := s.explain(err, "receive")
		if d == laterDialect {
			writeJSON(w, statuses[kind].ferry, laterError{Status: "error", Message: msg})
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(statuses[kind].litepay)
		fmt.Fprintf(w, "%s: %s\n", receiveErrorPrefix, msg)
		return
	}
	if d == laterDialect {
		writeJSON(w, http.StatusOK, laterReceiveReply{
			Status:       "success",
			Address:      reply.InputAddress,
			Fee:          json.Number(s.cfg.FeePercent.Percent()),
			receiveReply: *reply,
		})
		return
	}
	writeJSON(w, http.StatusOK, reply)
}

// mintFor validates a receive request and mints its address.
func (s *Service) mintFor(req *http.Request) (*receiveReply, error) {
	q, err := parseQuery(req.URL.RawQuery)
	if err != nil {
		return nil, err
	}

	m := q.Get("method")
	r, err := s.coinFor(m)
	if err != nil {
		return nil, err
	}

	rawDest := q.Get("address")
	if rawDest == "" {
		return nil, errorf(KindInvalid, "address is required: the %s address payments are forwarded to", r.Coin.Name())
	}
	dest, err := r.Coin.ParseDestination(rawDest)
	if err != nil {
		return nil, &Error{Kind: KindInvalid, Message: "invalid address: " + destError(err)}
	}
	if loop, err := r.isInputAddress(dest); err != nil {
		return nil, internal("check destination", err)
	} else if loop {
		return nil, errorf(KindInvalid, "invalid address: it is one of this server's own input addresses")
	}

	// The later clients leave the callback out when they want none; the
	// seed's contract asks for callback_req=0 then.
	callback := q.Get("callback")
	cbReq := true
	switch q.Get("callback_req") {
	case "":
		cbReq = callback != "" || dialectOf(req) == seedDialect
	case "1":
	case "0":
		cbReq = false
	default:
		return nil, errorf(KindInvalid, "callback_req must be 0 or 1")
	}
	callback, err = s.checkCallback(req.Context(), callback, cbReq)
	if err != nil {
		return nil, err
	}

	a, err := r.mint(dest, callback, cbReq)
	if err != nil {
		return nil, err
	}
	return &receiveReply{
		CallbackURL:  callback,
		InputAddress: a.Address,
		Destination:  dest.Address,
		FeePercent:   s.cfg.FeePercent.String(),
		CallbackReq:  map[bool]string{true: "1", false: "0"}[cbReq],
	}, nil
}

// coinFor returns the coin the API's method parameter names.
func (s *Service) coinFor(name string) (*coinRunner, error) {
	m, known := methods[name]
	if r, ok := s.coins[m.coin]; ok {
		return r, nil
	}
	switch {
	case name == "":
		return nil, errorf(KindInvalid, "method is required (litecoin or bitcoin)")
	case known && m.coin == "":
		return nil, errorf(KindInvalid, "method %s is not supported: this server relays ltc and btc only", name)
	case known:
		return nil, errorf(KindUnavailable, "%s is not enabled on this server", m.coin)
	}
	return nil, errorf(KindInvalid, "unknown method %.40q: use litecoin or bitcoin", name)
}

// queryParams are the parameters the API reads; each may appear once.
var queryParams = []string{"method", "address", "callback", "callback_req"}

// maxQuery bounds the query string of an API call.
const maxQuery = 2048

// parseQuery parses a query string strictly: malformed escapes and repeated
// parameters are errors, since a repeated address or callback is ambiguous.
func parseQuery(raw string) (url.Values, error) {
	if len(raw) > maxQuery {
		return nil, errorf(KindInvalid, "query string over %d bytes", maxQuery)
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil, errorf(KindInvalid, "malformed query string")
	}
	for _, p := range queryParams {
		if len(q[p]) > 1 {
			return nil, errorf(KindInvalid, "%s given more than once", p)
		}
	}
	return q, nil
}

// checkCallback validates a callback URL. Any callback must be http or
// https, at most 255 characters, with a host and no credentials. With
// callback_req=1 one is required and its host must resolve to addresses
// callbacks may reach (checked again at every dial); with callback_req=0 it
// is optional and its host is not looked up (Tor mode).
func (s *Service) checkCallback(ctx context.Context, raw string, required bool) (string, error) {
	if raw == "" {
		if required {
			return "", errorf(KindInvalid, "callback is required with callback_req=1 (set callback_req=0 to poll instead)")
		}
		return "", nil
	}
	raw = decodeTwice(raw)
	u, err := parseCallback(raw)
	if err != nil {
		return "", err
	}
	if !required {
		return raw, nil
	}
	if err := s.cfg.Callbacks.Outbound.CheckHost(ctx, u.Hostname()); err != nil {
		return "", &Error{Kind: KindInvalid, Message: "callback host refused: " + err.Error(), Err: err}
	}
	return raw, nil
}

// decodeTwice undoes the second encoding of a callback URL that was
// percent-encoded before being put in the query (LitePay's PHP client calls
// urlencode and then http_build_query): a value that is itself an encoded
// http or https URL is decoded once more. Any other value is returned as it
// is, so a URL encoded once is unchanged.
func decodeTwice(raw string) string {
	low := strings.ToLower(raw)
	if !strings.HasPrefix(low, "http%3a%2f%2f") && !strings.HasPrefix(low, "https%3a%2f%2f") {
		return raw
	}
	u, err := url.QueryUnescape(raw)
	if err != nil {
		return raw // left for parseCallback to refuse
	}
	return u
}

// parseCallback checks the form of a callback URL, without looking its
// host up.
func parseCallback(raw string) (*url.URL, error) {
	if len(raw) > maxCallbackLen {
		return nil, errorf(KindInvalid, "callback URL is %d characters; at most %d are allowed", len(raw), maxCallbackLen)
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c >= 0x7f {
			return nil, errorf(KindInvalid, "callback URL must be printable ASCII, percent-encoded, without white space")
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errorf(KindInvalid, "callback URL is malformed")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, errorf(KindInvalid, "callback URL must be http or https")
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return nil, errorf(KindInvalid, "callback URL has no host")
	}
	if strings.Contains(u.Host, "%") {
		return nil, errorf(KindInvalid, "callback URL host must not be escaped or carry an IPv6 zone")
	}
	if u.User != nil {
		return nil, errorf(KindInvalid, "callback URL must not carry credentials (user:password@)")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, errorf(KindInvalid, "callback URL has a bad port")
		}
	}
	return u, nil
}

// maxCallbackLen is LitePay's limit on callback URLs.
const maxCallbackLen = 255

// writeJSON answers with v as JSON. URLs are written as they are ("&", not
// "\u0026"), as LitePay writes them.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":"internal error"}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// destError turns a destination parse error into the client's message.
func destError(err error) string {
	switch {
	case errors.Is(err, chain.ErrWrongNetwork), errors.Is(err, chain.ErrUnsupportedAddress), errors.Is(err, chain.ErrBadAddress):
		return err.Error()
	}
	return "malformed address"
}
