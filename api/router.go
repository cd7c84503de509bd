package api

import (
	"net/http"
	"net/netip"

	"github.com/julienschmidt/httprouter"
)

// The router: every part of the API (a dialect, the health check, the QR
// images) lists its routes, and the router serves them, each counted for
// the metrics and drawing on its rate limit budget.

// part is one part of the API: a dialect, or a service of its own.
type part interface {
	// routes lists the part's routes.
	routes() []route
}

// budget is the rate limit a route draws on.
type budget int

const (
	// unlimited routes draw on no budget (/healthz).
	unlimited budget = iota
	// apiBudget is the API calls' budget.
	apiBudget
	// pageBudget is the payment pages' own budget.
	pageBudget
)

// route is one route of a part.
type route struct {
	method, pattern string
	handle          httprouter.Handle
	budget          budget
	// refuse answers a client past its limit in the dialect's form; nil:
	// 429 as text.
	refuse func(w http.ResponseWriter, msg string)
	// fail answers an error in the dialect's form, as the route answers
	// one: a server without an invoice engine answers every route of an
	// invoice dialect with it (nil: not found, as a page is).
	fail func(w http.ResponseWriter, req *http.Request, ps httprouter.Params, err error)
	// probe, if set, tells the requests of an apiBudget route that carry
	// no credentials: an HTTP client's first try before it is asked for
	// them (curl's CURLAUTH_ANY, which ForumPay's client uses). They are
	// answered 401 and change nothing, and draw on a budget of their own
	// (the probes', of the same size), so that a client's calls are not
	// counted twice.
	probe func(*http.Request) bool
}

// budgets are the rate limits the routes draw on, by client: the API
// calls', the pages', and the probes' (see route.probe).
type budgets struct {
	api, page, probe *rateLimiter
}

// router serves every part's routes, drawing on b by client.
func (s *Server) router(b budgets, client func(*http.Request) netip.Prefix) http.Handler {
	rt := httprouter.New()
	add := func(r route) {
		h := r.handle
		var refuse []func(http.ResponseWriter, string)
		if r.refuse != nil {
			refuse = append(refuse, r.refuse)
		}
		switch r.budget {
		case apiBudget:
			h = limited(b.api, client, h, refuse...)
			if r.probe != nil {
				calls, probes, isProbe := h, limited(b.probe, client, r.handle, refuse...), r.probe
				h = func(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
					if isProbe(req) {
						probes(w, req, ps)
						return
					}
					calls(w, req, ps)
				}
			}
		case pageBudget:
			h = limited(b.page, client, h, refuse...)
		}
		rt.Handle(r.method, r.pattern, s.counted(r.pattern, h))
	}
	for _, p := range s.parts {
		for _, r := range p.routes() {
			add(r)
		}
	}
	for _, p := range s.invoiceParts {
		for _, r := range p.routes() {
			if s.invoicesOff {
				r = off(r)
			}
			add(r)
		}
	}
	rt.Handler(http.MethodGet, "/assets/*file", assets())
	return rt
}

// off is r on a server without an invoice engine: it answers every
// request as unavailable, in the dialect's form.
func off(r route) route {
	fail := r.fail
	r.handle = func(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
		if fail == nil {
			http.NotFound(w, req)
			return
		}
		fail(w, req, ps, errNoInvoices)
	}
	return r
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
