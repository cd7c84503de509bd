package main

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-relay/ferry/chain/regtest"
)

// sdkOutcome is what one call of Coinremitter's Node SDK gave its
// callback.
type sdkOutcome struct {
	Call string         `json:"call"`
	Err  map[string]any `json:"err"`
	Data map[string]any `json:"data"`
}

// runCoinremitterSDK runs calls of Coinremitter's Node SDK (npm
// coinremitter-api, unchanged) as the vendor v, its host redirected to the
// ferry at base by testdata/node/coinremitter_preload.js, and returns each
// call's outcome.
func runCoinremitterSDK(t *testing.T, base string, v vendorCreds, calls ...map[string]any) []sdkOutcome {
	t.Helper()
	node := need(t, "node")
	if _, err := os.Stat("testdata/node/node_modules/coinremitter-api"); err != nil {
		if os.Getenv(regtest.RequireEnv) == "" {
			t.Skip("npm packages not installed (npm ci --prefix cmd/ferry/testdata/node)")
		}
		t.Fatal("npm packages not installed: run make test, or npm ci --prefix cmd/ferry/testdata/node")
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	arg, _ := json.Marshal(calls)
	dir, _ := filepath.Abs("testdata/node")
	out := runCommand(t, []string{"CR_PORT=" + u.Port(), "CR_KEY=" + v.APIKey, "CR_PASSWORD=" + v.Secret}, node,
		"-r", filepath.Join(dir, "coinremitter_preload.js"), filepath.Join(dir, "coinremitter_sdk.js"), string(arg))
	var got []sdkOutcome
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "CR "); ok {
			var o sdkOutcome
			if err := json.Unmarshal([]byte(rest), &o); err != nil {
				t.Fatalf("the SDK printed %q: %v", line, err)
			}
			got = append(got, o)
		}
	}
	if len(got) != len(calls) {
		t.Fatalf("%d outcomes of %d calls:\n%s", len(got), len(calls), out)
	}
	return got
}

// TestCoinremitterClients runs Coinremitter's own clients against ferry on
// regtest: its Node SDK, unchanged but for its host, validates an
// address, creates an invoice (of an amount JavaScript summed in floats),
// reads it and the coin rates; a client written as its PHP SDK calls the
// API does the same. One transaction pays both invoices; the Node SDK's
// notify_url, handled as the WooCommerce plugin handles it, reads
// invoice_id and coin from $_POST and finds the invoice paid with
// get-invoice; the PHP client reads its own invoice paid.
func TestCoinremitterClients(t *testing.T) {
	n := startNode(t, "litecoin")
	cfg := merchantConfig(t, n)
	cfg.FiatRates = "static:LTC/USD=80,LTC/EUR=74"
	d := startFerry(t, cfg)
	payout := newAddress(t, n)
	var v vendorCreds
	if err := json.Unmarshal([]byte(vendorCLI(t, cfg.DataDir, 0, "add", "--name", "Coinremitter Shop", "--email", "owner@shop.example",
		"--ltc-address", payout)), &v); err != nil {
		t.Fatal(err)
	}
	shop := startPHPServer(t, "coinremitter_plugin_notify.php", "FERRY="+d.URL, "API_KEY="+v.APIKey, "PASSWORD="+v.Secret)
	notes := func() []map[string]any { return (&nodeApp{Log: shop.log}).entries(t) }

	// The Node SDK. 19.99+4.99+0.5 is 25.479999999999997 in JavaScript,
	// and so on the wire: the invoice asks 25.48 USD, 0.3185 LTC at 80.
	sdk := runCoinremitterSDK(t, d.URL, v,
		map[string]any{"call": "validateAddress", "coin": "LTC", "param": map[string]any{"address": payout}},
		map[string]any{"call": "createInvoice", "coin": "LTC", "param": map[string]any{"amount": json.Number("25.479999999999997"),
			"name": "random name", "currency": "USD", "expire_time": 60, "notify_url": shop.URL + "/notify", "suceess_url": shop.URL + "/ok",
			"fail_url": shop.URL + "/fail", "description": "Hello world", "custom_data1": "order-7"}},
		map[string]any{"call": "getInvoice", "coin": "LTC", "param": map[string]any{"invoice_id": "$invoice_id"}},
		map[string]any{"call": "getCoinRate", "coin": "LTC"},
		map[string]any{"call": "getInvoice", "coin": "ltc", "param": map[string]any{"invoice_id": "LTC99"}},
		map[string]any{"call": "getInvoice", "coin": "DOGE", "param": map[string]any{"invoice_id": "LTC1"}},
	)
	for i, o := range sdk[:4] {
		if o.Err != nil || o.Data["flag"] != 1.0 {
			t.Fatalf("the SDK's %s (call %d): err %v, data %v", o.Call, i, o.Err, o.Data)
		}
	}
	if sdk[0].Data["data"].(map[string]any)["valid"] != true {
		t.Errorf("validateAddress: %v", sdk[0].Data)
	}
	nodeInv := sdk[2].Data["data"].(map[string]any)
	if total := nodeInv["total_amount"].(map[string]any); total["USD"] != "25.48" || total["LTC"] != "0.3185" || nodeInv["status_code"] != 0.0 ||
		nodeInv["invoice_id"] != sdk[1].Data["data"].(map[string]any)["invoice_id"] {
		t.Errorf("getInvoice: %v", nodeInv)
	}
	if ltc := sdk[3].Data["data"].(map[string]any)["LTC"].(map[string]any); ltc["price"] != 80.0 || ltc["name"] != "Litecoin" {
		t.Errorf("getCoinRate: %v", sdk[3].Data)
	}
	// Errors reach the shop with ferry's message.
	for i, want := range map[int]string{4: "Invoice not found.", 5: `Coin "DOGE" is not supported: this server relays LTC.`} {
		if o := sdk[i]; o.Data != nil || o.Err["flag"] != 0.0 || o.Err["msg"] != want {
			t.Errorf("the SDK's %s (call %d): err %v, data %v; want %q", o.Call, i, o.Err, o.Data, want)
		}
	}

	// The PHP SDK's calls.
	out := runPHPFile(t, "coinremitter_sdk_client.php", "STEP=create", "FERRY="+d.URL, "COIN=ltc", "API_KEY="+v.APIKey, "PASSWORD="+v.Secret,
		"ADDRESS="+payout, "NOTIFY="+shop.URL+"/notify")
	var php struct {
		Valid        bool              `json:"valid"`
		InvoiceID    string            `json:"invoice_id"`
		Address      string            `json:"address"`
		Total        map[string]string `json:"total_amount"`
		ReadStatus   string            `json:"read_status"`
		CryptoAmount string            `json:"crypto_amount"`
		FiatAmount   string            `json:"fiat_amount"`
		LTCPrice     float64           `json:"ltc_price"`
		Wrong        map[string]any    `json:"wrong"`
	}
	if err := json.Unmarshal([]byte(out), &php); err != nil {
		t.Fatalf("the PHP client printed %s: %v", out, err)
	}
	// PHP's http_build_query writes 19.99+4.99+0.5 as 25.48.
	if !php.Valid || php.InvoiceID == "" || php.Total["USD"] != "15" || php.Total["LTC"] != "0.1875" || php.ReadStatus != "Pending" ||
		php.CryptoAmount != "0.31850000" || php.FiatAmount != "25.48" || php.LTCPrice != 80 ||
		php.Wrong["flag"] != 0.0 || php.Wrong["msg"] != "Invoice not found." {
		t.Errorf("the PHP client: %s", out)
	}

	// One transaction pays both invoices, in one block.
	txid, err := n.PayMany(context.Background(), map[string]int64{nodeInv["address"].(string): 31_850_000, php.Address: 18_750_000})
	if err != nil {
		t.Fatal(err)
	}
	mine(t, n, 1)

	// The plugin's notify handler: told of the Node SDK's invoice, it
	// reads it paid.
	nodeID := nodeInv["invoice_id"].(string)
	waitForLong(t, "the notify handler finds the invoice paid", func() bool {
		for _, e := range notes() {
			if e["answer"] == "transaction processed successfully." && e["post"].(map[string]any)["invoice_id"] == nodeID {
				return true
			}
		}
		return false
	})
	for _, e := range notes() {
		post := e["post"].(map[string]any)
		if e["content_type"] != "application/x-www-form-urlencoded" || post["coin"] != "LTC" || post["invoice_id"] != nodeID && post["invoice_id"] != php.InvoiceID {
			t.Errorf("a notification: %v", e)
		}
		inv, _ := e["invoice"].(map[string]any)
		if inv == nil || inv["invoice_id"] != post["invoice_id"] || !strings.HasPrefix(inv["url"].(string), d.URL+"/merch/inv?id=") {
			t.Errorf("the handler's get-invoice: %v", e)
			continue
		}
		if e["answer"] != "transaction processed successfully." {
			continue
		}
		var paid map[string]string
		var history []map[string]any
		json.Unmarshal([]byte(inv["paid_amount"].(string)), &paid)
		json.Unmarshal([]byte(inv["payment_history"].(string)), &history)
		if inv["status_code"] != 1.0 || inv["status"] != "Paid" || len(history) != 1 || history[0]["txid"] != txid.String() ||
			post["invoice_id"] == nodeID && paid["LTC"] != "0.3185" {
			t.Errorf("paid, the handler read %v", inv)
		}
	}

	// The PHP client reads its invoice paid.
	waitFor(t, "the PHP client's invoice paid", func() bool {
		out := runPHPFile(t, "coinremitter_sdk_client.php", "STEP=read", "INVOICE_ID="+php.InvoiceID, "FERRY="+d.URL, "COIN=LTC",
			"API_KEY="+v.APIKey, "PASSWORD="+v.Secret)
		var r struct {
			StatusCode int               `json:"status_code"`
			Paid       map[string]string `json:"paid_amount"`
		}
		return json.Unmarshal([]byte(out), &r) == nil && r.StatusCode == 1 && r.Paid["LTC"] == "0.1875"
	})
	read := runCoinremitterSDK(t, d.URL, v, map[string]any{"call": "getInvoice", "coin": "LTC", "param": map[string]any{"invoice_id": nodeID}})
	if inv := read[0].Data["data"].(map[string]any); inv["status"] != "Paid" || inv["status_code"] != 1.0 {
		t.Errorf("the Node SDK reads %v", read[0].Data)
	}
}
