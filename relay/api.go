package relay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/julienschmidt/httprouter"

	"github.com/ferry-relay/ferry/chain"
)

// Handler returns the HTTP API:
//
//	GET /api/receive  LitePay's receive call: mint an input address
//	GET /healthz      node reachability and scanner height per coin
func (s *Service) Handler() http.Handler {
	rt := httprouter.New()
	rt.GET("/api/receive", s.receive)
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
		kind, msg := kindOf(err)
		if kind == KindInternal {
			s.log.Error().Err(err).Str("component", "api").Msg("receive")
		}
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
	r, ok := s.coins[method]
	if !ok {
		switch method {
		case "":
			return nil, errorf(KindInvalid, "method is required (litecoin or bitcoin)")
		case "litecoin", "bitcoin":
			return nil, errorf(KindUnavailable, "%s is not enabled on this server", method)
		}
		return nil, errorf(KindInvalid, "unknown method %.40q: use litecoin or bitcoin", method)
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
	callback, err := checkCallback(q.Get("callback"), cbReq)
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

// checkCallback validates the callback URL: required with callback_req=1,
// http or https, at most 255 characters, with a host.
func checkCallback(raw string, required bool) (string, error) {
	if raw == "" {
		if required {
			return "", errorf(KindInvalid, "callback is required with callback_req=1 (set callback_req=0 to poll instead)")
		}
		return "", nil
	}
	if len(raw) > maxCallbackLen {
		return "", errorf(KindInvalid, "callback URL is %d characters; at most %d are allowed", len(raw), maxCallbackLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", errorf(KindInvalid, "callback URL is malformed")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", errorf(KindInvalid, "callback URL must be http or https")
	}
	if u.Host == "" || u.Hostname() == "" {
		return "", errorf(KindInvalid, "callback URL has no host")
	}
	return raw, nil
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
