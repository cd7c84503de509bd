package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/ferry-relay/ferry/api"
	"github.com/ferry-relay/ferry/api/payscryptpb"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/relay/relaytest"
)

// TestMaxOpenInvoices: a vendor with as many open invoices as the server
// allows (two here) is refused another in every dialect, in the dialect's
// own form, and nothing is minted; the same merchant number again still
// returns its invoice; once one closes, there is room again.
func TestMaxOpenInvoices(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{Config: func(c *invoice.Config) { c.MaxOpen = 2 }})
	var first string // the first invoice's page
	for _, n := range []string{"1", "2"} {
		resp, body := m.post(t, "/p/", m.form(map[string]string{"invoice": n}))
		var r struct{ URL string }
		if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &r) != nil {
			t.Fatalf("invoice %s: %d %s", n, resp.StatusCode, body)
		}
		if first == "" {
			first = r.URL
		}
	}
	const msg = "too many open invoices: this vendor has 2"

	// LitePay: /merch/ in text, /p/ in JSON.
	if resp, body := m.post(t, "/merch/", m.form(map[string]string{"invoice": "3"})); resp.StatusCode != http.StatusTooManyRequests ||
		!strings.HasPrefix(body, "ERROR: "+msg) {
		t.Errorf("/merch/: %d %s", resp.StatusCode, body)
	}
	resp, body := m.post(t, "/p/", m.form(map[string]string{"invoice": "3"}))
	var lp struct{ Status, Message string }
	if json.Unmarshal([]byte(body), &lp) != nil || resp.StatusCode != http.StatusTooManyRequests || lp.Status != "error" ||
		!strings.HasPrefix(lp.Message, "ERROR: "+msg) {
		t.Errorf("/p/: %d %s", resp.StatusCode, body)
	}

	// Fluxcord.
	resp, body = m.postJSON(t, "/api/payments", `{"amountLtc":0.05}`, map[string]string{"x-api-key": m.creds.APIKey})
	var fx struct{ Error string }
	if json.Unmarshal([]byte(body), &fx) != nil || resp.StatusCode != http.StatusTooManyRequests || !strings.HasPrefix(fx.Error, msg) {
		t.Errorf("Fluxcord: %d %s", resp.StatusCode, body)
	}

	// Payscrypt, over REST and gRPC.
	order := `{"asset_name":"LTC","target_value":"10000000","merchant_order_id":"P-3"}`
	resp, body = m.postJSON(t, "/v1/orders", order, map[string]string{"apikey": m.creds.APIKey})
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("grpc-code") != "8" || !strings.Contains(body, msg) {
		t.Errorf("Payscrypt REST: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	c := dialGRPC(t, serveGRPC(t, api.New(api.DefaultConfig(), m.engine, m.inv)))
	ctx := metadata.AppendToOutgoingContext(context.Background(), "apikey", m.creds.APIKey)
	_, err := c.CreateOrder(ctx, &payscryptpb.CreateOrderRequest{AssetName: "LTC", TargetValue: "10000000"})
	if status.Code(err) != codes.ResourceExhausted || !strings.HasPrefix(status.Convert(err).Message(), msg) {
		t.Errorf("Payscrypt gRPC: %v", err)
	}

	// Coinremitter: a failure, flag 0.
	code, cr := m.cr(t, "LTC", "create-invoice", map[string]string{"amount": "0.1"})
	if code != http.StatusOK || cr.Flag != 0 || !strings.HasPrefix(cr.Msg, "Too many open invoices: this vendor has 2") || string(cr.Data) != "[]" {
		t.Errorf("Coinremitter: %d %+v", code, cr)
	}

	// The Open API.
	code, body = m.oa(t, "StartPayment", url.Values{"pos_id": {"P"}, "invoice_currency": {"LTC"}, "invoice_amount": {"0.5"}, "currency": {"LTC"}},
		m.creds.Vendor.ID, m.creds.APIKey)
	var oa struct{ Err string }
	if json.Unmarshal([]byte(body), &oa) != nil || code != http.StatusBadRequest || !strings.HasPrefix(oa.Err, msg) {
		t.Errorf("Open API: %d %s", code, body)
	}

	if n, _ := m.db.NextIndex("ltc"); n != 2 {
		t.Errorf("%d addresses minted, want 2: a refused invoice mints nothing", n)
	}
	// The same number again is the same invoice, not a new one.
	if resp, body := m.post(t, "/p/", m.form(map[string]string{"invoice": "1"})); resp.StatusCode != 200 || !strings.Contains(body, first) {
		t.Errorf("invoice 1 again: %d %s, want %s", resp.StatusCode, body, first)
	}

	// An invoice closed (expired) makes room.
	u, err := url.Parse(first)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.db.CloseInvoice(u.Query().Get("id")); err != nil {
		t.Fatal(err)
	}
	if resp, body := m.post(t, "/p/", m.form(map[string]string{"invoice": "3"})); resp.StatusCode != 200 {
		t.Errorf("after one closed: %d %s", resp.StatusCode, body)
	}
	if resp, _ := m.post(t, "/p/", m.form(map[string]string{"invoice": "4"})); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("past the limit again: %d", resp.StatusCode)
	}
}
