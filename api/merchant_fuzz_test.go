package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ferry-relay/ferry/api"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/relay/relaytest"
	"github.com/rs/zerolog"
)

// FuzzMerchantForm posts a vendor's merchant form with any field values
// (the vendor and its secret right, so that the values are what is
// judged): /p/ never fails inside, and answers success only with the URL
// of an invoice whose page shows, at the price the shop asked for.
func FuzzMerchantForm(f *testing.F) {
	for _, s := range [][6]string{
		{"42", "10", "USD", "buyer@shop.example", "https://shop.example/cb.php?invoice=42&secret=s", "https://shop.example/thanks"},
		{"43", "0.01", "EUR", "buyer%40shop.example", "https%3A%2F%2Fshop.example%2Fcb.php%3Fid%3D7", "https%3A%2F%2Fshop.example%2F"},
		{"44", "1e9999", "USD", "", "http://127.0.0.1/cb", "javascript:alert(1)"},
		{"45", "-1", "XYZ", "not an address", "http://169.254.169.254/", "https://shop.example/"},
		{"<script>", "abc", "usd", "a@b", "https://shop.example/%zz", "https://shop.example/\x00"},
		{strings.Repeat("9", 300), "99999999999999999999", "JPY", "@", "ftp://shop.example/", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4], s[5])
	}
	m := newMerchantEnv(f, fuzzInvoices)
	f.Fuzz(func(t *testing.T, number, price, currency, email, callback, ret string) {
		form := m.form(nil)
		for k, v := range map[string]string{"invoice": number, "price": price, "currency": currency, "email": email, "callbackUrl": callback, "returnUrl": ret} {
			form.Set(k, v)
		}
		resp, body := m.post(t, "/p/", form)
		var r struct{ Status, URL, Message string }
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatalf("/p/ answered %d %q: %v", resp.StatusCode, body, err)
		}
		if resp.StatusCode >= 500 && resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("/p/ failed inside: %d %s", resp.StatusCode, body)
		}
		if r.Status != "success" {
			if r.Status != "error" || r.Message == "" || resp.StatusCode < 400 {
				t.Fatalf("/p/ answered %d %s", resp.StatusCode, body)
			}
			return
		}
		u, err := url.Parse(r.URL)
		if err != nil {
			t.Fatal(err)
		}
		v, err := m.inv.Get(context.Background(), u.Query().Get("id"))
		if err != nil {
			t.Fatalf("/p/ gave %s, but: %v", r.URL, err)
		}
		if v.Number != number || v.Vendor.ID != m.creds.Vendor.ID {
			t.Fatalf("invoice %+v for number %q", v, number)
		}
		if page, err := http.Get(r.URL); err != nil || page.StatusCode != http.StatusOK {
			t.Fatalf("the page of %s: %v %v", r.URL, page, err)
		} else {
			page.Body.Close()
		}
	})
}

// FuzzAdminVendor posts any body to the operator's POST /vendors: it never
// fails inside, it adds a vendor only from one JSON value, and a vendor it
// adds has a name, an email and a payout address, and signs in with the
// secret it was given.
func FuzzAdminVendor(f *testing.F) {
	for _, s := range []string{
		`{"name":"Tea","email":"tea@shop.example","payout":{"ltc":"` + dest + `"}}`,
		`{"name":"Tea","email":"tea@shop.example","payout":{"btc":"` + dest + `"}}`,
		`{"name":"","email":"x","payout":{}}`, `{"name":"a","extra":1}`, `[]`, `{`, `null`, "",
		`{"name":"\u0000","email":"a@b","payout":{"ltc":"ltc1q"}}`,
		`{"name":"Tea","email":"tea@shop.example","payout":{"ltc":"` + dest + `"}}}`,
	} {
		f.Add(s)
	}
	m := newMerchantEnv(f, relaytest.InvoiceOptions{})
	admin := httptest.NewServer(api.AdminHandler(m.inv.Admin(), zerolog.Nop()))
	f.Cleanup(admin.Close)
	f.Fuzz(func(t *testing.T, body string) {
		resp, err := http.Post(admin.URL+"/vendors", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var c invoice.Credentials
		var e struct{ Error string }
		switch resp.StatusCode {
		case http.StatusCreated:
			if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
				t.Fatal(err)
			}
			if !json.Valid([]byte(body)) {
				t.Fatalf("added a vendor from %q, which is not one JSON value", body)
			}
		case http.StatusBadRequest:
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Error == "" {
				t.Fatalf("400 without a reason: %v", err)
			}
			return
		default:
			t.Fatalf("POST /vendors %q: %d", body, resp.StatusCode)
		}
		v := c.Vendor
		if v == nil || strings.TrimSpace(v.Name) == "" || !strings.Contains(v.Email, "@") || len(v.Payout) == 0 {
			t.Fatalf("added %+v from %q", v, body)
		}
		if _, err := m.inv.Authenticate(context.Background(), v.ID, c.Secret); err != nil {
			t.Fatalf("the new vendor's secret: %v", err)
		}
		if err := m.inv.RemoveVendor(context.Background(), v.ID); err != nil {
			t.Fatal(err)
		}
	})
}
