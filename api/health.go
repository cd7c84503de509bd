package api

import (
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/ferry-relay/ferry/relay"
)

// health is /healthz's answer: the engine's health and the onion
// service's, when there is one.
type health struct {
	relay.Health
	Onion *onionHealth `json:"onion,omitempty"`
}

type onionHealth struct {
	Address   string `json:"address"`
	Published bool   `json:"published"`
}

// healthz answers 200 when every node answers, no scanner has halted and
// none trails its node by more than a few blocks, and 503 otherwise.
func (s *Server) healthz(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	h := health{Health: s.engine.Health(req.Context())}
	if o := s.onion.Load(); o != nil {
		h.Onion = &onionHealth{Address: (*o).Address(), Published: (*o).Up()}
	}
	status := http.StatusOK
	if !h.OK {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, h)
}
