// Package api is ferry's HTTP API: one file per dialect it speaks
// (LitePay's receive API in litepay.go, the health check in health.go), over
// the relay engine, which it reaches through the Engine interface it
// declares. It holds no money logic: it parses requests, calls the engine,
// and answers each error in its dialect's form.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"html/template"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/rs/zerolog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/store"
)

// Engine is what the API needs of the relay. *relay.Engine implements it.
type Engine interface {
	Mint(ctx context.Context, req relay.MintRequest) (*store.Address, error)
	Report(ctx context.Context, coin, address string) (*relay.Report, error)
	Health(ctx context.Context) relay.Health
	FeePercent() ferry.Fraction
	Coins() []string
	MinDeposit(coin string) ferry.Amount
	FeeRate(ctx context.Context, coin string) (int64, error)
}

var _ Engine = (*relay.Engine)(nil)

// Invoices is what the API needs of the invoice engine.
// *invoice.Engine implements it.
type Invoices interface {
	Authenticate(ctx context.Context, vendor, secret string) (*store.Vendor, error)
	Create(ctx context.Context, req invoice.Request) (*invoice.View, error)
	Show(ctx context.Context, id string) (*invoice.View, error)
	Get(ctx context.Context, id string) (*invoice.View, error)
	Find(ctx context.Context, vendor, dialect, ref string) (*invoice.View, error)
	VendorByAPIKey(ctx context.Context, key string) (*invoice.Principal, error)
	Cancel(ctx context.Context, id string) (*invoice.View, error)
	Deliveries(ctx context.Context, vendor, id string) ([]invoice.Delivery, error)
	Accept(ctx context.Context, id string, amount ferry.Amount) (*invoice.View, error)
	Refund(ctx context.Context, id, coin, address string, amount ferry.Amount) (*invoice.View, error)
	Quote(ctx context.Context, amount, currency, coin string) (*invoice.Quote, error)
	NewAddress(ctx context.Context, vendor *store.Vendor, coin, label string) (*store.Address, error)
	Transactions(ctx context.Context, vendor, coin, address string) ([]invoice.Transaction, error)
	Transaction(ctx context.Context, vendor, coin, id string) (*invoice.Transaction, error)
	PaymentTransactions(ctx context.Context, v *invoice.View, coin string) ([]invoice.Transaction, error)
	Invoices(ctx context.Context, vendor, dialect string, offset, limit int) ([]*invoice.View, error)
}

var _ Invoices = (*invoice.Engine)(nil)

// Onion is what the API shows of an onion service publishing it;
// *torproxy.Onion implements it.
type Onion interface {
	Address() string
	Up() bool
}

// Config configures a Server.
type Config struct {
	// RateLimit is the number of API requests a client may make per
	// minute; 0 turns the limit off.
	RateLimit int
	// PageRateLimit is the number of requests for invoice pages and
	// their status a client may make per minute, a budget of its own
	// (a page polls its status every few seconds); 0 turns it off.
	PageRateLimit int
	// ClientIPHeader names a header, set by the operator's reverse
	// proxy, that carries the client's IP for the rate limit; empty uses
	// the connection's address.
	ClientIPHeader string
	// PublicURL is the server's address as customers reach it, for the
	// links it hands out (an invoice's page); empty: the request's host.
	PublicURL string
	// Metrics is told of every request; nil: nothing is.
	Metrics Metrics
	// SessionExpiry is how long a Fluxcord payment stays payable.
	SessionExpiry time.Duration
	// Confirmations is the confirmations a payment needs to count (the
	// relay's forward confirmations); Network is the chain network's
	// name, as Payscrypt's orders show them.
	Confirmations int64
	Network       string
	// InvoiceExpiry is the longest an invoice stays payable (the invoice
	// engine's Expiry): Coinremitter's expire_time may not go beyond it.
	InvoiceExpiry time.Duration
	// ZeroConf is, by coin, the largest payment (satoshis) the Open API
	// confirms while it is in the mempool, when asked to
	// (accept_zero_confirmations).
	ZeroConf map[string]ferry.Amount
	Clock    clock.Clock
	Log      zerolog.Logger
}

// DefaultConfig returns the defaults: 100 API requests per minute per
// client, and 300 for the pages and their status (a page polls every 3
// seconds: 20 a minute), Fluxcord sessions payable for an hour, invoices for 30 days, payments
// up to 0.5 LTC or 0.0005 BTC confirmed unconfirmed when asked, the
// system clock.
func DefaultConfig() Config {
	return Config{RateLimit: 100, PageRateLimit: 300, SessionExpiry: time.Hour, Confirmations: 1, Network: "mainnet", InvoiceExpiry: 720 * time.Hour,
		ZeroConf: map[string]ferry.Amount{"ltc": 50_000_000, "btc": 50_000}, Clock: clock.System{}, Log: zerolog.Nop()}
}

// Server serves the API over an engine. Create it with New.
type Server struct {
	cfg      Config
	engine   Engine
	invoices Invoices
	log      zerolog.Logger
	// limiter is the clients' budget; onionLimiter the onion service's
	// one shared budget; pageLimiter and onionPageLimiter the same for
	// the pages and their status.
	limiter, onionLimiter         *rateLimiter
	pageLimiter, onionPageLimiter *rateLimiter
	// qrs keeps the payment pages' QR codes, pngs the QR code images.
	qrs  qrCache[template.HTML]
	pngs qrCache[[]byte]
	// quotes keeps the quotes the Open API's GetRate handed out.
	quotes quotes
	onion  atomic.Pointer[Onion]
	// listenURL is the API's own address, for the links gRPC answers hold
	// when no PublicURL is set.
	listenURL atomic.Pointer[string]
}

// Metrics is what the API reports. *metrics.Metrics implements it.
type Metrics interface {
	// Request is a request to route (its pattern) answered with status.
	Request(route string, status int)
	// RateLimited is a request to route refused for the rate limit.
	RateLimited(route string)
}

// counted wraps a route's handler to report its requests to the metrics.
func (s *Server) counted(route string, h httprouter.Handle) httprouter.Handle {
	if s.cfg.Metrics == nil {
		return h
	}
	return func(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h(sw, req, ps)
		s.cfg.Metrics.Request(route, sw.status)
		if sw.status == http.StatusTooManyRequests {
			s.cfg.Metrics.RateLimited(route)
		}
	}
}

// statusWriter remembers the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

// WriteHeader implements http.ResponseWriter.
func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// onionRateFactor multiplies the rate limit for the onion service, whose
// clients all arrive from Tor's one address and share one budget.
const onionRateFactor = 10

// New returns a server for engine and invoices (nil: no invoices).
func New(cfg Config, engine Engine, invoices Invoices) *Server {
	return &Server{
		cfg:              cfg,
		engine:           engine,
		invoices:         invoices,
		log:              cfg.Log.With().Str("component", "api").Logger(),
		limiter:          newRateLimiter(cfg.RateLimit, cfg.Clock),
		onionLimiter:     newRateLimiter(cfg.RateLimit*onionRateFactor, cfg.Clock),
		pageLimiter:      newRateLimiter(cfg.PageRateLimit, cfg.Clock),
		onionPageLimiter: newRateLimiter(cfg.PageRateLimit*onionRateFactor, cfg.Clock),
	}
}

// Handler returns the API:
//
//	GET  /api/receive        LitePay's receive call: mint an input address
//	GET  /api/check          the state of an input address and its deposits
//	POST /merch/             LitePay's merchant call: an invoice, answered with a redirect to its page
//	POST /p/                 the same, answered in JSON
//	GET  /merch/inv          an invoice's payment page
//	GET  /merch/inv/status   the page's status, for its script
//	GET  /assets/…           the page's stylesheet and script
//	POST /api/payments       Fluxcord: a payment session (x-api-key)
//	GET  /api/payments/:id   Fluxcord: a payment's public status
//	GET  /api/payments/:id/webhooks  Fluxcord: a payment's webhooks and their attempts (x-api-key)
//	POST /v1/orders          Payscrypt: CreateOrder (apikey)
//	POST /v1/orders/:id/cancel  Payscrypt: CancelOrder (apikey)
//	GET  /v1/orders/:id/webhooks  Payscrypt: an order's webhooks and their attempts (apikey)
//	GET  /v1/public/orders/:id  Payscrypt: GetPublicOrderById
//	POST /api/v3/:coin/:action  Coinremitter: every action (api_key and password)
//	GET  /v2/:call/          the Open API: every call (HTTP Basic auth: vendor id, api_key)
//	GET  /api/qr/?d=…        a QR code image (PNG) of the text d
//	GET  /healthz            node reachability and scanner height per coin
//
// The API calls are rate limited per client IP; the page and its status
// too, on a budget of their own (a customer's browser polls its status);
// the assets are not.
func (s *Server) Handler() http.Handler {
	return s.router(s.limiter, s.pageLimiter, func(req *http.Request) netip.Prefix { return clientOf(req, s.cfg.ClientIPHeader) })
}

// OnionHandler returns the same API for the onion service. Its clients all
// come from Tor's address, so they share one budget, ten times a client's.
func (s *Server) OnionHandler() http.Handler {
	return s.router(s.onionLimiter, s.onionPageLimiter, func(*http.Request) netip.Prefix { return netip.Prefix{} })
}

// SetOnion makes /healthz show the onion service o. An onion service that
// is not published does not make the server unhealthy: the API still
// answers on its own address.
func (s *Server) SetOnion(o Onion) { s.onion.Store(&o) }

func (s *Server) router(l, pl *rateLimiter, client func(*http.Request) netip.Prefix) http.Handler {
	rt := httprouter.New()
	handle := func(method, pattern string, h httprouter.Handle) { rt.Handle(method, pattern, s.counted(pattern, h)) }
	handle(http.MethodGet, "/api/receive", limited(l, client, s.receive))
	handle(http.MethodGet, "/api/check", limited(l, client, s.check))
	handle(http.MethodPost, "/merch/", limited(l, client, s.merchCreate))
	handle(http.MethodPost, "/p/", limited(l, client, s.merchJSON, func(w http.ResponseWriter, msg string) {
		writeJSON(w, http.StatusTooManyRequests, laterError{Status: "error", Message: msg})
	}))
	jsonRefuse := func(w http.ResponseWriter, msg string) {
		writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": msg})
	}
	handle(http.MethodPost, "/api/payments", limited(l, client, s.fluxcordCreate, jsonRefuse))
	handle(http.MethodGet, "/api/payments/:id", limited(l, client, s.fluxcordGet, jsonRefuse))
	handle(http.MethodGet, "/api/payments/:id/webhooks", limited(l, client, s.fluxcordDeliveries, jsonRefuse))
	grpcRefuse := func(w http.ResponseWriter, msg string) {
		s.payscryptREST(w, nil, status.Error(codes.ResourceExhausted, msg))
	}
	handle(http.MethodPost, "/v1/orders", limited(l, client, s.restCreateOrder, grpcRefuse))
	handle(http.MethodPost, "/v1/orders/:id/cancel", limited(l, client, s.restCancelOrder, grpcRefuse))
	handle(http.MethodGet, "/v1/orders/:id/webhooks", limited(l, client, s.restWebhooks, grpcRefuse))
	handle(http.MethodGet, "/v1/public/orders/:id", limited(l, client, s.restPublicOrder, grpcRefuse))
	handle(http.MethodPost, "/api/v3/:coin/:action", limited(l, client, s.coinremitter, func(w http.ResponseWriter, msg string) {
		writeJSON(w, http.StatusTooManyRequests, crReply{Flag: crFail, Msg: msg, Data: crNone})
	}))
	handle(http.MethodGet, "/v2/:call/", limited(l, client, s.openAPI, func(w http.ResponseWriter, msg string) {
		writeJSON(w, http.StatusTooManyRequests, openAPIErr{Err: msg})
	}))
	handle(http.MethodGet, "/api/qr/", limited(l, client, s.qrPNG))
	handle(http.MethodGet, "/merch/inv", limited(pl, client, s.page))
	handle(http.MethodGet, "/merch/inv/status", limited(pl, client, s.pageStatusJSON, jsonRefuse))
	rt.Handler(http.MethodGet, "/assets/*file", assets())
	handle(http.MethodGet, "/healthz", s.healthz)
	return rt
}

// explain returns the kind of an engine error and the message to show the
// client, and logs what the client is not shown: the cause of an internal
// error, or of a service being unavailable.
func (s *Server) explain(err error, call string) (ferry.Kind, string) {
	kind, msg := ferry.Explain(err)
	switch kind {
	case ferry.KindInternal:
		s.log.Error().Err(err).Str("call", call).Msg("internal error")
	case ferry.KindUnavailable:
		// The caller is told to try again; the operator, why.
		s.log.Warn().Err(err).Str("call", call).Msg("unavailable")
	}
	return kind, msg
}

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

// trailing reports whether anything but JSON white space follows the value
// dec has read from body: `{"a":1}}` is one object and a stray brace, not
// one object. (json.Decoder.More says false before a '}' or ']'.)
func trailing(dec *json.Decoder, body []byte) bool {
	return len(bytes.Trim(body[dec.InputOffset():], " \t\r\n")) > 0
}
