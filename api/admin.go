package api

import (
	"encoding/json"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/relay"
)

// The operator's API, served on a Unix socket in the data directory that
// only the operator can reach (ferry vendor talks to it while the daemon
// holds the store):
//
//	POST   /vendors      add a vendor: {"name","email","payout":{"ltc":…,"btc":…}} → its credentials
//	GET    /vendors      list the vendors
//	DELETE /vendors/:id  remove a vendor

// adminStatuses maps each kind of error to its HTTP status.
var adminStatuses = map[relay.Kind]int{
	relay.KindInternal:     http.StatusInternalServerError,
	relay.KindInvalid:      http.StatusBadRequest,
	relay.KindUnsupported:  http.StatusBadRequest,
	relay.KindNotFound:     http.StatusNotFound,
	relay.KindUnavailable:  http.StatusServiceUnavailable,
	relay.KindUnauthorized: http.StatusForbidden,
	relay.KindConflict:     http.StatusConflict,
}

// AdminHandler returns the operator's API.
func (s *Server) AdminHandler() http.Handler {
	rt := httprouter.New()
	rt.POST("/vendors", s.addVendor)
	rt.GET("/vendors", s.listVendors)
	rt.DELETE("/vendors/:id", s.removeVendor)
	return rt
}

func (s *Server) adminError(w http.ResponseWriter, err error) {
	kind, msg := s.explain(err, "admin")
	writeJSON(w, adminStatuses[kind], map[string]string{"error": msg})
}

func (s *Server) addVendor(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	var nv invoice.NewVendor
	dec := json.NewDecoder(http.MaxBytesReader(w, req.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&nv); err != nil {
		s.adminError(w, &relay.Error{Kind: relay.KindInvalid, Message: "the body must be a vendor in JSON: " + err.Error()})
		return
	}
	c, err := s.invoices.AddVendor(req.Context(), nv)
	if err != nil {
		s.adminError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

func (s *Server) listVendors(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	vs, err := s.invoices.Vendors(req.Context())
	if err != nil {
		s.adminError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"vendors": vs})
}

func (s *Server) removeVendor(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
	if err := s.invoices.RemoveVendor(req.Context(), ps.ByName("id")); err != nil {
		s.adminError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"removed": ps.ByName("id")})
}
