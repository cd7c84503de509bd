package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
)

// The Open API's parameters. ForumPay's client keeps one curl handle per
// client object, and never turns its POST off: once it has posted
// StartPayment's form, every later call on that object is a POST that
// sends the form again, with the call's own parameters in the query. So a
// call reads the URL's query only, whatever the method; StartPayment and
// RequestKyc, which post their form (multipart/form-data: curl given an
// array; or urlencoded), read a POST's body, and the query when it has
// none (a GET, as the seed shows them). Each parameter at most once, in
// bounded sizes.

// Bounds of a call's parameters: the query (a payer's user agent may be
// long), a posted form (ForumPay's client posts about 2.5 KiB), and its
// fields.
const (
	maxOAQuery  = 4 << 10
	maxOAForm   = 16 << 10
	maxOAFields = 64
)

// oaParams reads a call's parameters: from a POST's form if form is set
// and the body has one, otherwise from the URL's query.
func oaParams(req *http.Request, form bool) (url.Values, error) {
	if form && req.Method == http.MethodPost {
		f, err := oaForm(req)
		if err != nil || len(f) > 0 {
			return f, err
		}
	}
	return oaQuery(req.URL.RawQuery)
}

// oaQuery reads a call's query strictly: bounded, each parameter at most
// once.
func oaQuery(raw string) (url.Values, error) {
	return oaValues(raw, maxOAQuery, "the query")
}

// oaValues reads urlencoded parameters (what names them in errors),
// at most max bytes, each at most once.
func oaValues(raw string, max int, what string) (url.Values, error) {
	if len(raw) > max {
		return nil, invalidf("%s is over %d KiB", what, max>>10)
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil, invalidf("%s cannot be read", what)
	}
	if len(q) > maxOAFields {
		return nil, invalidf("%s has over %d fields", what, maxOAFields)
	}
	for k, vs := range q {
		if len(vs) > 1 {
			return nil, invalidf("%.40s given more than once", k)
		}
	}
	return q, nil
}

// oaForm reads a POST's form: multipart/form-data or urlencoded, at most
// maxOAForm bytes and maxOAFields fields, each at most once, no file. An
// empty body is no form (nil).
func oaForm(req *http.Request) (url.Values, error) {
	body := http.MaxBytesReader(nil, req.Body, maxOAForm)
	ct := req.Header.Get("Content-Type")
	media, params, err := mime.ParseMediaType(ct)
	switch {
	case ct == "" || err == nil && media == "application/x-www-form-urlencoded":
		b, err := io.ReadAll(body)
		if err != nil {
			return nil, formError(err)
		}
		if ct == "" && len(strings.TrimSpace(string(b))) > 0 {
			return nil, invalidf("the body has no Content-Type: post multipart/form-data or application/x-www-form-urlencoded")
		}
		if len(b) == 0 {
			return nil, nil
		}
		return oaValues(string(b), maxOAForm, "the form")
	case err == nil && media == "multipart/form-data":
		return oaMultipart(body, params["boundary"])
	}
	return nil, invalidf("the body must be multipart/form-data or application/x-www-form-urlencoded, not %.60q", ct)
}

// oaMultipart reads a multipart/form-data body of fields.
func oaMultipart(body io.Reader, boundary string) (url.Values, error) {
	if boundary == "" {
		return nil, invalidf("the form has no boundary")
	}
	mr := multipart.NewReader(body, boundary)
	out := url.Values{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, formError(err)
		}
		name := p.FormName()
		switch {
		case name == "":
			return nil, invalidf("a part of the form has no name")
		case p.FileName() != "":
			return nil, invalidf("%.40s is a file: the form takes fields only", name)
		case out.Has(name):
			return nil, invalidf("%.40s given more than once", name)
		case len(out) >= maxOAFields:
			return nil, invalidf("the form has over %d fields", maxOAFields)
		}
		v, err := io.ReadAll(p)
		if err != nil {
			return nil, formError(err)
		}
		out.Set(name, string(v))
	}
}

// formError says why a form could not be read.
func formError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &ferry.Error{Kind: ferry.KindTooLarge, Message: fmt.Sprintf("the form is over %d KiB", maxOAForm>>10)}
	}
	return invalidf("the form cannot be read")
}

// required returns the parameter name, or says it is required.
func (c *oaCall) required(name string) (string, error) {
	v := strings.TrimSpace(c.q.Get(name))
	if v == "" {
		return "", invalidf("%s is required", name)
	}
	return v, nil
}

// flag reads a true-or-false parameter (absent or empty: false).
func (c *oaCall) flag(name string) (bool, error) {
	raw := c.q.Get(name)
	if raw == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(raw)
	if err != nil {
		return false, invalidf("%s must be true or false, not %.20q", name, raw)
	}
	return b, nil
}

// coin reads the currency parameter: a coin the server relays.
func (c *oaCall) coin() (string, error) {
	cur, err := c.required("currency")
	if err != nil {
		return "", err
	}
	return c.coinOf(cur)
}

// coinOf is the coin of a currency code, if the server relays it.
func (c *oaCall) coinOf(cur string) (string, error) {
	coin := strings.ToLower(cur)
	if chain.CoinName(coin) == "" || !runs(c.oa.relay, coin) {
		return "", &ferry.Error{Kind: ferry.KindUnsupported, Message: fmt.Sprintf("currency %.20q is not supported: this server relays %s", cur,
			strings.ToUpper(strings.Join(c.oa.relay.Coins(), " and ")))}
	}
	return coin, nil
}

// amount reads a positive amount of coin from parameter name: a decimal
// string with at most 8 decimals.
func (c *oaCall) amount(name string) (ferry.Amount, error) {
	raw, err := c.required(name)
	if err != nil {
		return 0, err
	}
	sat, err := ferry.ParseAmount(raw)
	if err != nil || sat <= 0 {
		return 0, invalidf("%s must be a positive amount with at most 8 decimals, not %.30q", name, raw)
	}
	return sat, nil
}
