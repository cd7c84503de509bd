package api_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/api"
	"github.com/ferry-relay/ferry/api/payscryptpb"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/relay/relaytest"
	"github.com/ferry-relay/ferry/store"
)

// scopeRefusal is what a key of scope create is told when it may not.
const scopeRefusal = "this API key may only create and read payments; use a key of scope all"

// payingEnv is a merchantEnv whose engine runs over a scripted node that
// the test mines blocks on, with the Payscrypt gRPC service beside it.
type payingEnv struct {
	*merchantEnv
	node *relaytest.Node
	grpc payscryptpb.PaymentGatewayClient
}

func newPayingEnv(t *testing.T) *payingEnv {
	t.Helper()
	env := relaytest.NewEngine(t, relaytest.Options{Started: true})
	env.Run(t)
	inv := env.Invoices(t, relaytest.InvoiceOptions{})
	creds, err := inv.AddVendor(t.Context(), invoice.NewVendor{Name: "Coffee Shop", Email: "owner@shop.example", Payout: map[string]string{"ltc": dest}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := api.DefaultConfig()
	cfg.RateLimit = 0
	cfg.Network = "regtest"
	s := api.New(cfg, env.Engine, inv)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := s.GRPCServer()
	go g.Serve(ln)
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &payingEnv{merchantEnv: &merchantEnv{srv: srv, engine: env.Engine, db: env.Store, inv: inv, creds: creds},
		node: env.Node.(*relaytest.Node), grpc: payscryptpb.NewPaymentGatewayClient(conn)}
}

// payHeld mines a block paying sat to an invoice's address, and waits
// until the invoice holds it.
func (m *payingEnv) payHeld(t *testing.T, id string, sat ferry.Amount) {
	t.Helper()
	v, err := m.view(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := chain.Litecoin(chain.Regtest)
	d, err := c.ParseDestination(v.Coins[0].Address)
	if err != nil {
		t.Fatal(err)
	}
	m.node.Mine(t, chain.Output{Value: int64(sat), Script: d.Script})
	relaytest.WaitFor(t, "the payment held", func() bool {
		v, err := m.view(t.Context(), id)
		return err == nil && v.Coins[0].Held == sat
	})
}

// view returns the invoice id, or the Open API payment whose payment_id
// is id, or the Coinremitter invoice whose invoice_id is id.
func (m *payingEnv) view(ctx context.Context, id string) (*invoice.View, error) {
	if v, err := m.inv.Get(ctx, id); err == nil {
		return v, nil
	}
	if v, err := m.inv.Find(ctx, m.creds.Vendor.ID, "openapi", id); err == nil {
		return v, nil
	}
	return m.inv.Find(ctx, m.creds.Vendor.ID, "coinremitter", id)
}

// state is what a call that moves money or cancels could change of an
// invoice.
func (m *payingEnv) state(t *testing.T, id string) string {
	t.Helper()
	v, err := m.view(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	c := v.Coins[0]
	b, _ := json.Marshal([]any{v.Status, c.Held, c.Refunded, c.Payments, len(m.node.Sent())})
	return string(b)
}

// TestKeyScopes: a key of scope create makes and reads payments in every
// dialect, but its CancelPayment, AcceptPayment, RefundPayment and
// CancelOrder (REST and gRPC) are refused in the dialect's own form and
// change nothing: the payment stays open, what it holds stays held. The
// vendor's key of scope all does each.
func TestKeyScopes(t *testing.T) {
	m := newPayingEnv(t)
	ctx := t.Context()
	vendor := m.creds.Vendor.ID
	nk, err := m.inv.Admin().AddAPIKey(ctx, vendor, store.ScopeCreate)
	if err != nil || nk.Scope != store.ScopeCreate || nk.Key == "" || nk.ID == "" {
		t.Fatalf("a key of scope create: %+v, %v", nk, err)
	}
	create, all := nk.Key, m.creds.APIKey

	// What a checkout does, with the key of scope create: Open API
	// payments (two of them then part paid, so held), a Payscrypt order
	// over REST and one over gRPC, a Fluxcord payment, a Coinremitter
	// invoice.
	start := func(pos string) string {
		t.Helper()
		var r oaTexts
		status, body := m.oa(t, "StartPayment", url.Values{"pos_id": {pos}, "invoice_currency": {"USD"}, "invoice_amount": {"10"}, "currency": {"LTC"}}, vendor, create)
		if err := json.Unmarshal([]byte(body), &r); status != 200 || err != nil {
			t.Fatalf("StartPayment with a key of scope create: %d %s", status, body)
		}
		return r["payment_id"]
	}
	unpaid, toAccept, toRefund := start("POS1"), start("POS2"), start("POS3")
	m.payHeld(t, toAccept, 6_000_000)
	m.payHeld(t, toRefund, 6_000_000)
	if status, body := m.oa(t, "CheckPayment", url.Values{"payment_id": {toAccept}}, vendor, create); status != 200 || !strings.Contains(body, `"refund_amount_opened":"0.06000000"`) {
		t.Errorf("CheckPayment with a key of scope create: %d %s", status, body)
	}
	resp, body := m.postJSON(t, "/v1/orders", `{"asset_name":"LTC","target_value":"10000000"}`, map[string]string{"apikey": create})
	if resp.StatusCode != 200 {
		t.Fatalf("CreateOrder over REST with a key of scope create: %d %s", resp.StatusCode, body)
	}
	restOrder, _ := decodeOrder(t, body)["id"].(string)
	gctx := func(key string) context.Context { return metadata.AppendToOutgoingContext(ctx, "apikey", key) }
	g, err := m.grpc.CreateOrder(gctx(create), &payscryptpb.CreateOrderRequest{AssetName: "LTC", TargetValue: "10000000"})
	if err != nil {
		t.Fatalf("CreateOrder over gRPC with a key of scope create: %v", err)
	}
	grpcOrder := g.Order.GetId()
	if resp, body := m.postJSON(t, "/api/payments", `{"amountLtc":0.05}`, map[string]string{"x-api-key": create}); resp.StatusCode != 200 {
		t.Errorf("a Fluxcord payment with a key of scope create: %d %s", resp.StatusCode, body)
	}
	if _, r := m.cr(t, "LTC", "create-invoice", map[string]string{"api_key": create, "amount": "2", "currency": "EUR"}); r.Flag != 1 {
		t.Errorf("a Coinremitter invoice with a key of scope create: %+v", r)
	}

	// Each call that cancels or moves money: refused with the key of
	// scope create, done with the key of scope all.
	grpcCancel := func(key string) (int, string) {
		_, err := m.grpc.CancelOrder(gctx(key), &payscryptpb.CancelOrderRequest{Id: grpcOrder})
		if status.Code(err) == codes.PermissionDenied {
			return http.StatusForbidden, status.Convert(err).Message()
		}
		if err != nil {
			return 0, err.Error()
		}
		return http.StatusOK, ""
	}
	for _, tt := range []struct {
		name    string
		invoice string
		do      func(key string) (int, string)
		done    string // in the answer or the state once done
	}{
		{"Open API CancelPayment", unpaid, func(key string) (int, string) {
			return m.oa(t, "CancelPayment", url.Values{"payment_id": {unpaid}}, vendor, key)
		}, `"cancelled"`},
		{"Open API AcceptPayment", toAccept, func(key string) (int, string) {
			return m.oa(t, "AcceptPayment", url.Values{"payment_id": {toAccept}, "accepted_amount": {"0.06"}}, vendor, key)
		}, `"success":true`},
		{"Open API RefundPayment", toRefund, func(key string) (int, string) {
			return m.oa(t, "RefundPayment", url.Values{"payment_id": {toRefund}, "refund_amount": {"0.06"}, "address_out": {dest}}, vendor, key)
		}, `"wait_time"`},
		{"Payscrypt CancelOrder over REST", restOrder, func(key string) (int, string) {
			resp, body := m.postJSON(t, "/v1/orders/"+restOrder+"/cancel", "", map[string]string{"apikey": key})
			if resp.StatusCode == http.StatusForbidden && resp.Header.Get("grpc-code") != "7" {
				return 0, "grpc-code " + resp.Header.Get("grpc-code")
			}
			return resp.StatusCode, body
		}, `"CANCELED"`},
		{"Payscrypt CancelOrder over gRPC", grpcOrder, grpcCancel, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := m.state(t, tt.invoice)
			status, body := tt.do(create)
			if status != http.StatusForbidden || !strings.Contains(body, scopeRefusal) {
				t.Errorf("with a key of scope create: %d %s", status, body)
			}
			if after := m.state(t, tt.invoice); after != before {
				t.Errorf("a refused call changed the payment:\n%s\nwas\n%s", after, before)
			}
			status, body = tt.do(all)
			if status != http.StatusOK || !strings.Contains(body, tt.done) {
				t.Errorf("with the key of scope all: %d %s", status, body)
			}
			if m.state(t, tt.invoice) == before {
				t.Error("the key of scope all changed nothing")
			}
		})
	}

	// Coinremitter's calls carry the vendor's secret as their password:
	// with it, a key of scope create may accept (the secret may do all).
	_, r := m.cr(t, "LTC", "create-invoice", map[string]string{"api_key": create, "amount": "2", "currency": "EUR"})
	var inv struct {
		InvoiceID string `json:"invoice_id"`
	}
	if err := json.Unmarshal(r.Data, &inv); err != nil || r.Flag != 1 {
		t.Fatalf("create-invoice: %+v", r)
	}
	m.payHeld(t, inv.InvoiceID, 2_000_000)
	if _, r := m.cr(t, "LTC", "accept-payment", map[string]string{"api_key": create, "invoice_id": inv.InvoiceID, "amount": "0.02", "password": "nope"}); r.Flag != 0 || r.Msg != "Invalid API key or password." {
		t.Errorf("accept-payment with a wrong password: %+v", r)
	}
	if _, r := m.cr(t, "LTC", "accept-payment", map[string]string{"api_key": create, "invoice_id": inv.InvoiceID, "amount": "0.02"}); r.Flag != 1 {
		t.Errorf("accept-payment with the secret: %+v", r)
	}
}

// TestVendorSecretRotation: a vendor's new secret works at once, and the
// old one is refused at once, by LitePay's merchant API and as
// Coinremitter's password; its API keys go on working.
func TestVendorSecretRotation(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})
	old := m.creds.Secret
	if resp, body := m.post(t, "/p/", m.form(nil)); resp.StatusCode != 200 {
		t.Fatalf("/p/ with the secret: %d %s", resp.StatusCode, body)
	}
	secret, err := m.inv.Admin().NewSecret(t.Context(), m.creds.Vendor.ID)
	if err != nil || len(secret) != 32 || secret == old {
		t.Fatalf("new secret %q, %v", secret, err)
	}
	if resp, body := m.post(t, "/p/", m.form(map[string]string{"invoice": "43"})); resp.StatusCode != 403 || !strings.Contains(body, "wrong credentials") {
		t.Errorf("/p/ with the old secret: %d %s", resp.StatusCode, body)
	}
	if _, r := m.cr(t, "LTC", "get-invoice", map[string]string{"invoice_id": "LTC1"}); r.Flag != 0 || r.Msg != "Invalid API key or password." {
		t.Errorf("Coinremitter with the old secret: %+v", r)
	}
	if resp, body := m.post(t, "/p/", m.form(map[string]string{"invoice": "43", "secret": secret})); resp.StatusCode != 200 {
		t.Errorf("/p/ with the new secret: %d %s", resp.StatusCode, body)
	}
	if _, r := m.cr(t, "LTC", "validate-address", map[string]string{"password": secret, "address": dest}); r.Flag != 1 {
		t.Errorf("Coinremitter with the new secret: %+v", r)
	}
	if _, err := m.inv.Admin().NewSecret(t.Context(), "NOBODY"); err == nil {
		t.Error("a secret for nobody")
	}
}
