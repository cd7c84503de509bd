package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/invoice"
)

// LitePay's merchant API: POST /merch/ (a form, as a shop's checkout posts
// it, answered with a redirect to the invoice's page) and POST /p/ (the
// same fields, answered in JSON, as LitePay's clients post them). The page
// itself is in page.go.

// Messages of LitePay's merchant API, as its documentation gives them.
const (
	merchMissing = "You have missing fields"
	merchCheck   = "ERROR: Please double check the information you submitted"
)

// merchantStatuses is the HTTP status of each kind of error as /merch/
// answers it in text, /p/ in JSON and the payment page: wrong
// credentials are forbidden.
var merchantStatuses = httpStatuses.with(map[ferry.Kind]int{ferry.KindUnauthorized: http.StatusForbidden})

// merchantInvoices is what LitePay's merchant API needs of the invoice
// engine.
type merchantInvoices interface {
	secrets
	creator
}

var _ merchantInvoices = (*invoice.Engine)(nil)

// merchant serves LitePay's merchant API.
type merchant struct {
	invoices merchantInvoices
	links    *links
	errs     errorTable[int]
}

// routes implements part: /p/ refuses a client past its limit in JSON.
func (m *merchant) routes() []route {
	return []route{
		{method: http.MethodPost, pattern: "/merch/", handle: m.createText, budget: apiBudget,
			fail: func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params, err error) { m.failText(w, err) }},
		{method: http.MethodPost, pattern: "/p/", handle: m.createJSON, budget: apiBudget, refuse: refuseLater,
			fail: func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params, err error) { m.failJSON(w, err) }},
	}
}

// refuseLater refuses in LitePay's later form.
func refuseLater(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusTooManyRequests, laterError{Status: "error", Message: msg})
}

// merchantFields are the form's fields; the first six are required.
var merchantFields = []string{"vendor", "invoice", "secret", "price", "callbackUrl", "returnUrl", "currency", "email"}

// maxForm bounds a merchant request's body.
const maxForm = 16 << 10

// message is the status and text of a merchant API error: the documented
// messages, with the reason after them.
func (m *merchant) message(err error) (int, string) {
	kind, msg := m.errs.explain(err)
	switch {
	case errors.Is(err, errMissing):
		return http.StatusBadRequest, merchMissing + ": " + strings.TrimPrefix(msg, errMissing.Error()+": ")
	case kind == ferry.KindInvalid, kind == ferry.KindUnauthorized, kind == ferry.KindUnsupported:
		return m.errs.of(kind), merchCheck + ": " + msg
	}
	return m.errs.of(kind), "ERROR: " + msg
}

var errMissing = errors.New("missing fields")

// createText answers POST /merch/: a 303 to the invoice's page, or the
// error as text.
func (m *merchant) createText(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	v, err := m.create(req)
	if err != nil {
		m.failText(w, err)
		return
	}
	http.Redirect(w, req, pageURL(m.links.base(req), v.ID), http.StatusSeeOther)
}

// failText answers err as /merch/ does, in text.
func (m *merchant) failText(w http.ResponseWriter, err error) {
	status, msg := m.message(err)
	writeText(w, status, msg)
}

// createJSON answers POST /p/: {"status":"success","url":…} or
// {"status":"error","message":…}.
func (m *merchant) createJSON(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	v, err := m.create(req)
	if err != nil {
		m.failJSON(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Status string `json:"status"`
		URL    string `json:"url"`
	}{"success", pageURL(m.links.base(req), v.ID)})
}

// failJSON answers err as /p/ does, in JSON.
func (m *merchant) failJSON(w http.ResponseWriter, err error) {
	status, msg := m.message(err)
	writeJSON(w, status, laterError{Status: "error", Message: msg})
}

// createInvoice reads a merchant form, authenticates the vendor and
// creates the invoice, or finds the one the vendor created before with
// that number.
func (m *merchant) create(req *http.Request) (*invoice.View, error) {
	f, err := parseForm(req)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, k := range merchantFields[:6] {
		if f.Get(k) == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return nil, &ferry.Error{Kind: ferry.KindInvalid, Message: strings.Join(missing, ", "), Err: errMissing}
	}
	vendor, err := m.invoices.Authenticate(req.Context(), f.Get("vendor"), f.Get("secret"))
	if err != nil {
		return nil, err
	}
	currency := f.Get("currency")
	if currency == "" {
		currency = "USD"
	}
	v, err := m.invoices.Create(req.Context(), invoice.Request{
		Vendor:      vendor,
		Number:      f.Get("invoice"),
		Amount:      trimZeros(f.Get("price")),
		Currency:    currency,
		Email:       decodeEmail(f.Get("email")),
		CallbackURL: decodeTwice(f.Get("callbackUrl")),
		ReturnURL:   decodeTwice(f.Get("returnUrl")),
		Prefix:      "LTPP-",
	})
	if errors.Is(err, invoice.ErrExists) {
		return v, nil // the same vendor and number: that invoice
	}
	return v, err
}

// trimZeros drops the zeros that end a price's decimals, and a point
// left last, which change nothing: WooCommerce writes an order's total
// with the shop's number of decimals ("10.000", and "1000.00" in yen at
// its default of two), and a currency's decimals count as written.
// Anything but digits with one point is left as it is, for the rates to
// refuse.
func trimZeros(price string) string {
	whole, frac, ok := strings.Cut(price, ".")
	if !ok || whole == "" || strings.Trim(whole+frac, "0123456789") != "" {
		return price
	}
	if frac = strings.TrimRight(frac, "0"); frac == "" {
		return whole
	}
	return whole + "." + frac
}

// parseForm reads a form body (urlencoded or multipart) strictly: bounded,
// each field at most once.
func parseForm(req *http.Request) (url.Values, error) {
	req.Body = http.MaxBytesReader(nil, req.Body, maxForm)
	ct := req.Header.Get("Content-Type")
	var err error
	if strings.HasPrefix(ct, "multipart/form-data") {
		err = req.ParseMultipartForm(maxForm)
	} else {
		err = req.ParseForm()
	}
	if err != nil {
		return nil, &ferry.Error{Kind: ferry.KindInvalid, Message: "the form cannot be read (urlencoded or multipart, at most 16 KiB)"}
	}
	f := req.PostForm
	for k, vs := range f {
		if len(vs) > 1 {
			return nil, &ferry.Error{Kind: ferry.KindInvalid, Message: fmt.Sprintf("%.40s given more than once", k)}
		}
	}
	return f, nil
}

// decodeEmail undoes the second encoding of an email address that was
// urlencoded before the form was built (LitePay's PHP client does so):
// "buyer%40shop.example" is "buyer@shop.example".
func decodeEmail(s string) string {
	if strings.Contains(s, "@") || !strings.Contains(strings.ToLower(s), "%40") {
		return s
	}
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return s
}
