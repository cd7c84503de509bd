package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ferry-relay/ferry"
)

// forumpayLog returns what forumpay_webhook.php logged, in order.
func forumpayLog(t *testing.T, m *merchant) []map[string]any {
	t.Helper()
	f, err := os.Open(m.log)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("the shop's log: %v: %s", err, sc.Text())
		}
		out = append(out, e)
	}
	return out
}

// shop runs forumpay_shop.php's step with env and decodes what it prints.
func shop(t *testing.T, env []string, step string, v any) {
	t.Helper()
	path, _ := filepath.Abs("testdata/php/forumpay_shop.php")
	out := runCommand(t, env, need(t, "php"), path, step)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("forumpay_shop.php %s printed %q: %v", step, out, err)
	}
}

// TestForumPayPHPClient runs a WooCommerce shop on ForumPay's PHP client's
// calls (forumpay_client.php, written in its style: curl with
// CURLAUTH_ANY, StartPayment posted as a multipart form, one curl handle
// per client reused, every field read and typed as its response classes
// read them, every PHP warning fatal) against ferry on regtest, as
// ForumPay's WooCommerce plugin drives it: the admin's webhook test,
// currencies and rates, StartPayment twice (the second cancels the first
// over the client's stale POST), the payment paid in one block, its
// webhook read by a PHP endpoint as the plugin reads it (JSON: payment_id
// and reference_no), which asks CheckPayment and marks the order paid;
// CheckPayment then reads Confirmed.
func TestForumPayPHPClient(t *testing.T) {
	n := startNode(t, "litecoin")
	cfg := merchantConfig(t, n)
	cfg.FiatRates = "static:LTC/EUR=74"
	d := startFerry(t, cfg)
	var v vendorCreds
	if err := json.Unmarshal([]byte(vendorCLI(t, cfg.DataDir, 0, "add", "--name", "WooCommerce Shop", "--email", "owner@shop.example",
		"--ltc-address", newAddress(t, n))), &v); err != nil {
		t.Fatal(err)
	}
	orders := t.TempDir()
	env := []string{"FERRY=" + d.URL + "/v2", "VENDOR=" + v.Vendor.ID, "KEY=" + v.APIKey, "ORDER=1001", "ORDERS=" + orders,
		"INSTANCE=shop-8f2d"}
	hooks := startPHPServer(t, "forumpay_webhook.php", env...)
	env = append(env, "WEBHOOK="+hooks.URL+"/?wc-api=wc_forumpay&act=webhook")

	var started struct {
		PaymentID                             string `json:"payment_id"`
		Address, Amount, First, Status, State string
		AccessURL                             string `json:"access_url"`
		Cancelled                             []string
		Apps                                  int
	}
	shop(t, env, "start", &started)
	if !slices.Equal(started.Cancelled, []string{started.First}) || started.State != "waiting" || started.Amount != "0.12500000" ||
		started.Apps != 0 || httpGet(t, started.AccessURL) == "" {
		t.Fatalf("the checkout: %+v", started)
	}

	sat, _ := ferry.ParseAmount(started.Amount)
	pay(t, n, started.Address, int64(sat))
	mine(t, n, 1)
	waitForLong(t, "the order paid by its webhook", func() bool {
		_, err := os.Stat(filepath.Join(orders, "1001.paid"))
		return err == nil
	})
	var paid map[string]string
	b, _ := os.ReadFile(filepath.Join(orders, "1001.paid"))
	if json.Unmarshal(b, &paid); paid["payment_id"] != started.PaymentID || paid["amount"] != "9.25" || paid["currency"] != "EUR" {
		t.Errorf("the order paid: %s", b)
	}
	// What the shop's endpoint got: the test, the first payment's
	// cancellation (its order not failed: another payment is open), the
	// second's confirmation; no error, no warning.
	waitForLong(t, "the cancellation's webhook", func() bool { return len(forumpayLog(t, hooks)) >= 3 })
	var got []string
	for _, e := range forumpayLog(t, hooks) {
		if e["error"] != nil {
			t.Errorf("the shop's endpoint failed: %v", e)
		}
		ev, _ := e["event"].(map[string]any)
		switch {
		case e["test"] == true:
			got = append(got, "test")
		case ev["payment_id"] == started.First && e["status"] == "Cancelled" && e["order"] == "pending":
			got = append(got, "cancelled")
		case ev["payment_id"] == started.PaymentID && e["status"] == "Confirmed" && e["order"] == "paid" && ev["reference_no"] == "1001" &&
			ev["address"] == started.Address && ev["currency"] == "LTC" && ev["pos_id"] == "woocommerce-1":
			got = append(got, "confirmed")
		default:
			got = append(got, "?")
			t.Errorf("the shop's endpoint got %v", e)
		}
	}
	if slices.Sort(got); !slices.Equal(got, []string{"cancelled", "confirmed", "test"}) {
		t.Errorf("the shop's endpoint got %v", got)
	}

	var check map[string]any
	shop(t, env, "check", &check)
	if check["status"] != "Confirmed" || check["state"] != "confirmed" || check["confirmed"] != true || check["confirmations"] != "1" ||
		check["invoice_amount"] != "9.25" || check["payment"] != "0.12500000" {
		t.Errorf("CheckPayment, paid: %v", check)
	}
}
