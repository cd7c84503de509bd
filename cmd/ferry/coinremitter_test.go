package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ferry-relay/ferry"
)

// crClient calls ferry's Coinremitter API as a vendor.
type crClient struct {
	base, coin, key, password string
}

// crAnswer is Coinremitter's envelope.
type crAnswer struct {
	Status int
	Flag   int    `json:"flag"`
	Msg    string `json:"msg"`
	Action string `json:"action"`
	Data   any    `json:"data"`
}

// call posts action with fields (urlencoded) and the vendor's credentials
// (unless fields set them; "" leaves one out).
func (c crClient) call(t *testing.T, action string, fields map[string]string) crAnswer {
	t.Helper()
	f := url.Values{"api_key": {c.key}, "password": {c.password}}
	for k, v := range fields {
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
	}
	resp, err := http.PostForm(c.base+"/api/v3/"+c.coin+"/"+action, f)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var a crAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("%s: %d %s", action, resp.StatusCode, b)
	}
	a.Status = resp.StatusCode
	return a
}

// ok calls action and fails the test unless it succeeds (flag 1).
func (c crClient) ok(t *testing.T, action string, fields map[string]string) any {
	t.Helper()
	a := c.call(t, action, fields)
	if a.Status != 200 || a.Flag != 1 || a.Action != action {
		t.Fatalf("%s: %d %+v", action, a.Status, a)
	}
	return a.Data
}

// TestCoinremitterFlow runs Coinremitter's API on regtest: a shop's PHP
// client posting multipart forms as the seed's curl examples creates an
// invoice and reads it back; paid, its notify_url (a PHP receiver checking
// the signature) gets the invoice at the payment seen and at its
// confirmation, and the forward pays the vendor exactly; every action
// answers the seed's fields, in the seed's types and formats, and each of
// its errors the seed's flag.
func TestCoinremitterFlow(t *testing.T) {
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
	shop := startPHPServer(t, "coinremitter_notify.php", "FERRY_WEBHOOK_SECRET="+v.WebhookSecret)
	notes := func() []map[string]any { return (&nodeApp{Log: shop.log}).entries(t) }
	cr := crClient{base: d.URL, coin: "LTC", key: v.APIKey, password: v.Secret}

	// The shop's PHP client: 10 EUR at 74 EUR/LTC is 0.13513514 LTC.
	out := runPHPFile(t, "coinremitter_client.php", "FERRY="+d.URL, "COIN=LTC", "API_KEY="+v.APIKey, "PASSWORD="+v.Secret,
		"AMOUNT=10", "CURRENCY=EUR", "NOTIFY="+shop.URL+"/notify.php", "SHOP="+shop.URL)
	var client struct{ Created, Read crAnswer }
	if err := json.Unmarshal([]byte(out), &client); err != nil || client.Created.Flag != 1 || client.Read.Flag != 1 {
		t.Fatalf("the PHP client printed %s", out)
	}
	sameShape(t, "create-invoice", client.Created.Data, seedExample(t, "coinremitter", "create-invoice"))
	sameShape(t, "get-invoice", client.Read.Data, seedExample(t, "coinremitter", "get-invoice"))
	inv := client.Read.Data.(map[string]any)
	const due = 13_513_514
	for k, want := range map[string]any{"invoice_id": "LTC1", "base_currency": "EUR", "coin": "LTC", "status": "Pending", "status_code": 0.0,
		"name": "random name", "description": "Hello world", "custom_data1": "order-7", "custom_data2": "customer-3",
		"notify_url": shop.URL + "/notify.php", "suceess_url": shop.URL + "/success-url", "wallet_name": "Coinremitter Shop"} {
		if inv[k] != want {
			t.Errorf("get-invoice %s = %v, want %v", k, inv[k], want)
		}
	}
	if total := inv["total_amount"].(map[string]any); total["LTC"] != "0.13513514" || total["EUR"] != "10" {
		t.Errorf("total_amount %v", total)
	}
	addr := inv["address"].(string)

	// Paid: told when the payment is seen, and when it counts.
	op := pay(t, n, addr, due)
	waitForLong(t, "the payment seen, told", func() bool { return len(notes()) >= 1 })
	mine(t, n, 1)
	waitForLong(t, "the invoice paid, told", func() bool {
		ns := notes()
		return len(ns) > 0 && ns[len(ns)-1]["post"].(map[string]any)["status_code"] == "1"
	})
	ns := notes()
	for i, e := range ns {
		post := e["post"].(map[string]any)
		if e["accepted"] != true || e["content_type"] != "application/x-www-form-urlencoded" || post["invoice_id"] != "LTC1" || post["coin"] != "LTC" {
			t.Errorf("notification %d: %v", i, e)
		}
		sameNames(t, "notification", post, seedExample(t, "coinremitter", "notify-invoice"))
	}
	first, last := ns[0]["post"].(map[string]any), ns[len(ns)-1]["post"].(map[string]any)
	if first["status"] != "Pending" || history(first)["txid"] != op.Hash.String() || history(first)["confirmation"] != "0" {
		t.Errorf("the first notification: %v", first)
	}
	if last["status"] != "Paid" || history(last)["confirmation"] != "1" || last["paid_amount"].(map[string]any)["LTC"] != "0.13513514" {
		t.Errorf("the last notification: %v", last)
	}
	fwd := spender(t, n, op)
	mine(t, n, 1)
	checkForward(t, n, op, due, fwd, payout, cfg.LTCFeeAddress)
	waitScanned(t, n, d.URL)
	read := cr.ok(t, "get-invoice", map[string]string{"invoice_id": "LTC1"})
	sameShape(t, "get-invoice paid", read, seedExample(t, "coinremitter", "notify-invoice"))

	// The invoice's address: the deposit received, the forward sent.
	txs := cr.ok(t, "get-transaction-by-address", map[string]string{"address": addr}).([]any)
	if len(txs) != 2 {
		t.Fatalf("transactions of the invoice: %v", txs)
	}
	sameShape(t, "get-transaction-by-address", txs[:1], seedExample(t, "coinremitter", "get-transaction-by-address"))
	sameShape(t, "a forward", txs[1], seedExample(t, "coinremitter", "get-transaction"))
	received, sent := txs[0].(map[string]any), txs[1].(map[string]any)
	service, forwarded := int64(due/100), int64(due-due/100-fallbackFee)
	for k, want := range map[string]any{"id": op.String(), "txid": op.Hash.String(), "type": "receive", "address": addr, "amount": "0.13513514",
		"merchant_id": v.Vendor.ID, "coin_short_name": "LTC", "wallet_name": "Coinremitter Shop"} {
		if received[k] != want {
			t.Errorf("received %s = %v, want %v", k, received[k], want)
		}
	}
	for k, want := range map[string]any{"id": op.String() + ":out", "txid": fwd.String(), "type": "send", "address": payout,
		"amount": ferry.Amount(forwarded).Short(), "processing_fees": ferry.Amount(service).String(), "transaction_fees": ferry.Amount(fallbackFee).String(),
		"total_amount": "0.13513514", "confirmations": 1.0} {
		if sent[k] != want {
			t.Errorf("sent %s = %v, want %v", k, sent[k], want)
		}
	}
	for _, tx := range txs {
		id := tx.(map[string]any)["id"].(string)
		got := cr.ok(t, "get-transaction", map[string]string{"id": id})
		sameShape(t, "get-transaction", got, seedExample(t, "coinremitter", "get-transaction-by-address").([]any)[0])
		if got.(map[string]any)["txid"] != tx.(map[string]any)["txid"] {
			t.Errorf("get-transaction %s: %v", id, got)
		}
	}

	// An address of the vendor's own: paid, listed, forwarded.
	na := cr.ok(t, "get-new-address", map[string]string{"label": "my_label"})
	sameShape(t, "get-new-address", na, seedExample(t, "coinremitter", "get-new-address"))
	own := na.(map[string]any)["address"].(string)
	if resp, err := http.Get(na.(map[string]any)["qr_code"].(string)); err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Errorf("qr_code: %v %v", resp, err)
	}
	op2 := pay(t, n, own, 3_000_000)
	mine(t, n, 1)
	var fwd2 ferry.Hash
	waitFor(t, "its forward", func() bool { fwd2 = spender(t, n, op2); return !fwd2.IsZero() })
	mine(t, n, 1)
	checkForward(t, n, op2, 3_000_000, fwd2, payout, cfg.LTCFeeAddress)
	waitScanned(t, n, d.URL)
	if txs := cr.ok(t, "get-transaction-by-address", map[string]string{"address": own}).([]any); len(txs) != 2 ||
		txs[0].(map[string]any)["amount"] != "0.03" || txs[1].(map[string]any)["txid"] != fwd2.String() {
		t.Errorf("transactions of its own address: %v", txs)
	}

	// Under paid: held until the vendor accepts it (ferry's accept-payment).
	part := cr.ok(t, "create-invoice", map[string]string{"amount": "0.1"}).(map[string]any)
	op3 := pay(t, n, part["address"].(string), 6_000_000)
	mine(t, n, 1)
	waitForLong(t, "under paid", func() bool {
		g := cr.ok(t, "get-invoice", map[string]string{"invoice_id": part["invoice_id"].(string)}).(map[string]any)
		return g["status"] == "Under Paid" && g["status_code"] == 2.0 && g["held_amount"] == "0.06"
	})
	mine(t, n, 1)
	waitScanned(t, n, d.URL)
	if h := spender(t, n, op3); !h.IsZero() {
		t.Fatalf("a payment held was spent by %s", h)
	}
	acc := cr.ok(t, "accept-payment", map[string]string{"invoice_id": part["invoice_id"].(string), "amount": "0.06"}).(map[string]any)
	if acc["status"] != "Paid" {
		t.Errorf("accepted: %v", acc["status"])
	}
	var fwd3 ferry.Hash
	waitFor(t, "the accepted payment's forward", func() bool { fwd3 = spender(t, n, op3); return !fwd3.IsZero() })
	mine(t, n, 1)
	checkForward(t, n, op3, 6_000_000, fwd3, payout, cfg.LTCFeeAddress)

	// The other actions.
	if got := cr.ok(t, "validate-address", map[string]string{"address": payout}); got.(map[string]any)["valid"] != true {
		t.Errorf("validate-address of a regtest address: %v", got)
	}
	if got := cr.ok(t, "validate-address", map[string]string{"address": "ltc1qk8hjy3lf245r7ppr2lfy8zxn8nwrmuasqrx6uc"}); got.(map[string]any)["valid"] != false {
		t.Errorf("validate-address of a mainnet address: %v", got)
	}
	sameShape(t, "validate-address", cr.ok(t, "validate-address", map[string]string{"address": payout}), seedExample(t, "coinremitter", "validate-address"))
	rate := cr.ok(t, "get-fiat-to-crypto-rate", map[string]string{"fiat_symbol": "USD", "fiat_amount": "1"})
	sameShape(t, "get-fiat-to-crypto-rate", rate, seedExample(t, "coinremitter", "get-fiat-to-crypto-rate"))
	if rate.(map[string]any)["crypto_amount"] != "0.01250000" {
		t.Errorf("1 USD at 80: %v", rate)
	}
	balance := cr.ok(t, "get-balance", nil)
	sameShape(t, "get-balance", balance, seedExample(t, "coinremitter", "get-balance"))
	if b := balance.(map[string]any); b["balance"] != 0.0 || b["wallet_name"] != "Coinremitter Shop" || b["coin_name"] != "Litecoin" {
		t.Errorf("get-balance: %v", b)
	}
	coinRate := cr.ok(t, "get-coin-rate", nil).(map[string]any)
	sameShape(t, "get-coin-rate", coinRate["LTC"], seedExample(t, "coinremitter", "get-coin-rate").(map[string]any)["LTC"])
	if coinRate["LTC"].(map[string]any)["price"] != 80.0 || len(coinRate) != 1 {
		t.Errorf("get-coin-rate %v", coinRate)
	}

	// Each action's errors: wrong credentials (flag 0, HTTP 200, no
	// action), a required field missing (flag 2), and its own refusals.
	for _, tt := range []struct {
		action string
		fields map[string]string
		flag   int
		msg    string
	}{
		{"get-new-address", map[string]string{"password": "wrong"}, 0, "Invalid API key or password."},
		{"validate-address", map[string]string{"address": ""}, 2, "The address field is required."},
		{"validate-address", map[string]string{"api_key": "wrong", "address": payout}, 0, "Invalid API key or password."},
		{"get-transaction", map[string]string{"id": ""}, 2, "The id field is required."},
		{"get-transaction", map[string]string{"id": "5b7e6f7d5aa55854e5726ac2"}, 0, "Transaction not found."},
		{"get-transaction-by-address", map[string]string{"address": ""}, 2, "The address field is required."},
		{"get-transaction-by-address", map[string]string{"address": payout}, 0, "Address not found: it is not one of yours."},
		{"create-invoice", map[string]string{"amount": "1,000", "currency": "USD"}, 2, "The amount must be a number."},
		{"create-invoice", map[string]string{"amount": ""}, 2, "The amount field is required."},
		{"create-invoice", map[string]string{"amount": "10", "currency": "EUR", "api_key": "wrong"}, 0, "Invalid API key or password."},
		{"get-invoice", map[string]string{"invoice_id": ""}, 2, "The invoice id field is required."},
		{"get-invoice", map[string]string{"invoice_id": "LTC99"}, 0, "Invoice not found."},
		{"get-fiat-to-crypto-rate", map[string]string{"fiat_symbol": "USD"}, 2, "The fiat amount field is required."},
		{"get-fiat-to-crypto-rate", map[string]string{"fiat_symbol": "XYZ", "fiat_amount": "1"}, 2, ""},
		{"withdraw", map[string]string{"to_address": payout, "amount": "2"}, 0, ""},
		{"accept-payment", map[string]string{"invoice_id": "LTC1", "amount": "0.1"}, 0, ""},
		{"refund-payment", map[string]string{"invoice_id": "LTC1", "amount": "0.1", "address": "ltc1qk8hjy3lf245r7ppr2lfy8zxn8nwrmuasqrx6uc"}, 2, ""},
	} {
		a := cr.call(t, tt.action, tt.fields)
		if a.Status != 200 || a.Flag != tt.flag || tt.msg != "" && a.Msg != tt.msg || a.Msg == "" || jsonKind(a.Data) != "array" {
			t.Errorf("%s %v: %d %+v, want flag %d %q", tt.action, tt.fields, a.Status, a, tt.flag, tt.msg)
		}
		if wantAction := tt.action; tt.msg == "Invalid API key or password." {
			if a.Action != "" {
				t.Errorf("%s: bad credentials answered with action %q", tt.action, a.Action)
			}
		} else if a.Action != wantAction {
			t.Errorf("%s: action %q", tt.action, a.Action)
		}
	}
	if a := cr.call(t, "get-wallet", nil); a.Status != 200 || a.Flag != 0 || a.Msg != `Unknown action "get-wallet".` {
		t.Errorf("an unknown action: %d %+v", a.Status, a)
	}
	// None of them made anything: the next invoice is LTC3.
	if next := cr.ok(t, "create-invoice", map[string]string{"amount": "0.02"}).(map[string]any); next["invoice_id"] != "LTC3" {
		t.Errorf("after the refusals, invoice %v", next["invoice_id"])
	}
	if strings.Contains(d.Log.String(), v.Secret) || strings.Contains(d.Log.String(), v.APIKey) {
		t.Error("the log shows the vendor's secret or key")
	}
}

// history is the first payment of a notification's payment_history.
func history(post map[string]any) map[string]any {
	h, _ := post["payment_history"].([]any)
	if len(h) == 0 {
		return map[string]any{}
	}
	m, _ := h[0].(map[string]any)
	return m
}
