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
	"net/http"
	"net/netip"
	"sync/atomic"

	"github.com/julienschmidt/httprouter"
	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/store"
)

// Engine is what the API needs of the relay. *relay.Engine implements it.
type Engine interface {
	Mint(ctx context.Context, req relay.MintRequest) (*store.Address, error)
	Report(ctx context.Context, coin, address string) (*relay.Report, error)
	Health(ctx context.Context) relay.Health
	FeePercent() relay.Fraction
}

var _ Engine = (*relay.Engine)(nil)

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
	// ClientIPHeader names a header, set by the operator's reverse
	// proxy, that carries the client's IP for the rate limit; empty uses
	// the connection's address.
	ClientIPHeader string
	Clock          clock.Clock
	Log            zerolog.Logger
}

// DefaultConfig returns the defaults: 100 requests per minute per client,
// the system clock.
func DefaultConfig() Config {
	return Config{RateLimit: 100, Clock: clock.System{}, Log: zerolog.Nop()}
}

// Server serves the API over an engine. Create it with New.
type Server struct {
	cfg    Config
	engine Engine
	log    zerolog.Logger
	// limiter is the clients' budget; onionLimiter the onion service's
	// one shared budget.
	limiter, onionLimiter *rateLimiter
	onion                 atomic.Pointer[Onion]
}

// onionRateFactor multiplies the rate limit for the onion service, whose
// clients all arrive from Tor's one address and share one budget.
const onionRateFactor = 10

// New returns a server for engine.
func New(cfg Config, engine Engine) *Server {
	return &Server{
		cfg:          cfg,
		engine:       engine,
		log:          cfg.Log.With().Str("component", "api").Logger(),
		limiter:      newRateLimiter(cfg.RateLimit, cfg.Clock),
		onionLimiter: newRateLimiter(cfg.RateLimit*onionRateFactor, cfg.Clock),
	}
}

// Handler returns the API:
//
//	GET /api/receive  LitePay's receive call: mint an input address
//	GET /api/check    the state of an input address and its deposits
//	GET /healthz      node reachability and scanner height per coin
//
// The two API calls are rate limited per client IP.
func (s *Server) Handler() http.Handler {
	return s.router(s.limiter, func(req *http.Request) netip.Prefix { return clientOf(req, s.cfg.ClientIPHeader) })
}

// OnionHandler returns the same API for the onion service. Its clients all
// come from Tor's address, so they share one budget, ten times a client's.
func (s *Server) OnionHandler() http.Handler {
	return s.router(s.onionLimiter, func(*http.Request) netip.Prefix { return netip.Prefix{} })
}

// SetOnion makes /healthz show the onion service o. An onion service that
// is not published does not make the server unhealthy: the API still
// answers on its own address.
func (s *Server) SetOnion(o Onion) { s.onion.Store(&o) }

func (s *Server) router(l *rateLimiter, client func(*http.Request) netip.Prefix) http.Handler {
	rt := httprouter.New()
	rt.GET("/api/receive", limited(l, client, s.receive))
	rt.GET("/api/check", limited(l, client, s.check))
	rt.GET("/healthz", s.healthz)
	return rt
}

// explain returns the kind of an engine error and the message to show the
// client, and logs what the client is not shown: the cause of an internal
// error.
func (s *Server) explain(err error, call string) (relay.Kind, string) {
	kind, msg := relay.Explain(err)
	if kind == relay.KindInternal {
		s.log.Error().Err(err).Str("call", call).Msg("internal error")
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
