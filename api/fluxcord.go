package api

import (
	"bytes"
	"encoding/json"
	"net/http"
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

// fluxcordInvoices is what Fluxcord needs of the invoice engine.
type fluxcordInvoices interface {
	apiKeys
	creator
	viewer
	deliveryLog
}

var _ fluxcordInvoices = (*invoice.Engine)(nil)

// fluxcord serves Fluxcord's payment sessions. Its errors are answered
// with httpStatuses.
type fluxcord struct {
	invoices fluxcordInvoices
	links    *links
	// expiry is how long a payment stays payable.
	expiry time.Duration
	errs   errorTable[int]
}

// routes implements part: every call refuses in JSON.
func (f *fluxcord) routes() []route {
	rs := []route{
		{method: http.MethodPost, pattern: "/api/payments", handle: f.create},
		{method: http.MethodGet, pattern: "/api/payments/:id", handle: f.get},
		{method: http.MethodGet, pattern: "/api/payments/:id/webhooks", handle: f.deliveries},
	}
	for i := range rs {
		rs[i].budget, rs[i].refuse = apiBudget, refuseJSON
		rs[i].fail = func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params, err error) { f.fail(w, err) }
	}
	return rs
}

// fail answers err in Fluxcord's form.
func (f *fluxcord) fail(w http.ResponseWriter, err error) {
	status, msg := f.errs.answer(err)
	writeJSON(w, status, map[string]string{"error": msg})
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

// create answers POST /api/payments.
func (f *fluxcord) create(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	v, err := f.newPayment(req)
	if err != nil {
		f.fail(w, err)
		return
	}
	p := fluxcordView(v)
	p.PaymentURL = pageURL(f.links.base(req), v.ID)
	writeJSON(w, http.StatusOK, p)
}

// newPayment reads a payment session's request and creates its invoice.
func (f *fluxcord) newPayment(req *http.Request) (*invoice.View, error) {
	p, err := f.invoices.VendorByAPIKey(req.Context(), req.Header.Get("x-api-key"))
	if err != nil {
		return nil, err
	}
	vendor := p.Vendor
	var body struct {
		AmountLtc  json.RawMessage `json:"amountLtc"`
		WebhookURL *string         `json:"webhookUrl"`
	}
	if err := apiJSON.read(req, &body); err != nil {
		return nil, err
	}
	raw := string(bytes.TrimSpace(body.AmountLtc))
	if raw == "" || raw == "null" {
		return nil, invalidf("amountLtc is required: a number of LTC")
	}
	// A JSON number in plain decimals: its text is the amount's.
	sat, err := ferry.ParseAmount(raw)
	if err != nil || sat <= 0 {
		return nil, invalidf("amountLtc must be a positive number of LTC with at most 8 decimals, not %.30s", raw)
	}
	r := invoice.Request{Vendor: vendor, Dialect: fluxcordDialect, ID: store.NewUUID(), Amount: raw, Currency: "LTC",
		Coins: []string{"ltc"}, Expiry: f.expiry}
	if body.WebhookURL != nil {
		r.WebhookURL = *body.WebhookURL
	}
	return f.invoices.Create(req.Context(), r)
}

// get answers GET /api/payments/:id: the public status.
func (f *fluxcord) get(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
	v, err := f.find(req, ps.ByName("id"))
	if err != nil {
		f.fail(w, err)
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

// deliveries answers GET /api/payments/:id/webhooks (x-api-key): every
// webhook of the payment and each attempt to deliver it.
func (f *fluxcord) deliveries(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
	p, err := f.invoices.VendorByAPIKey(req.Context(), req.Header.Get("x-api-key"))
	if err != nil {
		f.fail(w, err)
		return
	}
	ds, err := f.invoices.Deliveries(req.Context(), p.Vendor.ID, ps.ByName("id"))
	if err != nil {
		f.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"paymentId": ps.ByName("id"), "webhooks": ds})
}

// find returns a Fluxcord payment, or not found for any other.
func (f *fluxcord) find(req *http.Request, id string) (*invoice.View, error) {
	v, err := f.invoices.Get(req.Context(), id)
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
		Status: fluxcordStatus(endedStatus(v)), ExpiresAt: isoMillis(v.Expires)}
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

// isoMillis writes t as Fluxcord does: ISO 8601 in UTC, milliseconds.
func isoMillis(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// FluxcordEvents announces Fluxcord payments: a POST of {"paymentId",
// "status","amountLtc","receivingAddress"} to the payment's webhookUrl
// when it is completed, and when it expires.
type FluxcordEvents struct{}

// Announce implements invoice.Announcer.
func (FluxcordEvents) Announce(v *invoice.View, from ferry.InvoiceStatus) []invoice.Event {
	to := fluxcordStatus(endedStatus(v))
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
