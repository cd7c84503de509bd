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

// merchantStatuses maps each kind of error to the HTTP status of /merch/'s
// text answer; /p/ answers JSON with the same statuses.
var merchantStatuses = map[ferry.Kind]int{
	ferry.KindInternal:     http.StatusInternalServerError,
	ferry.KindInvalid:      http.StatusBadRequest,
	ferry.KindUnsupported:  http.StatusBadRequest,
	ferry.KindNotFound:     http.StatusNotFound,
	ferry.KindUnavailable:  http.StatusServiceUnavailable,
	ferry.KindUnauthorized: http.StatusForbidden,
	ferry.KindConflict:     http.StatusConflict,
	ferry.KindTooLarge:     http.StatusRequestEntityTooLarge,
	ferry.KindLimit:        http.StatusTooManyRequests,
	ferry.KindForbidden:    http.StatusForbidden,
}

// merchantFields are the form's fields; the first six are required.
var merchantFields = []string{"vendor", "invoice", "secret", "price", "callbackUrl", "returnUrl", "currency", "email"}

// maxForm bounds a merchant request's body.
const maxForm = 16 << 10

// merchantMessage is the text of a merchant API error: the documented
// messages, with the reason after them.
func (s *Server) merchantMessage(err error) (int, string) {
	kind, msg := s.explain(err, "merchant")
	switch {
	case errors.Is(err, errMissing):
		return http.StatusBadRequest, merchMissing + ": " + strings.TrimPrefix(msg, errMissing.Error()+": ")
	case kind == ferry.KindInvalid, kind == ferry.KindUnauthorized, kind == ferry.KindUnsupported:
		return merchantStatuses[kind], merchCheck + ": " + msg
	}
	return merchantStatuses[kind], "ERROR: " + msg
}

var errMissing = errors.New("missing fields")

// merchCreate answers POST /merch/: a 303 to the invoice's page, or the
// error as text.
func (s *Server) merchCreate(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	v, err := s.createInvoice(req)
	if err != nil {
		status, msg := s.merchantMessage(err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(status)
		fmt.Fprintln(w, msg)
		return
	}
	http.Redirect(w, req, s.pageURL(req, v.ID), http.StatusSeeOther)
}

// merchJSON answers POST /p/: {"status":"success","url":…} or
// {"status":"error","message":…}.
func (s *Server) merchJSON(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	v, err := s.createInvoice(req)
	if err != nil {
		status, msg := s.merchantMessage(err)
		writeJSON(w, status, laterError{Status: "error", Message: msg})
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Status string `json:"status"`
		URL    string `json:"url"`
	}{"success", s.pageURL(req, v.ID)})
}

// createInvoice reads a merchant form, authenticates the vendor and
// creates the invoice, or finds the one the vendor created before with
// that number.
func (s *Server) createInvoice(req *http.Request) (*invoice.View, error) {
	if s.invoices == nil {
		return nil, &ferry.Error{Kind: ferry.KindUnavailable, Message: "invoices are not enabled on this server"}
	}
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
	vendor, err := s.invoices.Authenticate(req.Context(), f.Get("vendor"), f.Get("secret"))
	if err != nil {
		return nil, err
	}
	currency := f.Get("currency")
	if currency == "" {
		currency = "USD"
	}
	v, err := s.invoices.Create(req.Context(), invoice.Request{
		Vendor:      vendor,
		Number:      f.Get("invoice"),
		Amount:      f.Get("price"),
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

// pageURL is the absolute URL of an invoice's page: on the server's public
// URL, or on the host the request came to.
func (s *Server) pageURL(req *http.Request, id string) string {
	return s.baseURL(req) + "/merch/inv?id=" + url.QueryEscape(id)
}

// baseURL is the server's public URL, with no trailing slash.
func (s *Server) baseURL(req *http.Request) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/")
	}
	scheme := "http"
	if req.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + req.Host
}
