package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/relay/relaytest"
)

// FuzzPublicID asks for any id where an id is public: the page, its
// status, Payscrypt's public order and Fluxcord's payment. Nothing fails
// inside; an id is found only as it was handed out (a Payscrypt order's
// id, not its number or another case of it); anything else is not found,
// in each call's own form.
func FuzzPublicID(f *testing.F) {
	m := newMerchantEnv(f, relaytest.InvoiceOptions{})
	v, err := m.inv.Create(f.Context(), invoice.Request{Vendor: m.creds.Vendor, Dialect: "payscrypt", Number: "7", Amount: "0.1", Currency: "LTC"})
	if err != nil {
		f.Fatal(err)
	}
	order := v.ID
	for _, s := range []string{order, strings.ToLower(order), order + " ", "7", "LTPP-1", "LTC1", "", "../x", "%00", strings.Repeat("A", 24),
		"550e8400-e29b-41d4-a716-446655440000", strings.Repeat("9", 30)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		q := url.QueryEscape(id)
		p := url.PathEscape(id)
		for _, c := range []struct {
			path string
			json bool
		}{{"/merch/inv?id=" + q, false}, {"/merch/inv/status?id=" + q, true}, {"/v1/public/orders/" + p, true}, {"/api/payments/" + p, true}} {
			resp, out := m.get(t, c.path, nil)
			found := id == order && !strings.HasPrefix(c.path, "/api/payments/")
			switch {
			case resp.StatusCode >= 500:
				t.Fatalf("%s failed inside: %d %s", c.path, resp.StatusCode, out)
			case found && resp.StatusCode != 200:
				t.Fatalf("%s: %d %s, want the order", c.path, resp.StatusCode, out)
			case !found && resp.StatusCode == 200:
				t.Fatalf("%s found something: %s", c.path, out)
			case !found && resp.StatusCode == http.StatusNotFound && id != "" && !strings.Contains(id, "/") && // else the router's 404
				c.json != strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json"):
				t.Fatalf("%s: not found as %s", c.path, resp.Header.Get("Content-Type"))
			}
		}
	})
}
