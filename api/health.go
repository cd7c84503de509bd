package api

import (
	"context"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/ferry-relay/ferry/relay"
)

// healthChecker is what /healthz needs of the relay.
type healthChecker interface {
	Health(ctx context.Context) relay.Health
}

var _ healthChecker = (*relay.Engine)(nil)

// health serves /healthz.
type health struct {
	relay healthChecker
	// onion is the onion service publishing the API, nil for none. One
	// not yet published does not make the server unhealthy: the API
	// still answers on its own address.
	onion Onion
}

// routes implements part: /healthz is not rate limited.
func (h *health) routes() []route {
	return []route{{method: http.MethodGet, pattern: "/healthz", handle: h.healthz}}
}

// healthReply is /healthz's answer: the engine's health and the onion
// service's, when there is one.
type healthReply struct {
	relay.Health
	Onion *onionHealth `json:"onion,omitempty"`
}

type onionHealth struct {
	Address   string `json:"address"`
	Published bool   `json:"published"`
}

// healthz answers 200 when every node answers, no scanner has halted and
// none trails its node by more than a few blocks, and 503 otherwise.
func (h *health) healthz(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	r := healthReply{Health: h.relay.Health(req.Context())}
	if h.onion != nil {
		r.Onion = &onionHealth{Address: h.onion.Address(), Published: h.onion.Up()}
	}
	status := http.StatusOK
	if !r.OK {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, r)
}
