package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/store"
)

// Fluxcord's payment sessions: POST /api/payments (header x-api-key, JSON
// {"amountLtc":0.05,"webhookUrl":…}) makes a payment of an exact amount of
// LTC with a hosted page; GET /api/payments/:id is its public status
// (pending, completed, expired); its webhookUrl gets a POST when it is
// completed or expired. Errors are JSON {"error":…}.

// fluxcordDialect names Fluxcord's invoices.
const fluxcordDialect = "fluxcord"

// fluxcordStatuses maps each kind of error to the HTTP status of its
// answer.
var fluxcordStatuses = map[ferry.Kind]int{
	ferry.KindInternal:     http.StatusInternalServerError,
	ferry.KindInvalid:      http.StatusBadRequest,
	ferry.KindUnsupported:  http.StatusBadRequest,
	ferry.KindNotFound:     http.StatusNotFound,
	ferry.KindUnavailable:  http.StatusServiceUnavailable,
	ferry.KindUnauthorized: http.StatusUnauthorized,
	ferry.KindConflict:     http.StatusConflict,
	ferry.KindTooLarge:     http.StatusRequestEntityTooLarge,
	ferry.KindLimit:        http.StatusTooManyRequests,
	ferry.KindForbidden:    http.StatusForbidden,
}

// maxJSON bounds a JSON request body.
const maxJSON = 64 << 10

// fluxcordError answers err in Fluxcord's form.
func (s *Server) fluxcordError(w http.ResponseWriter, err error) {
	kind, msg := s.explain(err, "fluxcord")
	writeJSON(w, fluxcordStatuses[kind], map[string]string{"error": msg})
}

// fluxcordPayment is a payment as POST /api/payments answers it.
type fluxcordPayment struct {
	PaymentID        string      `json:"paymentId"`
	PaymentURL       string      `json:"paymentUrl,omitempty"`
	ReceivingAddress string      `json:"receivingAddress"`
	AmountLtc        json.Number `json:"amountLtc"`
	Status           string      `json:"status"`
	ExpiresAt        string      `json:"expiresAt"`
	BusinessName     *string     `json:"businessName,omitempty"`
}

// ltcAmount is an amount of LTC as Fluxcord's JSON writes it: a plain
// number with at most 8 decimals.
var ltcAmount = regexp.MustCompile(`^(0|[1-9][0-9]{0,7})(\.[0-9]{1,8})?$`)

// fluxcordCreate answers POST /api/payments.
func (s *Server) fluxcordCreate(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	v, err := s.fluxcordNew(req)
	if err != nil {
		s.fluxcordError(w, err)
		return
	}
	p := fluxcordView(v)
	p.PaymentURL = s.pageURL(req, v.ID)
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) fluxcordNew(req *http.Request) (*invoice.View, error) {
	if s.invoices == nil {
		return nil, &ferry.Error{Kind: ferry.KindUnavailable, Message: "payments are not enabled on this server"}
	}
	p, err := s.invoices.VendorByAPIKey(req.Context(), req.Header.Get("x-api-key"))
	if err != nil {
		return nil, err
	}
	vendor := p.Vendor
	var body struct {
		AmountLtc  json.RawMessage `json:"amountLtc"`
		WebhookURL *string         `json:"webhookUrl"`
	}
	if err := readJSON(req, &body); err != nil {
		return nil, err
	}
	raw := string(bytes.TrimSpace(body.AmountLtc))
	if raw == "" || raw == "null" {
		return nil, invalidf("amountLtc is required: a number of LTC")
	}
	if !ltcAmount.MatchString(raw) {
		return nil, invalidf("amountLtc must be a positive number of LTC with at most 8 decimals, not %.30s", raw)
	}
	sat, err := ferry.ParseAmount(raw)
	if err != nil || sat <= 0 {
		return nil, invalidf("amountLtc must be a positive number of LTC with at most 8 decimals, not %.30s", raw)
	}
	r := invoice.Request{Vendor: vendor, Dialect: fluxcordDialect, ID: store.NewUUID(), Amount: raw, Currency: "LTC",
		Coins: []string{"ltc"}, Expiry: s.cfg.SessionExpiry}
	if body.WebhookURL != nil {
		r.WebhookURL = *body.WebhookURL
	}
	return s.invoices.Create(req.Context(), r)
}

// fluxcordGet answers GET /api/payments/:id: the public status.
func (s *Server) fluxcordGet(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
	v, err := s.fluxcordFind(req, ps.ByName("id"))
	if err != nil {
		s.fluxcordError(w, err)
		return
	}
	p := fluxcordView(v)
	name := ""
	if v.Vendor != nil {
		name = v.Vendor.Name
	}
	p.BusinessName = &name
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, p)
}

// fluxcordDeliveries answers GET /api/payments/:id/webhooks (x-api-key):
// every webhook of the payment and each attempt to deliver it.
func (s *Server) fluxcordDeliveries(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
	if s.invoices == nil {
		s.fluxcordError(w, errNoInvoices)
		return
	}
	p, err := s.invoices.VendorByAPIKey(req.Context(), req.Header.Get("x-api-key"))
	if err != nil {
		s.fluxcordError(w, err)
		return
	}
	ds, err := s.invoices.Deliveries(req.Context(), p.Vendor.ID, ps.ByName("id"))
	if err != nil {
		s.fluxcordError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"paymentId": ps.ByName("id"), "webhooks": ds})
}

// fluxcordFind returns a Fluxcord payment, or not found for any other.
func (s *Server) fluxcordFind(req *http.Request, id string) (*invoice.View, error) {
	if s.invoices == nil {
		return nil, errNoInvoices
	}
	v, err := s.invoices.Get(req.Context(), id)
	if err == nil && v.Dialect != fluxcordDialect {
		err = &ferry.Error{Kind: ferry.KindNotFound, Message: "Payment not found"}
	}
	if k, _ := ferry.Explain(err); k == ferry.KindNotFound {
		err = &ferry.Error{Kind: ferry.KindNotFound, Message: "Payment not found"}
	}
	return v, err
}

// fluxcordView is a payment's fields as both calls show them.
func fluxcordView(v *invoice.View) fluxcordPayment {
	c := v.Coins[0]
	return fluxcordPayment{PaymentID: v.ID, ReceivingAddress: c.Address, AmountLtc: json.Number(ferry.Amount(c.Due).Short()),
		Status: fluxcordStatusOf(v), ExpiresAt: isoMillis(v.Expires)}
}

// fluxcordStatus is Fluxcord's word for a status: pending, completed or
// expired.
func fluxcordStatus(s ferry.InvoiceStatus) string {
	switch s {
	case ferry.InvoicePaid, ferry.InvoiceOverpaid:
		return "completed"
	case ferry.InvoiceExpired, ferry.InvoiceCancelled:
		return "expired"
	}
	return "pending" // an underpaid session still open waits for the rest
}

// fluxcordStatusOf is a payment's status: an underpaid one is expired once
// past its expiry.
func fluxcordStatusOf(v *invoice.View) string {
	if v.Status == ferry.InvoiceUnderpaid && v.Expired {
		return "expired"
	}
	return fluxcordStatus(v.Status)
}

// isoMillis writes t as Fluxcord does: ISO 8601 in UTC, milliseconds.
func isoMillis(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// FluxcordEvents announces Fluxcord payments: a POST of {"paymentId",
// "status","amountLtc","receivingAddress"} to the payment's webhookUrl
// when it is completed, and when it expires.
type FluxcordEvents struct{}

// Announce implements invoice.Announcer.
func (FluxcordEvents) Announce(v *invoice.View, from ferry.InvoiceStatus) []invoice.Event {
	to := fluxcordStatusOf(v)
	if v.WebhookURL == "" || to == "pending" || to == fluxcordStatus(from) {
		return nil
	}
	c := v.Coins[0]
	body, _ := json.Marshal(struct {
		PaymentID        string      `json:"paymentId"`
		Status           string      `json:"status"`
		AmountLtc        json.Number `json:"amountLtc"`
		ReceivingAddress string      `json:"receivingAddress"`
	}{v.ID, to, json.Number(ferry.Amount(c.Due).Short()), c.Address})
	return []invoice.Event{{Type: "payment." + to, URL: v.WebhookURL, Body: body}}
}

// readJSON decodes a request's JSON body into v: at most maxJSON bytes, one
// value. Its errors say what is wrong.
func readJSON(req *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(nil, req.Body, maxJSON))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &ferry.Error{Kind: ferry.KindTooLarge, Message: fmt.Sprintf("the body is over %d KiB", maxJSON>>10)}
	}
	if err != nil {
		return invalidf("the body cannot be read")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return invalidf("the body must be a JSON object: %s", jsonProblem(err))
	}
	if trailing(dec, body) {
		return invalidf("the body must be one JSON object")
	}
	return nil
}

// jsonProblem says briefly what is wrong with a JSON body.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("%s must be %s, not %s", typ.Field, jsonType(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.EOF):
		return "it is empty"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "it ends early"
	}
	return "unreadable"
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	}
	return "a number"
}

// invalidf is an invalid-request error.
func invalidf(format string, args ...any) error {
	return &ferry.Error{Kind: ferry.KindInvalid, Message: fmt.Sprintf(format, args...)}
}

// errNoInvoices answers the invoice calls of a server without invoices.
var errNoInvoices = &ferry.Error{Kind: ferry.KindUnavailable, Message: "invoices are not enabled on this server"}
