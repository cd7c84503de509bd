package api

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/relay"
)

// Engine is what the API needs of the relay: the union of what its
// dialects need of it, each declaring its own few methods.
// *relay.Engine implements it.
type Engine interface {
	receiver
	healthChecker
	oaRelay
}

var _ Engine = (*relay.Engine)(nil)

// Invoices is what the API needs of the invoice engine: the union of
// what its dialects need of it, each declaring its own few methods.
// *invoice.Engine implements it.
type Invoices interface {
	merchantInvoices
	pageInvoices
	fluxcordInvoices
	payscryptInvoices
	crInvoices
	crAddresses
	oaInvoices
	holds
	quoter
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
	// ListenURL is the API's own address ("http://host:port"), for the
	// links of answers to no request (gRPC, webhooks) when PublicURL is
	// empty; "" for none.
	ListenURL string
	// Onion is the onion service publishing the API, shown by /healthz;
	// nil for none.
	Onion Onion
	// Outbound reaches the vendors' URLs from the API itself (the Open
	// API's Ping posts a test webhook), checking every address it dials
	// as the notifier's deliveries are; nil: Ping's test always fails.
	Outbound Dialer
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

// Metrics is what the API reports. *metrics.Metrics implements it.
type Metrics interface {
	// Request is a request to route (its pattern) answered with status.
	Request(route string, status int)
	// RateLimited is a request to route refused for the rate limit.
	RateLimited(route string)
}

// Server serves the API: a router over one part per dialect, each
// holding only what it needs. It keeps what is cross-cutting: the routes,
// the rate limits, the metrics, and the server's own links. Create it
// with New; it is safe for concurrent use.
type Server struct {
	cfg Config
	// clients are the clients' budgets; onion the onion service's, one
	// shared by all its clients.
	clients, onion budgets
	// parts serve every route; invoiceParts those of the dialects over
	// the invoice engine, which a server without one answers as
	// unavailable (see off).
	parts, invoiceParts []part
	invoicesOff         bool
	// payscrypt serves the gRPC service too.
	payscrypt *payscrypt
	links     *links
}

// onionRateFactor multiplies the rate limit for the onion service, whose
// clients all arrive from Tor's one address and share one budget.
const onionRateFactor = 10

// New returns a server for engine and invoices (nil: no invoices; the
// invoice dialects then answer every call as unavailable).
func New(cfg Config, engine Engine, invoices Invoices) *Server {
	log := cfg.Log.With().Str("component", "api").Logger()
	s := &Server{
		cfg: cfg,
		clients: budgets{api: newRateLimiter(cfg.RateLimit, cfg.Clock), page: newRateLimiter(cfg.PageRateLimit, cfg.Clock),
			probe: newRateLimiter(cfg.RateLimit, cfg.Clock)},
		onion: budgets{api: newRateLimiter(cfg.RateLimit*onionRateFactor, cfg.Clock), page: newRateLimiter(cfg.PageRateLimit*onionRateFactor, cfg.Clock),
			probe: newRateLimiter(cfg.RateLimit*onionRateFactor, cfg.Clock)},
		links:       &links{public: cfg.PublicURL, listen: cfg.ListenURL},
		invoicesOff: invoices == nil,
	}
	s.parts = []part{
		&litepay{relay: engine, errs: httpStatuses.logging(log, "litepay")},
		&qrImages{},
		&health{relay: engine, onion: cfg.Onion},
	}
	s.payscrypt = &payscrypt{invoices: invoices, links: s.links, confirmations: cfg.Confirmations, network: cfg.Network,
		errs: payscryptCodes.logging(log, "payscrypt")}
	s.invoiceParts = []part{
		&merchant{invoices: invoices, links: s.links, errs: merchantStatuses.logging(log, "merchant")},
		&page{invoices: invoices, clock: cfg.Clock, errs: merchantStatuses.logging(log, "page")},
		&fluxcord{invoices: invoices, links: s.links, expiry: cfg.SessionExpiry, errs: httpStatuses.logging(log, "fluxcord")},
		s.payscrypt,
		&coinremitter{relay: engine, keys: invoices, secrets: invoices, invoices: invoices, holds: invoices, quotes: invoices,
			wallet: invoices, links: s.links, network: cfg.Network, expiry: cfg.InvoiceExpiry, errs: coinremitterErrors.logging(log, "coinremitter")},
		&openAPI{relay: engine, keys: invoices, invoices: invoices, holds: invoices, quotes: invoices, links: s.links,
			clock: cfg.Clock, confirmations: cfg.Confirmations, zeroConf: cfg.ZeroConf, sessionExpiry: cfg.SessionExpiry,
			errs: openAPIStatuses.logging(log, "openapi"), tester: newWebhookTester(cfg.Outbound, cfg.Clock)},
	}
	return s
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
//	POST /apis/pg/create_order, /apis/pg/get_public_order  Payscrypt's WooCommerce plugin (1a51a4a)
//	POST /payment/v1/invoice, GET /payment/v1/invoice/:id   the same plugin (2dfd9d8)
//	POST /api/v3/:coin/:action  Coinremitter: every action (api_key and password)
//	POST /api/get-coin-rate, GET /api/v3/get-coin-rate, GET /get-coins  Coinremitter: the coins' rates, where its clients ask
//	GET  /v2/:call/          the Open API: every call (HTTP Basic auth: vendor id, api_key)
//	POST /v2/:call/          the same: StartPayment's and RequestKyc's form posted, the others' parameters in the query
//	GET  /api/qr/?d=…        a QR code image (PNG) of the text d
//	GET  /healthz            node reachability and scanner height per coin
//
// The API calls are rate limited per client IP; the page and its status
// too, on a budget of their own (a customer's browser polls its status);
// the assets are not.
func (s *Server) Handler() http.Handler {
	return s.router(s.clients, func(req *http.Request) netip.Prefix { return clientOf(req, s.cfg.ClientIPHeader) })
}

// OnionHandler returns the same API for the onion service. Its clients all
// come from Tor's address, so they share one budget, ten times a client's.
func (s *Server) OnionHandler() http.Handler {
	return s.router(s.onion, func(*http.Request) netip.Prefix { return netip.Prefix{} })
}

// OwnBase is the base of the links a server hands out when it answers no
// request (gRPC, webhooks): publicURL (Config.PublicURL) if set, else
// listenURL (Config.ListenURL), which may be "".
func OwnBase(publicURL, listenURL string) string {
	if publicURL != "" {
		return publicURL
	}
	return listenURL
}

// links makes the absolute links the dialects hand out. Safe for
// concurrent use.
type links struct {
	// public is Config.PublicURL; listen the server's own address
	// (Config.ListenURL).
	public, listen string
}

// base is the server's public URL, with no trailing slash: the
// configured one, or the host req came to.
func (l *links) base(req *http.Request) string {
	if l.public != "" {
		return strings.TrimRight(l.public, "/")
	}
	scheme := "http"
	if req.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + req.Host
}

// own is the base of the links in answers to no HTTP request (gRPC,
// webhooks): the public URL, or the server's own address, or "".
func (l *links) own() string { return OwnBase(l.public, l.listen) }

// pageURL is the absolute URL of an invoice's page on base.
func pageURL(base, id string) string {
	return strings.TrimRight(base, "/") + "/merch/inv?id=" + url.QueryEscape(id)
}
