package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/api/payscryptpb"
	"github.com/ferry-relay/ferry/chain/regtest"
)

// restOrder posts a REST call with the vendor's key and returns the
// answer's order.
func restOrder(t *testing.T, u, key, body string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	req.Header.Set("apikey", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var r struct{ Order map[string]any }
	if resp.StatusCode != 200 || resp.Header.Get("grpc-code") != "0" || json.Unmarshal(b, &r) != nil {
		t.Fatalf("POST %s: %d %s", u, resp.StatusCode, b)
	}
	return r.Order
}

// publicOrder gets an order's public view, with its payments.
func publicOrder(t *testing.T, base, id string) map[string]any {
	t.Helper()
	var r struct{ Order map[string]any }
	if code := getJSON(t, base+"/v1/public/orders/"+id+"?with_payments=true", nil, &r); code != 200 {
		t.Fatalf("public order %s: %d", id, code)
	}
	return r.Order
}

// statusesAt returns the statuses of the verified webhooks about order id
// a receiver logged, in order, and fails the test on one not verified.
func statusesAt(t *testing.T, entries []map[string]any, id string) []string {
	t.Helper()
	var out []string
	for _, e := range entries {
		ev, _ := e["event"].(map[string]any)
		if e["verified"] != true && e["accepted"] != true {
			t.Errorf("a webhook failed verification: %v", e)
			continue
		}
		if ev["id"] == id && e["repeat"] != true {
			out = append(out, ev["status"].(string))
		}
	}
	return out
}

// TestPayscryptFlow: an order made over REST and paid in two parts goes
// PENDING, CONFIRMING, SUCCESSFUL, with one webhook per change, in order,
// at each of the vendor's endpoints (Node and PHP receivers checking the
// signature as README shows); both parts are forwarded. Over gRPC, from a
// Go client, the same; a cancelled order is announced; a replaced API key
// fails at once.
func TestPayscryptFlow(t *testing.T) {
	n := startNode(t, "litecoin")
	cfg := merchantConfig(t, n)
	port, err := regtest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cfg.GRPCListen = fmt.Sprintf("127.0.0.1:%d", port)
	d := startFerry(t, cfg)
	payout := newAddress(t, n)
	var v vendorCreds
	var hookSecret struct {
		WebhookSecret string `json:"webhook_secret"`
	}
	out := vendorCLI(t, cfg.DataDir, 0, "add", "--name", "Payscrypt Shop", "--email", "owner@shop.example", "--ltc-address", payout)
	json.Unmarshal([]byte(out), &v)
	json.Unmarshal([]byte(out), &hookSecret)
	if !strings.HasPrefix(hookSecret.WebhookSecret, "whsec_") {
		t.Fatalf("ferry vendor add printed no webhook secret: %s", out)
	}
	node := startNodeApp(t, "webhook_receiver.js", "FERRY_WEBHOOK_SECRET="+hookSecret.WebhookSecret)
	php := startPHPServer(t, "webhook_receiver.php", "FERRY_WEBHOOK_SECRET="+hookSecret.WebhookSecret)
	for _, u := range []string{node.URL + "/payscrypt/webhook", php.URL + "/payscrypt/webhook"} {
		vendorCLI(t, cfg.DataDir, 0, "webhook", "add", v.Vendor.ID, u)
	}
	var eps struct{ Webhooks []map[string]any }
	json.Unmarshal([]byte(vendorCLI(t, cfg.DataDir, 0, "webhook", "list", v.Vendor.ID)), &eps)
	if len(eps.Webhooks) != 2 {
		t.Fatalf("endpoints: %v", eps)
	}
	phpEvents := func() []map[string]any {
		var out []map[string]any
		for _, c := range php.calls(t, "end", nil) {
			out = append(out, map[string]any{"accepted": c.Accepted, "event": c.Event})
		}
		return out
	}

	// REST, paid in two parts: 0.06 confirmed, then 0.04 seen, then mined
	// (amounts in litoshis).
	o := restOrder(t, d.URL+"/v1/orders", v.APIKey, `{"merchant_order_id":"ORD-1","asset_name":"LTC","target_value":"10000000","description":"two mugs"}`)
	id, addr := o["id"].(string), o["variants"].([]any)[0].(string)
	first := pay(t, n, addr, 6_000_000)
	mine(t, n, 1)
	waitForLong(t, "the first part", func() bool {
		p := publicOrder(t, d.URL, id)
		return p["value"] == "6000000" && p["confirmations"] == "1"
	})
	if p := publicOrder(t, d.URL, id); p["status"] != "PENDING" {
		t.Errorf("part paid: %v", p["status"])
	}
	second := pay(t, n, addr, 4_000_000)
	waitForLong(t, "CONFIRMING at both endpoints", func() bool {
		return len(statusesAt(t, node.entries(t), id)) >= 1 && len(statusesAt(t, phpEvents(), id)) >= 1
	})
	mine(t, n, 1)
	waitForLong(t, "SUCCESSFUL at both endpoints", func() bool {
		return len(statusesAt(t, node.entries(t), id)) >= 2 && len(statusesAt(t, phpEvents(), id)) >= 2
	})
	for who, got := range map[string][]string{"node": statusesAt(t, node.entries(t), id), "php": statusesAt(t, phpEvents(), id)} {
		if strings.Join(got, ",") != "CONFIRMING,SUCCESSFUL" {
			t.Errorf("%s got %v, want CONFIRMING then SUCCESSFUL", who, got)
		}
	}
	p := publicOrder(t, d.URL, id)
	if p["status"] != "SUCCESSFUL" || p["value"] != "10000000" || len(p["payments"].([]any)) != 2 {
		t.Errorf("public order: %v", p)
	}
	ev := node.entries(t)[0]["event"].(map[string]any)
	if ev["merchant_order_id"] != "ORD-1" || ev["pg_wallet_id"] == "0" || len(ev) != 4 {
		t.Errorf("WebhookOrder %v", ev)
	}
	for _, op := range []ferry.OutPoint{first, second} {
		fwd := spender(t, n, op)
		mine(t, n, 1)
		value := int64(6_000_000)
		if op == second {
			value = 4_000_000
		}
		checkForward(t, n, op, value, fwd, payout, cfg.LTCFeeAddress)
	}

	// gRPC, from a Go client.
	conn, err := grpc.NewClient(cfg.GRPCListen, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := payscryptpb.NewPaymentGatewayClient(conn)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "apikey", v.APIKey)
	r, err := c.CreateOrder(ctx, &payscryptpb.CreateOrderRequest{MerchantOrderId: "ORD-2", AssetName: "LTC", TargetValue: "5000000"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.Order.GetRedirectUrl(), d.URL+"/merch/inv?id=") {
		t.Errorf("redirect_url %q", r.Order.GetRedirectUrl())
	}
	pay(t, n, r.Order.GetVariants()[0], 5_000_000)
	mine(t, n, 1)
	waitForLong(t, "SUCCESSFUL over gRPC", func() bool {
		p, err := c.GetPublicOrderById(context.Background(), &payscryptpb.GetPublicOrderByIdRequest{Id: r.Order.GetId()})
		return err == nil && p.Order.GetStatus() == payscryptpb.Order_SUCCESSFUL
	})
	waitForLong(t, "its webhook", func() bool {
		got := statusesAt(t, node.entries(t), r.Order.GetId())
		return len(got) > 0 && got[len(got)-1] == "SUCCESSFUL"
	})
	unpaid, err := c.CreateOrder(ctx, &payscryptpb.CreateOrderRequest{MerchantOrderId: "ORD-3", AssetName: "LTC", TargetValue: "5000000"})
	if err != nil {
		t.Fatal(err)
	}
	if cr, err := c.CancelOrder(ctx, &payscryptpb.CancelOrderRequest{Id: unpaid.Order.GetId()}); err != nil || cr.Order.GetStatus() != payscryptpb.Order_CANCELED {
		t.Fatalf("cancel: %v, %v", cr, err)
	}
	waitForLong(t, "the cancel's webhook", func() bool {
		return strings.Join(statusesAt(t, node.entries(t), unpaid.Order.GetId()), ",") == "CANCELED"
	})

	// A new key: the old one fails at once, over gRPC and REST.
	var key struct {
		APIKey string `json:"api_key"`
	}
	json.Unmarshal([]byte(vendorCLI(t, cfg.DataDir, 0, "key", v.Vendor.ID)), &key)
	if _, err := c.CreateOrder(ctx, &payscryptpb.CreateOrderRequest{AssetName: "LTC", TargetValue: "5000000"}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("the old key over gRPC: %v", err)
	}
	req, _ := http.NewRequest(http.MethodPost, d.URL+"/v1/orders", strings.NewReader(`{"asset_name":"LTC","target_value":"5000000"}`))
	req.Header.Set("apikey", v.APIKey)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 || resp.Header.Get("grpc-code") != "16" {
		t.Errorf("the old key over REST: %v %v", resp, err)
	}
	restOrder(t, d.URL+"/v1/orders", key.APIKey, `{"asset_name":"LTC","target_value":"5000000"}`)
}
