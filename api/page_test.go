package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/api"
	"github.com/ferry-relay/ferry/api/browsertest"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/relay/relaytest"
)

// btcPayout is a regtest Bitcoin address of a vendor.
const btcPayout = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"

// pageEnv serves the page of a $1,000 invoice of a vendor taking both
// coins, its engine's node down: 12.5 LTC at 80, 0.01111112 BTC at 90,000
// (1000/90000 rounded up to the satoshi).
func pageEnv(t testing.TB) (*httptest.Server, *invoice.View) {
	t.Helper()
	env := relaytest.NewEngine(t, relaytest.Options{Coins: []string{"ltc", "btc"}, Started: true, Down: true})
	inv := env.Invoices(t, relaytest.InvoiceOptions{})
	ctx := context.Background()
	creds, err := inv.AddVendor(ctx, invoice.NewVendor{Name: "Coffee Shop", Email: "owner@shop.example",
		Payout: map[string]string{"ltc": dest, "btc": btcPayout}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := inv.Create(ctx, invoice.Request{Vendor: creds.Vendor, Number: "42", Amount: "1000", Currency: "USD",
		ReturnURL: "https://shop.example/thanks", Prefix: "LTPP-"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.DefaultConfig(), env.Engine, inv).Handler())
	t.Cleanup(srv.Close)
	return srv, v
}

// TestPageInBrowser loads an invoice's page in headless Chromium at a
// phone's width: it shows the vendor, the number, the price in fiat and in
// the coin and the quote's time left; its QR code, read back from a
// screenshot, is the BIP21 URI of the address and the exact amount; the
// customer may switch to Bitcoin; and the page asks nothing of any other
// site nor breaks its own Content-Security-Policy.
func TestPageInBrowser(t *testing.T) {
	srv, v := pageEnv(t)
	b := browsertest.New(t)
	ltc, btc := v.Coins[0], v.Coins[1]
	if ltc.Coin != "ltc" || btc.Coin != "btc" {
		t.Fatalf("coins %s, %s", ltc.Coin, btc.Coin)
	}

	p := b.Open(t, srv.URL+"/merch/inv?id="+url.QueryEscape(v.ID), 390, 844)
	text := p.Text(t)
	for _, want := range []string{"Coffee Shop", "Invoice 42", "12.5 LTC", "1000.00 USD", "Waiting for your payment", ltc.Address, "left)"} {
		if !strings.Contains(text, want) {
			t.Errorf("the page does not show %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "Back to the shop") {
		t.Error("the return link shows before the invoice is paid")
	}
	uri := "litecoin:" + ltc.Address + "?amount=12.5"
	if got := browsertest.DecodeQR(t, p.Screenshot(t)); !slices.Equal(got, []string{uri}) {
		t.Errorf("QR code %q, want %q", got, uri)
	}
	if html := p.HTML(t); !strings.Contains(html, `<a class="wallet" href="`+uri+`">Open in a Litecoin wallet</a>`) {
		t.Errorf("no wallet link to %s:\n%s", uri, html)
	}

	p.Click(t, `nav.coins a[href$="coin=btc"]`)
	p.WaitText(t, "0.01111112 BTC")
	if got, want := browsertest.DecodeQR(t, p.Screenshot(t)), "bitcoin:"+btc.Address+"?amount=0.01111112"; !slices.Equal(got, []string{want}) {
		t.Errorf("QR code %q, want %q", got, want)
	}

	if errs := p.ConsoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}
	for _, r := range p.Requests() {
		if !strings.HasPrefix(r, srv.URL+"/") {
			t.Errorf("a request to another site: %s", r)
		}
	}
}

// TestPageWithoutJS loads the page as Tor Browser's safest mode does: no
// script runs, and a meta refresh keeps the page current; the QR code is
// still there, drawn by the server.
func TestPageWithoutJS(t *testing.T) {
	srv, v := pageEnv(t)
	b := browsertest.NewWithoutJS(t)
	p := b.Open(t, srv.URL+"/merch/inv?id="+url.QueryEscape(v.ID), 1280, 800)
	if html := p.HTML(t); !strings.Contains(html, `http-equiv="refresh" content="15"`) {
		t.Errorf("no meta refresh in the page:\n%s", html)
	}
	if !strings.Contains(p.Text(t), "minutes left)") {
		t.Errorf("the quote's time left is not shown without a script:\n%s", p.Text(t))
	}
	if got, want := browsertest.DecodeQR(t, p.Screenshot(t)), "litecoin:"+v.Coins[0].Address+"?amount=12.5"; !slices.Equal(got, []string{want}) {
		t.Errorf("QR code %q, want %q", got, want)
	}
}

// TestPageHeaders checks what a browser is told about the page: HTML, a
// strict policy, nothing cached; and that an unknown invoice is a 404.
func TestPageHeaders(t *testing.T) {
	srv, v := pageEnv(t)
	resp, err := http.Get(srv.URL + "/merch/inv?id=" + url.QueryEscape(v.ID))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for k, want := range map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Content-Security-Policy": "default-src 'none'",
		"Cache-Control":           "no-store",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
	} {
		if got := resp.Header.Get(k); !strings.HasPrefix(got, want) {
			t.Errorf("%s: %q, want %q…", k, got, want)
		}
	}
	for _, id := range []string{"LTPP-999", "", "../../etc/passwd", "<script>"} {
		resp, err := http.Get(srv.URL + "/merch/inv?id=" + url.QueryEscape(id))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// An id is echoed only as plain text, which no browser sniffs.
		if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" ||
			resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("id %q: %d %q", id, resp.StatusCode, body)
		}
	}
}

// TestPageAsksAtLeastTheMinimum: once an invoice is part paid, its payment
// URI asks for the rest, but never for less than the relay forwards (a
// smaller payment would be a donation to the operator).
func TestPageAsksAtLeastTheMinimum(t *testing.T) {
	env := relaytest.NewEngine(t, relaytest.Options{Started: true})
	env.Run(t)
	inv := env.Invoices(t, relaytest.InvoiceOptions{})
	ctx := context.Background()
	creds, err := inv.AddVendor(ctx, invoice.NewVendor{Name: "Coffee Shop", Email: "owner@shop.example", Payout: map[string]string{"ltc": dest}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.DefaultConfig(), env.Engine, inv).Handler())
	t.Cleanup(srv.Close)
	page := func(v *invoice.View) string {
		t.Helper()
		resp, err := http.Get(srv.URL + "/merch/inv?id=" + url.QueryEscape(v.ID))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}

	// $10 at $80: 0.125 LTC; 0.12 of it paid leaves 0.005, under the
	// minimum of 0.01.
	for _, tt := range []struct {
		paid ferry.Amount
		want string
	}{
		{0, "?amount=0.125"},
		{10_000_000, "?amount=0.025"},
		{12_000_000, "?amount=0.01"},
	} {
		v, err := inv.Create(ctx, invoice.Request{Vendor: creds.Vendor, Amount: "10", Currency: "USD"})
		if err != nil {
			t.Fatal(err)
		}
		addr := v.Coins[0].Address
		if tt.paid > 0 {
			d, err := env.Coins[0].Chain.ParseDestination(addr)
			if err != nil {
				t.Fatal(err)
			}
			node := env.Node.(*relaytest.Node)
			node.Mine(t, chain.Output{Value: int64(tt.paid), Script: d.Script})
			relaytest.WaitFor(t, "the payment", func() bool {
				v, err := inv.Get(ctx, v.ID)
				return err == nil && v.Coins[0].Confirmed == tt.paid
			})
		}
		if want := `href="litecoin:` + addr + tt.want + `"`; !strings.Contains(page(v), want) {
			t.Errorf("paid %d: the page does not link %s", tt.paid, want)
		}
	}
}
