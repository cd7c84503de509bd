package api

import (
	"context"
	"net/http"

	"github.com/julienschmidt/httprouter"
	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/store"
)

// The operator's API, served on a Unix socket in the data directory that
// only the operator can reach (ferry vendor talks to it while the daemon
// holds the store):
//
//	POST   /vendors                        add a vendor: {"name","email","payout":{"ltc":…,"btc":…}} → its credentials
//	GET    /vendors                        list the vendors
//	DELETE /vendors/:id                    remove a vendor
//	POST   /vendors/:id/key                one new API key of scope all in place of all the vendor's (they stop working)
//	POST   /vendors/:id/keys               another API key: {"scope":"all"|"create"} (create if absent) → {"key_id","api_key","scope",…}
//	GET    /vendors/:id/keys               the vendor's API keys: their ids, scopes and times of creation
//	DELETE /vendors/:id/keys/:key          revoke one: it stops working at once
//	POST   /vendors/:id/secret             a new secret (the old one stops working)
//	GET    /vendors/:id/webhook-secret     the webhook secret (?rotate=1: a new one)
//	POST   /vendors/:id/webhooks           register a webhook endpoint: {"url"}
//	GET    /vendors/:id/webhooks           list them
//	DELETE /vendors/:id/webhooks/:endpoint remove one

// adminStatuses is the HTTP status of each kind of error: wrong
// credentials are forbidden, and a body over the bound is a bad request,
// as every body the operator's API refuses.
var adminStatuses = httpStatuses.with(map[ferry.Kind]int{
	ferry.KindUnauthorized: http.StatusForbidden,
	ferry.KindTooLarge:     http.StatusBadRequest,
})

// Admin is what the operator's API manages: vendors, their keys and
// webhook endpoints. *invoice.Vendors implements it, for the daemon (the
// invoice engine's) and for ferry vendor on a store no daemon holds.
type Admin interface {
	Add(ctx context.Context, nv invoice.NewVendor) (*invoice.Credentials, error)
	List(ctx context.Context) ([]*store.Vendor, error)
	Remove(ctx context.Context, id string) error
	NewAPIKey(ctx context.Context, vendor string) (*invoice.Credentials, error)
	AddAPIKey(ctx context.Context, vendor string, scope store.Scope) (*invoice.NewKey, error)
	APIKeys(ctx context.Context, vendor string) ([]store.APIKey, error)
	RevokeAPIKey(ctx context.Context, vendor, id string) error
	NewSecret(ctx context.Context, vendor string) (string, error)
	WebhookSecret(ctx context.Context, vendor string, rotate bool) (string, error)
	AddEndpoint(ctx context.Context, vendor, url string) (*store.Endpoint, error)
	Endpoints(ctx context.Context, vendor string) ([]*store.Endpoint, error)
	RemoveEndpoint(ctx context.Context, vendor, id string) error
}

var _ Admin = (*invoice.Vendors)(nil)

// admin serves the operator's API.
type admin struct {
	a    Admin
	errs errorTable[int]
}

// AdminHandler returns the operator's API over a. It answers JSON, errors
// as {"error":…}.
func AdminHandler(a Admin, log zerolog.Logger) http.Handler {
	s := &admin{a: a, errs: adminStatuses.logging(log.With().Str("component", "admin").Logger(), "admin")}
	rt := httprouter.New()
	rt.POST("/vendors", s.addVendor)
	rt.GET("/vendors", s.listVendors)
	rt.DELETE("/vendors/:id", s.removeVendor)
	rt.POST("/vendors/:id/key", s.newAPIKey)
	rt.POST("/vendors/:id/keys", s.addAPIKey)
	rt.GET("/vendors/:id/keys", s.listAPIKeys)
	rt.DELETE("/vendors/:id/keys/:key", s.revokeAPIKey)
	rt.POST("/vendors/:id/secret", s.newSecret)
	rt.GET("/vendors/:id/webhook-secret", s.webhookSecret)
	rt.POST("/vendors/:id/webhooks", s.addEndpoint)
	rt.GET("/vendors/:id/webhooks", s.listEndpoints)
	rt.DELETE("/vendors/:id/webhooks/:endpoint", s.removeEndpoint)
	return rt
}

// fail answers err: {"error":…}.
func (s *admin) fail(w http.ResponseWriter, err error) {
	status, msg := s.errs.answer(err)
	writeJSON(w, status, map[string]string{"error": msg})
}

func (s *admin) addVendor(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	var nv invoice.NewVendor
	if err := adminJSON.named("vendor in JSON").read(req, &nv); err != nil {
		s.fail(w, err)
		return
	}
	c, err := s.a.Add(req.Context(), nv)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

func (s *admin) listVendors(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	vs, err := s.a.List(req.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"vendors": vs})
}

func (s *admin) removeVendor(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
	if err := s.a.Remove(req.Context(), ps.ByName("id")); err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"removed": ps.ByName("id")})
}

func (s *admin) newAPIKey(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
	c, err := s.a.NewAPIKey(req.Context(), ps.ByName("id"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"vendor": c.Vendor, "api_key": c.APIKey, "key_id": c.KeyID, "scope": c.Scope})
}

func (s *admin) addAPIKey(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
	var body struct {
		Scope *string `json:"scope"`
	}
	if err := adminJSON.named(`key ({"scope":"all"} or {"scope":"create"}) in JSON`).orEmpty().read(req, &body); err != nil {
		s.fail(w, err)
		return
	}
	scope := store.ScopeCreate
	if body.Scope != nil {
		sc, err := invoice.ParseScope(*body.Scope)
		if err != nil {
			s.fail(w, err)
			return
		}
		scope = sc
	}
	k, err := s.a.AddAPIKey(req.Context(), ps.ByName("id"), scope)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, k)
}

func (s *admin) listAPIKeys(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
	ks, err := s.a.APIKeys(req.Context(), ps.ByName("id"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"vendor": ps.ByName("id"), "keys": ks})
}

func (s *admin) revokeAPIKey(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
	if err := s.a.RevokeAPIKey(req.Context(), ps.ByName("id"), ps.ByName("key")); err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"vendor": ps.ByName("id"), "revoked": ps.ByName("key")})
}

func (s *admin) newSecret(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
	secret, err := s.a.NewSecret(req.Context(), ps.ByName("id"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"vendor": ps.ByName("id"), "secret": secret})
}

func (s *admin) webhookSecret(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
	secret, err := s.a.WebhookSecret(req.Context(), ps.ByName("id"), req.URL.Query().Get("rotate") == "1")
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"vendor": ps.ByName("id"), "webhook_secret": secret})
}

func (s *admin) addEndpoint(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
	var body struct {
		URL string `json:"url"`
	}
	if err := adminJSON.named("webhook endpoint in JSON").read(req, &body); err != nil {
		s.fail(w, err)
		return
	}
	ep, err := s.a.AddEndpoint(req.Context(), ps.ByName("id"), body.URL)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, ep)
}

func (s *admin) listEndpoints(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
	eps, err := s.a.Endpoints(req.Context(), ps.ByName("id"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": eps})
}

func (s *admin) removeEndpoint(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
	if err := s.a.RemoveEndpoint(req.Context(), ps.ByName("id"), ps.ByName("endpoint")); err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"removed": ps.ByName("endpoint")})
}
