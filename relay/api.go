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

// receiveReply is /api/receive's answer, field for field as LitePay's.
type receiveReply struct {
	CallbackURL  string `json:"callback_url"`
	InputAddress string `json:"input_address"`
	Destination  string `json:"destination"`
	FeePercent   string `json:"fee_percent"`
	CallbackReq  string `json:"callback_req"`
}

// receiveErrorPrefix starts every error body of /api/receive, as LitePay's.
const receiveErrorPrefix = "Error Generating Receiving Address"

func (s *Service) receive(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	reply, err := s.mintFor(req)
	if err != nil {
		kind, msg := s.explain(err, "receive")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(statuses[kind].litepay)
		fmt.Fprintf(w, "%s: %s\n", receiveErrorPrefix, msg)
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

	method := q.Get("method")
	r, err := s.coinFor(method)
	if err != nil {
		return nil, err
	}

	rawDest := q.Get("address")
	if rawDest == "" {
		return nil, errorf(KindInvalid, "address is required: the %s address payments are forwarded to", method)
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

	cbReq := true
	switch q.Get("callback_req") {
	case "", "1":
	case "0":
		cbReq = false
	default:
		return nil, errorf(KindInvalid, "callback_req must be 0 or 1")
	}
	callback, err := s.checkCallback(req.Context(), q.Get("callback"), cbReq)
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
func (s *Service) coinFor(method string) (*coinRunner, error) {
	if r, ok := s.coins[method]; ok {
		return r, nil
	}
	switch method {
	case "":
		return nil, errorf(KindInvalid, "method is required (litecoin or bitcoin)")
	case "litecoin", "bitcoin":
		return nil, errorf(KindUnavailable, "%s is not enabled on this server", method)
	}
	return nil, errorf(KindInvalid, "unknown method %.40q: use litecoin or bitcoin", method)
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
