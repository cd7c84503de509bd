package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/ferry-relay/ferry/api"
	"github.com/ferry-relay/ferry/api/payscryptpb"
	"github.com/ferry-relay/ferry/relay/relaytest"
	"github.com/ferry-relay/ferry/torproxy"
)

// TestNoInvoiceEngine: a server without an invoice engine keeps every
// route of the invoice dialects, rate limited as ever, and answers each
// as unavailable in the dialect's own form (the pages are not found);
// over gRPC too. LitePay's receive API still works.
func TestNoInvoiceEngine(t *testing.T) {
	env := relaytest.NewEngine(t, relaytest.Options{Hosts: &torproxy.Dialer{}, Started: true, Down: true})
	s := api.New(api.DefaultConfig(), env.Engine, nil)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	m := &merchantEnv{srv: srv}
	const off = "invoices are not enabled on this server"
	key := map[string]string{"x-api-key": "k", "apikey": "k"}
	form := url.Values{"vendor": {"V"}, "invoice": {"1"}, "secret": {"s"}, "price": {"1"}, "callbackUrl": {"https://shop.example/"},
		"returnUrl": {"https://shop.example/"}}

	for _, tt := range []struct {
		name, method, path, body string
		status                   int
		// want is in the body; grpc is the grpc-code header, if any.
		want, grpc string
	}{
		{"merchant text", http.MethodPost, "/merch/", form.Encode(), 503, "ERROR: " + off + "\n", ""},
		{"merchant JSON", http.MethodPost, "/p/", form.Encode(), 503, `{"status":"error","message":"ERROR: ` + off + `"}`, ""},
		{"page", http.MethodGet, "/merch/inv?id=X", "", 404, "404 page not found", ""},
		{"page status", http.MethodGet, "/merch/inv/status?id=X", "", 404, "404 page not found", ""},
		{"Fluxcord create", http.MethodPost, "/api/payments", `{"amountLtc":0.05}`, 503, `{"error":"` + off + `"}`, ""},
		{"Fluxcord status", http.MethodGet, "/api/payments/X", "", 503, `{"error":"` + off + `"}`, ""},
		{"Fluxcord webhooks", http.MethodGet, "/api/payments/X/webhooks", "", 503, `{"error":"` + off + `"}`, ""},
		{"Payscrypt create", http.MethodPost, "/v1/orders", `{"asset_name":"LTC","target_value":"10000000"}`, 503, `"message":"` + off + `"`, "14"},
		{"Payscrypt cancel", http.MethodPost, "/v1/orders/X/cancel", "", 503, `"message":"` + off + `"`, "14"},
		{"Payscrypt webhooks", http.MethodGet, "/v1/orders/X/webhooks", "", 503, `"message":"` + off + `"`, "14"},
		{"Payscrypt public", http.MethodGet, "/v1/public/orders/X", "", 503, `"message":"` + off + `"`, "14"},
		{"Coinremitter", http.MethodPost, "/api/v3/LTC/get-invoice", "", 200,
			`{"flag":0,"msg":"Invoices are not enabled on this server.","action":"get-invoice","data":[]}`, ""},
		{"Coinremitter's SDK rates", http.MethodGet, "/api/v3/get-coin-rate", "", 200,
			`{"flag":0,"msg":"Invoices are not enabled on this server.","action":"get-coin-rate","data":[]}`, ""},
		{"Open API", http.MethodGet, "/v2/GetRate/", "", 500, `{"err":"` + off + `"}`, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			resp, out := m.call(t, tt.method, tt.path, body, key)
			if resp.StatusCode != tt.status || !strings.Contains(out, tt.want) || resp.Header.Get("grpc-code") != tt.grpc {
				t.Errorf("%d %q (grpc-code %q), want %d %q", resp.StatusCode, out, resp.Header.Get("grpc-code"), tt.status, tt.want)
			}
			if resp.Header.Get("x-ratelimit-limit") == "" {
				t.Error("not rate limited")
			}
		})
	}

	// gRPC: every call is UNAVAILABLE.
	c := dialGRPC(t, serveGRPC(t, s))
	ctx := metadata.AppendToOutgoingContext(context.Background(), "apikey", "k")
	if _, err := c.CreateOrder(ctx, &payscryptpb.CreateOrderRequest{AssetName: "LTC", TargetValue: "10000000"}); status.Code(err) != codes.Unavailable ||
		status.Convert(err).Message() != off {
		t.Errorf("gRPC CreateOrder: %v", err)
	}
	if _, err := c.GetPublicOrderById(ctx, &payscryptpb.GetPublicOrderByIdRequest{Id: "X"}); status.Code(err) != codes.Unavailable {
		t.Errorf("gRPC GetPublicOrderById: %v", err)
	}

	// LitePay's receive API answers.
	if status, _, body := get(t, srv, "/api/receive?method=litecoin&callback_req=0&address="+dest); status != 200 ||
		!strings.Contains(body, `"input_address":"rltc1q`) {
		t.Errorf("/api/receive: %d %s", status, body)
	}
}
