package api_test

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/ferry-relay/ferry/api"
	"github.com/ferry-relay/ferry/api/payscryptpb"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/relay/relaytest"
)

// order is a REST answer's order, as its JSON reads.
type order map[string]any

func decodeOrder(t *testing.T, body string) order {
	t.Helper()
	var r struct{ Order order }
	if err := json.Unmarshal([]byte(body), &r); err != nil || r.Order == nil {
		t.Fatalf("not an order: %s (%v)", body, err)
	}
	return r.Order
}

// TestPayscryptREST makes, reads and cancels an order over REST: the
// seed's fields, as grpc-gateway writes them; the same merchant order
// again is the same order.
func TestPayscryptREST(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})
	key := map[string]string{"apikey": m.creds.APIKey}
	const req = `{"merchant_order_id":"A-1","asset_name":"LTC","target_value":"10000000","callback_url":"https://shop.example/done","description":"two mugs"}`
	resp, body := m.postJSON(t, "/v1/orders", req, key)
	if resp.StatusCode != 200 || resp.Header.Get("grpc-code") != "0" {
		t.Fatalf("create: %d %s %v", resp.StatusCode, body, resp.Header)
	}
	o := decodeOrder(t, body)
	id, _ := o["id"].(string)
	for k, want := range map[string]any{"type": "NORMAL", "asset_name": "LTC", "target_value": "10000000", "target_confirmations": "1",
		"merchant_order_id": "A-1", "description": "two mugs", "status": "PENDING", "value": "0", "confirmations": "0",
		"chain": "litecoin", "network": "regtest", "callback_url": "https://shop.example/done",
		"redirect_url": m.srv.URL + "/merch/inv?id=" + id, "code": id} {
		if o[k] != want {
			t.Errorf("%s = %v, want %v", k, o[k], want)
		}
	}
	if vs, _ := o["variants"].([]any); len(vs) != 1 || !strings.HasPrefix(vs[0].(string), "rltc1q") {
		t.Errorf("variants %v", o["variants"])
	}
	for _, k := range []string{"expired_at", "created_at", "updated_at"} {
		if s, _ := o[k].(string); len(s) != 10 {
			t.Errorf("%s = %v, want unix seconds as a string", k, o[k])
		}
	}
	if len(o) != 19 {
		t.Errorf("%d fields, want the seed's 18 and code: %s", len(o), body)
	}

	// The same merchant order again: that order; with another amount: a
	// conflict.
	if _, body := m.postJSON(t, "/v1/orders", req, key); decodeOrder(t, body)["id"] != id {
		t.Errorf("the same order again: %s", body)
	}
	resp, body = m.postJSON(t, "/v1/orders", strings.Replace(req, `"10000000"`, `"20000000"`, 1), key)
	if resp.StatusCode != 409 || resp.Header.Get("grpc-code") != "6" || !strings.Contains(body, "names order "+id) {
		t.Errorf("another amount for the same order: %d %s", resp.StatusCode, body)
	}

	// Public: no key, what a browser may see.
	resp, body = m.get(t, "/v1/public/orders/"+id+"?with_payments=true", nil)
	pub := decodeOrder(t, body)
	if resp.StatusCode != 200 || pub["status"] != "PENDING" || pub["merchant_order_id"] != nil || pub["callback_url"] != nil ||
		pub["description"] != nil {
		t.Errorf("public order: %d %s", resp.StatusCode, body)
	}
	if ps, ok := pub["payments"].([]any); !ok || len(ps) != 0 {
		t.Errorf("payments %v", pub["payments"])
	}

	// Cancel: by its vendor only.
	other, err := m.inv.AddVendor(context.Background(), newVendor("Tea Shop"))
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := m.postJSON(t, "/v1/orders/"+id+"/cancel", "", map[string]string{"apikey": other.APIKey}); resp.StatusCode != 404 {
		t.Errorf("another vendor's cancel: %d", resp.StatusCode)
	}
	resp, body = m.postJSON(t, "/v1/orders/"+id+"/cancel", "", key)
	if resp.StatusCode != 200 || decodeOrder(t, body)["status"] != "CANCELED" {
		t.Errorf("cancel: %d %s", resp.StatusCode, body)
	}
	if resp, body := m.get(t, "/v1/orders/"+id+"/webhooks", key); resp.StatusCode != 200 || !strings.Contains(body, `"webhooks":[]`) {
		t.Errorf("webhooks of an order: %d %s", resp.StatusCode, body)
	}
}

// TestPayscryptRefusals: every bad call answers its gRPC code in headers
// and body, with the HTTP status grpc-gateway gives it, and makes nothing.
func TestPayscryptRefusals(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})
	key := map[string]string{"apikey": m.creds.APIKey}
	good := map[string]any{"merchant_order_id": "A-1", "asset_name": "LTC", "target_value": "10000000"}
	with := func(k string, v any) string {
		b := map[string]any{}
		for k, v := range good {
			b[k] = v
		}
		if v == nil {
			delete(b, k)
		} else {
			b[k] = v
		}
		out, _ := json.Marshal(b)
		return string(out)
	}
	tests := []struct {
		name   string
		header map[string]string
		body   string
		status int
		code   string
		msg    string
	}{
		{"no key", nil, with("", nil), 401, "16", "apikey header is required"},
		{"wrong key", map[string]string{"apikey": "nope"}, with("", nil), 401, "16", "invalid API key"},
		{"malformed JSON", key, `{"asset_name":`, 400, "3", "JSON object"},
		{"wrong type", key, `{"asset_name":5}`, 400, "3", "CreateOrderRequest"},
		{"2 MB", key, `{"description":"` + strings.Repeat("x", 2<<20) + `"}`, 400, "3", "over 64 KiB"},
		{"no asset", key, with("asset_name", nil), 400, "3", "asset_name must be LTC or BTC"},
		{"ETH", key, with("asset_name", "ETH"), 400, "3", "asset_name must be LTC or BTC"},
		{"no value", key, with("target_value", nil), 400, "3", "target_value is required"},
		{"negative", key, with("target_value", "-1"), 400, "3", "positive whole number of the asset's base units"},
		{"zero", key, with("target_value", "0"), 400, "3", "positive whole number"},
		{"a decimal in coins", key, with("target_value", "0.1"), 400, "3", "base units (satoshis), a string of digits with no decimal point"},
		{"a whole decimal", key, with("target_value", "10000000.0"), 400, "3", "no decimal point"},
		{"comma", key, with("target_value", "1,5"), 400, "3", "positive whole number"},
		{"exponent", key, with("target_value", "1e7"), 400, "3", "positive whole number"},
		{"over 84 million coins", key, with("target_value", "8400000000000001"), 400, "3", "positive whole number"},
		{"a number", key, with("target_value", 10000000), 400, "3", "CreateOrderRequest"},
		{"below the minimum", key, with("target_value", "10000"), 400, "3", "smallest payment"},
		{"BTC, not run", key, with("asset_name", "BTC"), 400, "3", "no payout address"},
		{"another wallet", key, with("pg_wallet_id", "5"), 403, "7", "not this API key's wallet"},
		{"hostile callback", key, with("callback_url", "javascript:alert(1)"), 400, "3", "returnUrl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := m.postJSON(t, "/v1/orders", tt.body, tt.header)
			var e struct {
				Code    int
				Message string
			}
			if json.Unmarshal([]byte(body), &e) != nil || resp.StatusCode != tt.status || resp.Header.Get("grpc-code") != tt.code ||
				!strings.Contains(e.Message, tt.msg) {
				t.Errorf("%d %s %.200s, want %d, code %s and %q", resp.StatusCode, resp.Header.Get("grpc-code"), body, tt.status, tt.code, tt.msg)
			}
			checkGRPCHeaders(t, resp, body)
		})
	}
	m.nothingMade(t)
	for _, path := range []string{"/v1/public/orders/7", "/v1/public/orders/LTPP-1", "/v1/public/orders/x?with_payments=maybe"} {
		if resp, _ := m.get(t, path, nil); resp.StatusCode != 404 && resp.StatusCode != 400 {
			t.Errorf("GET %s: %d", path, resp.StatusCode)
		}
	}
}

// TestPayscryptGRPC calls the gRPC service as a Go client does: the key in
// the metadata; a new key invalidates the old one at once.
func TestPayscryptGRPC(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})
	srv := api.New(api.DefaultConfig(), nil, m.inv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := srv.GRPCServer()
	go g.Serve(ln)
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := payscryptpb.NewPaymentGatewayClient(conn)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "apikey", m.creds.APIKey)

	r, err := c.CreateOrder(ctx, &payscryptpb.CreateOrderRequest{MerchantOrderId: "G-1", AssetName: "LTC", TargetValue: "5000000"})
	if err != nil || r.Order.GetStatus() != payscryptpb.Order_PENDING || r.Order.GetTargetValue() != "5000000" || len(r.Order.GetVariants()) != 1 {
		t.Fatalf("CreateOrder: %v, %v", r, err)
	}
	p, err := c.GetPublicOrderById(context.Background(), &payscryptpb.GetPublicOrderByIdRequest{Id: r.Order.GetId(), WithPayments: true})
	if err != nil || p.Order.GetVariants()[0] != r.Order.GetVariants()[0] {
		t.Fatalf("GetPublicOrderById: %v, %v", p, err)
	}
	if _, err := c.CreateOrder(ctx, &payscryptpb.CreateOrderRequest{AssetName: "DOGE", TargetValue: "1"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("DOGE: %v", err)
	}
	if _, err := c.GetPublicOrderById(ctx, &payscryptpb.GetPublicOrderByIdRequest{Id: "999"}); status.Code(err) != codes.NotFound {
		t.Errorf("an unknown order: %v", err)
	}

	creds, err := m.inv.Admin().NewAPIKey(context.Background(), m.creds.Vendor.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateOrder(ctx, &payscryptpb.CreateOrderRequest{AssetName: "LTC", TargetValue: "5000000"}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("the old key after a new one: %v", err)
	}
	ctx = metadata.AppendToOutgoingContext(context.Background(), "apikey", creds.APIKey)
	cr, err := c.CancelOrder(ctx, &payscryptpb.CancelOrderRequest{Id: r.Order.GetId()})
	if err != nil || cr.Order.GetStatus() != payscryptpb.Order_CANCELED {
		t.Errorf("CancelOrder with the new key: %v, %v", cr, err)
	}
}

// newVendor is another vendor taking LTC.
func newVendor(name string) invoice.NewVendor {
	return invoice.NewVendor{Name: name, Email: "owner@shop.example", Payout: map[string]string{"ltc": dest}}
}

// TestPayscryptMessageEncoded: a message quoting the request's own bytes
// (a DEL, '%', UTF-8) reaches the client in a grpc-message
// header percent-encoded, and whole in the body; the answer stays
// readable to an HTTP client.
func TestPayscryptMessageEncoded(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})
	for _, tt := range []struct{ body, header string }{
		{"\"\x7f\"", `the body is not a CreateOrderRequest: syntax error (line 1:1): unexpected token "%7F"`},
		{"\"%\xc3\xa9\"", `the body is not a CreateOrderRequest: syntax error (line 1:1): unexpected token "%25%C3%A9"`},
		{"\"\xff\"", `the body is not a CreateOrderRequest: syntax error (line 1:1): invalid UTF-8 in string`},
	} {
		resp, body := m.postJSON(t, "/v1/orders", tt.body, map[string]string{"apikey": m.creds.APIKey})
		if resp.StatusCode != 400 || resp.Header.Get("grpc-message") != tt.header {
			t.Errorf("%q: %d, grpc-message %q, want %q", tt.body, resp.StatusCode, resp.Header.Get("grpc-message"), tt.header)
		}
		checkGRPCHeaders(t, resp, body)
	}
}
