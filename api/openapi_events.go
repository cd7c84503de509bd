package api

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/store"
	"github.com/ferry-relay/ferry/webhook"
)

// The Open API's webhooks, and the calls of ForumPay's client that need
// little: Ping (and its test webhook), GetWalletApps, RequestKyc.

// OpenAPIEvents announces the Open API's payments: payment.confirmed (a
// payment small enough with accept_zero_confirmations is confirmed once
// its amount is seen), payment.underpaid, payment.cancelled (an expired
// payment too) and payment.refunded, each
// {"event","payment_id","pos_id","reference_no","status","state","amount",
// "currency","address","timestamp"}: the seed's fields, and those
// ForumPay's WooCommerce plugin reads (payment_id and reference_no, to
// call CheckPayment). They go to the payment's webhook_url, or else to
// every endpoint of the vendor.
type OpenAPIEvents struct {
	// ZeroConf is Config.ZeroConf.
	ZeroConf map[string]ferry.Amount
	Clock    clock.Clock
}

// oaEvent is a webhook's body.
type oaEvent struct {
	Event       string `json:"event"`
	PaymentID   string `json:"payment_id"`
	POSID       string `json:"pos_id"`
	ReferenceNo string `json:"reference_no"`
	// Status is the event's name (the seed's); State CheckPayment's.
	Status    string `json:"status"`
	State     string `json:"state"`
	Amount    string `json:"amount"`
	Currency  string `json:"currency"`
	Address   string `json:"address"`
	Timestamp string `json:"timestamp"`
}

// Announce implements invoice.Announcer.
func (e OpenAPIEvents) Announce(v *invoice.View, from ferry.InvoiceStatus) []invoice.Event {
	to := oaStateOf(v, v.Status, e.ZeroConf)
	if to.event == "" || to == oaStateOf(v, from, e.ZeroConf) {
		return nil
	}
	pc := v.Coins[0]
	body, _ := json.Marshal(oaEvent{Event: "payment." + to.event, PaymentID: oaPaymentID(v), POSID: v.Fields[oaFieldPOS],
		ReferenceNo: v.Fields[oaFieldReference], Status: to.event, State: to.state, Amount: oaAmount(pc.Due),
		Currency: strings.ToUpper(pc.Coin), Address: pc.Address, Timestamp: e.Clock.Now().UTC().Format(time.RFC3339)})
	return []invoice.Event{{Type: "payment." + to.event, URL: v.WebhookURL, Body: body}}
}

// oaPong is Ping's answer.
type oaPong struct {
	Result          string             `json:"result"`
	WebhookResponse *oaWebhookResponse `json:"webhook_response,omitempty"`
}

// oaWebhookResponse is how Ping's test webhook went: status "ok" (a 2xx
// answer) or "failed", in duration seconds; the answer's status and body
// (its first 4 KiB), null without one.
type oaWebhookResponse struct {
	Status       string  `json:"status"`
	Duration     float64 `json:"duration"`
	WebhookURL   string  `json:"webhook_url"`
	ResponseCode *int    `json:"response_code"`
	ResponseBody *string `json:"response_body"`
}

// oaPing is Ping: {"result":"pong"}; with a webhook_url (an empty one is
// none), a test webhook is posted to it first, and how it went is told.
func oaPing(c *oaCall) (any, error) {
	out := oaPong{Result: "pong"}
	if u := strings.TrimSpace(c.q.Get("webhook_url")); u != "" {
		r, err := c.oa.tester.test(c.req.Context(), c.vendor, u)
		if err != nil {
			return nil, renamed(err, "callback URL", "webhook_url")
		}
		out.WebhookResponse = r
	}
	return out, nil
}

// Dialer is how the API reaches a vendor's URL itself (Ping's test
// webhook): *torproxy.Dialer implements it, checking every address it
// dials as the notifier's deliveries are checked.
type Dialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// Bounds of Ping's test webhooks: each within testTimeout, its answer
// read up to testAnswer bytes, at most testSlots at once.
const (
	testTimeout = 10 * time.Second
	testAnswer  = 4 << 10
	testSlots   = 4
)

// webhookTester posts Ping's test webhooks: {"webhook_test":true},
// signed as the vendor's webhooks are, no redirect followed. Safe for
// concurrent use.
type webhookTester struct {
	client *http.Client // nil: no way out; every test fails
	clock  clock.Clock
	slots  chan struct{}
}

// newWebhookTester returns a tester dialing through out (nil: none).
func newWebhookTester(out Dialer, clk clock.Clock) *webhookTester {
	t := &webhookTester{clock: clk, slots: make(chan struct{}, testSlots)}
	if out != nil {
		t.client = &http.Client{Timeout: testTimeout,
			Transport: &http.Transport{Proxy: nil, DialContext: out.DialContext, TLSHandshakeTimeout: testTimeout,
				ResponseHeaderTimeout: testTimeout, MaxResponseHeaderBytes: 16 << 10, DisableKeepAlives: true},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return t
}

// test posts a test webhook of vendor v to raw. A URL that is not one
// callbacks may have is an error; anything else is told in the answer.
func (t *webhookTester) test(ctx context.Context, v *store.Vendor, raw string) (*oaWebhookResponse, error) {
	u, err := relay.ParseCallback(raw)
	if err != nil {
		return nil, err
	}
	r := &oaWebhookResponse{Status: "failed", WebhookURL: raw}
	fail := func(msg string) (*oaWebhookResponse, error) { r.ResponseBody = &msg; return r, nil }
	if t.client == nil {
		return fail("this server sends no test webhook")
	}
	select {
	case t.slots <- struct{}{}:
		defer func() { <-t.slots }()
	default:
		return fail("too many test webhooks at once: try again")
	}
	body := []byte(`{"webhook_test":true}`)
	start := t.clock.Now()
	h, err := webhook.Headers(v.WebhookSecret, "evt_test_"+store.NewUUID(), start, body)
	if err != nil {
		h = http.Header{} // a vendor without a secret: unsigned
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(string(body)))
	if err != nil {
		return fail("the URL cannot be requested")
	}
	req.Header = h
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ferry")
	resp, err := t.client.Do(req)
	r.Duration = t.clock.Now().Sub(start).Seconds()
	if err != nil {
		return fail("no answer: " + strings.TrimPrefix(err.Error(), "Post \""+u.String()+"\": "))
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, testAnswer))
	text := string(answer)
	r.ResponseCode, r.ResponseBody = &resp.StatusCode, &text
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		r.Status = "ok"
	}
	return r, nil
}

// oaWalletApps is GetWalletApps: ferry knows no wallet apps.
func oaWalletApps(*oaCall) (any, error) { return []struct{}{}, nil }

// oaRequestKyc is RequestKyc: ferry runs no KYC check, so none is ever
// asked for (StartPayment never answers a payer* err_code); a request is
// answered {"status":"not required"}.
func oaRequestKyc(c *oaCall) (any, error) {
	if _, err := c.required("email"); err != nil {
		return nil, err
	}
	return struct {
		Status string `json:"status"`
	}{"not required"}, nil
}
