package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/api"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/relay/relaytest"
	"github.com/ferry-relay/ferry/torproxy"
	"github.com/ferry-relay/ferry/webhook"
)

// TestOpenAPIEvents: a payment's webhook carries what ForumPay's
// WooCommerce plugin reads (payment_id and reference_no, in a JSON body)
// besides the seed's fields, and goes to StartPayment's webhook_url; an
// expired payment is announced cancelled, and reads Cancelled (reason
// "expired") in CheckPayment and GetTransactions, and CancelPayment of it
// answers cancelled.
func TestOpenAPIEvents(t *testing.T) {
	clk := clock.NewTest(time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC))
	m := newMerchantEnv(t, relaytest.InvoiceOptions{Clock: clk})
	events := api.OpenAPIEvents{ZeroConf: api.DefaultConfig().ZeroConf, Clock: clk}
	for _, tt := range []struct {
		name, hook, url string
	}{
		{"to webhook_url", "https://shop.example/?wc-api=wc_forumpay&act=webhook", "https://shop.example/?wc-api=wc_forumpay&act=webhook"},
		{"to the vendor's endpoints", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			end := clk.Now().Add(time.Hour).UTC()
			start := m.ok(t, oaRequest{call: "StartPayment", form: startForm("4242", [2]string{"webhook_url", tt.hook})}).(map[string]any)
			id := start["payment_id"].(string)
			v, err := m.inv.Find(t.Context(), m.creds.Vendor.ID, "openapi", id)
			if err != nil {
				t.Fatal(err)
			}
			if evs := events.Announce(v, ferry.InvoicePending); len(evs) != 0 {
				t.Errorf("a new payment announced: %v", evs)
			}
			clk.Advance(time.Hour)
			if v, err = m.inv.Find(t.Context(), m.creds.Vendor.ID, "openapi", id); err != nil || v.Status != ferry.InvoiceExpired {
				t.Fatalf("expired: %v, %v", v, err)
			}
			evs := events.Announce(v, ferry.InvoicePending)
			if len(evs) != 1 || evs[0].Type != "payment.cancelled" || evs[0].URL != tt.url {
				t.Fatalf("expiry announced as %v", evs)
			}
			var body map[string]any
			if err := json.Unmarshal(evs[0].Body, &body); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"event": "payment.cancelled", "payment_id": id, "pos_id": "woocommerce-1", "reference_no": "4242",
				"status": "cancelled", "state": "cancelled", "amount": "0.12500000", "currency": "LTC", "address": start["address"],
				"timestamp": end.Format(time.RFC3339)}
			for k, w := range want {
				if body[k] != w {
					t.Errorf("webhook %s = %v, want %v", k, body[k], w)
				}
			}
			if _, ok := body["webhook_test"]; ok || len(body) != len(want) {
				t.Errorf("webhook %v", body)
			}
			q := url.Values{"payment_id": {id}}
			c := checkSpec(t, "CheckPayment", m.ok(t, oaRequest{call: "CheckPayment", query: q}), oaCheckSpec)
			if c["status"] != "Cancelled" || c["state"] != "cancelled" || c["reason"] != "expired" || c["cancelled_time"] != end.Format(time.DateTime) {
				t.Errorf("CheckPayment expired: %v", c)
			}
			if r := m.ok(t, oaRequest{call: "CancelPayment", query: q}).(map[string]any); r["cancelled"] != true || r["status"] != "Cancelled" {
				t.Errorf("CancelPayment expired: %v", r)
			}
			txs := m.ok(t, oaRequest{call: "GetTransactions", query: url.Values{"reference_no": {"4242"}}}).(map[string]any)
			invs := txs["invoices"].([]any)
			if last := invs[len(invs)-1].(map[string]any); last["status"] != "Cancelled" || last["cancelled"] != end.Format(time.DateTime) {
				t.Errorf("GetTransactions expired: %v", last)
			}
		})
	}
}

// pingReceiver is a shop's webhook endpoint answering Ping's test as
// ForumPay's plugin does: status, and {"message":…}; it keeps what it got.
type pingReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []string
	header http.Header
}

func newPingReceiver(t *testing.T, status int) *pingReceiver {
	t.Helper()
	r := &pingReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies, r.header = append(r.bodies, string(b)), req.Header.Clone()
		r.mu.Unlock()
		w.WriteHeader(status)
		w.Write([]byte(`{"message":"9b2c"}`))
	}))
	t.Cleanup(r.Close)
	return r
}

// TestOpenAPIPing: Ping answers pong; with a webhook_url it posts the
// plugin's test webhook ({"webhook_test":true}, signed) first and tells
// how it went, through the dialer that checks every address: a shop it
// may not reach, or a server with no way out, fails the test, not the
// call.
func TestOpenAPIPing(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})
	cfg := api.DefaultConfig()
	cfg.RateLimit = 0
	cfg.Outbound = &torproxy.Dialer{Guard: torproxy.Guard{AllowPrivate: true}}
	allowed := newServer(t, api.New(cfg, m.engine, m.inv))
	cfg.Outbound = &torproxy.Dialer{}
	guarded := newServer(t, api.New(cfg, m.engine, m.inv))
	cfg.Outbound = nil
	none := newServer(t, api.New(cfg, m.engine, m.inv))
	ok, failing := newPingReceiver(t, 200), newPingReceiver(t, 500)
	for _, tt := range []struct {
		name        string
		srv         *httptest.Server
		hook        string
		status      string
		code        any
		body        string
		delivered   *pingReceiver
		answerWants string
	}{
		{"answered", allowed, ok.URL + "/?wc-api=wc_forumpay&act=webhook", "ok", 200.0, `{"message":"9b2c"}`, ok, ""},
		{"answered 500", allowed, failing.URL + "/", "failed", 500.0, `{"message":"9b2c"}`, failing, ""},
		{"a private address refused", guarded, ok.URL + "/", "failed", nil, "", nil, "no answer: "},
		{"no way out", none, ok.URL + "/", "failed", nil, "", nil, "sends no test webhook"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m.srv = tt.srv
			p := checkSpec(t, "Ping", m.ok(t, oaRequest{call: "Ping", query: url.Values{"webhook_url": {tt.hook}}}), oaPingSpec)
			r, _ := p["webhook_response"].(map[string]any)
			body, _ := r["response_body"].(string)
			if p["result"] != "pong" || r["status"] != tt.status || r["response_code"] != tt.code || r["webhook_url"] != tt.hook ||
				tt.body != "" && body != tt.body || !strings.Contains(body, tt.answerWants) {
				t.Errorf("Ping: %v", p)
			}
			if _, ok := r["duration"].(float64); !ok {
				t.Errorf("duration %v", r["duration"])
			}
			if tt.delivered == nil {
				return
			}
			tt.delivered.mu.Lock()
			defer tt.delivered.mu.Unlock()
			last := tt.delivered.bodies[len(tt.delivered.bodies)-1]
			if last != `{"webhook_test":true}` || tt.delivered.header.Get("Content-Type") != "application/json" {
				t.Errorf("the test webhook: %s %v", last, tt.delivered.header)
			}
			if err := webhook.Verify(m.creds.WebhookSecret, tt.delivered.header, []byte(last), time.Now()); err != nil {
				t.Errorf("the test webhook's signature: %v", err)
			}
		})
	}
}
