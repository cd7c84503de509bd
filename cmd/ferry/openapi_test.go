package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/api/browsertest"
)

// oaClient calls ferry's Open API as a vendor.
type oaClient struct {
	base, vendor, key string
}

// call gets /v2/<call>/ with q and returns the status and the decoded
// answer.
func (c oaClient) call(t *testing.T, call string, q url.Values) (int, any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.base+"/v2/"+call+"/?"+q.Encode(), nil)
	req.SetBasicAuth(c.vendor, c.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %d %s", call, resp.StatusCode, b)
	}
	return resp.StatusCode, v
}

// ok calls and fails the test unless the answer is 200, checked against
// the seed's example of call (as ForumPay's client has it, where the two
// differ: clientExample).
func (c oaClient) ok(t *testing.T, call string, q url.Values) map[string]any {
	t.Helper()
	status, v := c.call(t, call, q)
	if status != 200 {
		t.Fatalf("%s %v: %d %v", call, q, status, v)
	}
	sameShape(t, call, v, clientExample(t, call))
	m, _ := v.(map[string]any)
	return m
}

// clientExample is the seed's example of call, in the shape ForumPay's own
// PHP client reads where the two disagree (the client wins; README, "The
// Open API", lists the differences): CheckPayment's confirmations is a
// string ("0": CheckPaymentResponse takes a string, and a number is a
// TypeError), and GetTransactions answers {"invoices":[…]}
// (GetTransactionsResponse refuses the seed's bare list).
func clientExample(t *testing.T, call string) any {
	t.Helper()
	ex := seedExample(t, "openapi", call)
	switch call {
	case "CheckPayment":
		ex.(map[string]any)["confirmations"] = "0"
	case "GetTransactions":
		ex = map[string]any{"invoices": ex}
	}
	return ex
}

// start starts a payment of amount USD in LTC, and returns StartPayment's
// answer.
func (c oaClient) start(t *testing.T, pos, amount string, extra url.Values) map[string]any {
	t.Helper()
	q := url.Values{"pos_id": {pos}, "invoice_currency": {"USD"}, "invoice_amount": {amount}, "currency": {"LTC"}}
	for k, v := range extra {
		q[k] = v
	}
	return c.ok(t, "StartPayment", q)
}

// check is CheckPayment of payment p.
func (c oaClient) check(t *testing.T, p map[string]any) map[string]any {
	t.Helper()
	return c.ok(t, "CheckPayment", url.Values{"pos_id": {"POS1"}, "currency": {"LTC"}, "payment_id": {p["payment_id"].(string)},
		"address": {p["address"].(string)}})
}

// events returns the verified webhook events the receiver logged about
// payment id, in order.
func events(t *testing.T, a *nodeApp, id string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, e := range a.entries(t) {
		ev, _ := e["event"].(map[string]any)
		if e["verified"] != true {
			t.Errorf("a webhook failed verification: %v", e)
			continue
		}
		if ev["payment_id"] == id && e["repeat"] != true {
			sameShape(t, "webhook", ev, seedExample(t, "openapi", "webhook"))
			out = append(out, ev)
		}
	}
	return out
}

// eventNames is the event of each of es.
func eventNames(es []map[string]any) []string {
	var out []string
	for _, e := range es {
		out = append(out, e["event"].(string))
	}
	return out
}

// TestOpenAPIFlow runs the Open API on regtest, every call checked
// against the seed's examples: a small payment with zero confirmations is
// confirmed from the mempool, its QR codes read back, and forwarded; an
// underpayment is held, accepted and forwarded; another held and refunded
// (the payer receives exactly its value less the network fee, read from
// the node); a payment to a cancelled payment held and refunded; the
// webhooks of each, signed; the listing of them all; and the errors.
func TestOpenAPIFlow(t *testing.T) {
	n := startNode(t, "litecoin")
	cfg := merchantConfig(t, n)
	cfg.FiatRates = "static:LTC/USD=80"
	d := startFerry(t, cfg)
	payout := newAddress(t, n)
	var v vendorCreds
	if err := json.Unmarshal([]byte(vendorCLI(t, cfg.DataDir, 0, "add", "--name", "POS Shop", "--email", "owner@shop.example",
		"--ltc-address", payout)), &v); err != nil {
		t.Fatal(err)
	}
	hooks := startNodeApp(t, "webhook_receiver.js", "FERRY_WEBHOOK_SECRET="+v.WebhookSecret)
	vendorCLI(t, cfg.DataDir, 0, "webhook", "add", v.Vendor.ID, hooks.URL+"/openapi/webhook")
	oa := oaClient{base: d.URL, vendor: v.Vendor.ID, key: v.APIKey}

	// 1. $10 (0.125 LTC) with zero confirmations: confirmed once seen.
	rate := oa.ok(t, "GetRate", url.Values{"pos_id": {"POS1"}, "invoice_currency": {"USD"}, "invoice_amount": {"10"}, "currency": {"LTC"},
		"accept_zero_confirmations": {"true"}})
	if rate["amount"] != "0.12500000" || rate["rate"] != "80" || rate["fast_transaction_fee"] != "0.00000010" {
		t.Errorf("GetRate %v", rate)
	}
	zc := oa.start(t, "POS1", "10", url.Values{"payment_id": {rate["payment_id"].(string)}, "accept_zero_confirmations": {"true"},
		"reference_no": {"12-23-456"}, "payer_ip_address": {"1.1.1.1"}, "payer_user_agent": {"Mozilla/5.0 (Windows NT 10.0; Win64; x64)"}})
	if zc["payment_id"] != rate["payment_id"] || zc["qr"] != "litecoin:"+zc["address"].(string)+"?amount=0.125" {
		t.Errorf("StartPayment %v", zc)
	}
	for _, k := range []string{"qr_img", "qr_alt_img"} {
		resp, err := http.Get(zc[k].(string))
		if err != nil {
			t.Fatal(err)
		}
		png, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := map[string]string{"qr_img": zc["qr"].(string), "qr_alt_img": zc["qr_alt"].(string)}[k]
		if got := browsertest.DecodeQR(t, png); !slices.Equal(got, []string{want}) {
			t.Errorf("%s reads %q, want %q", k, got, want)
		}
	}
	if c := oa.check(t, zc); c["state"] != "waiting" || c["min_confirmations"] != 0.0 || c["reference_no"] != "12-23-456" {
		t.Errorf("CheckPayment before: %v", c)
	}
	op := pay(t, n, zc["address"].(string), 12_500_000)
	waitForLong(t, "confirmed from the mempool", func() bool {
		c := oa.check(t, zc)
		return c["confirmed"] == true && c["confirmations"] == "0" && c["payment"] == "0.12500000" && c["state"] == "confirmed"
	})
	waitForLong(t, "payment.confirmed", func() bool { return len(events(t, hooks, zc["payment_id"].(string))) == 1 })
	mine(t, n, 1)
	var fwd ferry.Hash
	waitFor(t, "the forward", func() bool { fwd = spender(t, n, op); return !fwd.IsZero() })
	mine(t, n, 1)
	checkForward(t, n, op, 12_500_000, fwd, payout, cfg.LTCFeeAddress)

	// 2. $10 paid 0.06: held; accepted, forwarded.
	under := oa.start(t, "POS1", "10", nil)
	op2 := pay(t, n, under["address"].(string), 6_000_000)
	mine(t, n, 1)
	waitForLong(t, "underpaid", func() bool {
		c := oa.check(t, under)
		return c["state"] == "underpayment" && c["refund_amount_opened"] == "0.06000000" && c["payment"] == "0.06000000" && c["confirmed"] == false
	})
	waitForLong(t, "payment.underpaid", func() bool { return len(events(t, hooks, under["payment_id"].(string))) == 1 })
	if status, e := oa.call(t, "AcceptPayment", url.Values{"payment_id": {under["payment_id"].(string)}, "accepted_amount": {"0.05"}}); status != 400 {
		t.Errorf("accepting another amount: %d %v", status, e)
	}
	if h := spender(t, n, op2); !h.IsZero() {
		t.Fatalf("a payment held was spent by %s", h)
	}
	if got := oa.ok(t, "AcceptPayment", url.Values{"pos_id": {"POS1"}, "currency": {"LTC"}, "payment_id": {under["payment_id"].(string)},
		"address": {under["address"].(string)}, "accepted_amount": {"0.06000000"}, "accepted_invoice_amount": {"4.8"}}); got["success"] != true {
		t.Errorf("AcceptPayment %v", got)
	}
	var fwd2 ferry.Hash
	waitFor(t, "the accepted payment's forward", func() bool { fwd2 = spender(t, n, op2); return !fwd2.IsZero() })
	mine(t, n, 1)
	checkForward(t, n, op2, 6_000_000, fwd2, payout, cfg.LTCFeeAddress)
	if c := oa.check(t, under); c["state"] != "confirmed" || c["confirmed"] != true {
		t.Errorf("accepted: %v", c)
	}

	// 3. $10 paid 0.05: held; refunded to the payer.
	refundTo := newAddress(t, n)
	back := oa.start(t, "POS2", "10", nil)
	op3 := pay(t, n, back["address"].(string), 5_000_000)
	mine(t, n, 1)
	waitForLong(t, "underpaid", func() bool { return oa.check(t, back)["refund_amount_opened"] == "0.05000000" })
	if status, e := oa.call(t, "RefundPayment", url.Values{"payment_id": {back["payment_id"].(string)}, "refund_amount": {"0.05"},
		"address_out": {"ltc1qk8hjy3lf245r7ppr2lfy8zxn8nwrmuasqrx6uc"}}); status != 400 {
		t.Errorf("a refund to a mainnet address: %d %v", status, e)
	}
	if got := oa.ok(t, "RefundPayment", url.Values{"pos_id": {"POS2"}, "currency": {"LTC"}, "payment_id": {back["payment_id"].(string)},
		"address_out": {refundTo}, "refund_amount": {"0.05000000"}}); got["wait_time"] != "5 minutes" {
		t.Errorf("RefundPayment %v", got)
	}
	var ref ferry.Hash
	waitFor(t, "the refund", func() bool { ref = spender(t, n, op3); return !ref.IsZero() })
	mine(t, n, 1)
	checkRefund(t, n, op3, 5_000_000, ref, refundTo, cfg.LTCFeeAddress)

	// 4. Cancelled, then paid in full: held; refunded.
	gone := oa.start(t, "POS1", "10", nil)
	if got := oa.ok(t, "CancelPayment", url.Values{"pos_id": {"POS1"}, "currency": {"LTC"}, "payment_id": {gone["payment_id"].(string)},
		"address": {gone["address"].(string)}, "reason": {"other"}, "comment": {"test"}}); got["cancelled"] != true {
		t.Errorf("CancelPayment %v", got)
	}
	refundTo2 := newAddress(t, n)
	op4 := pay(t, n, gone["address"].(string), 12_500_000)
	mine(t, n, 1)
	waitForLong(t, "held", func() bool {
		c := oa.check(t, gone)
		return c["state"] == "cancelled" && c["refund_amount_opened"] == "0.12500000"
	})
	oa.ok(t, "RefundPayment", url.Values{"payment_id": {gone["payment_id"].(string)}, "address_out": {refundTo2}, "refund_amount": {"0.125"}})
	var ref2 ferry.Hash
	waitFor(t, "the second refund", func() bool { ref2 = spender(t, n, op4); return !ref2.IsZero() })
	mine(t, n, 1)
	checkRefund(t, n, op4, 12_500_000, ref2, refundTo2, cfg.LTCFeeAddress)
	waitScanned(t, n, d.URL)

	// Their webhooks, in order, at the vendor's endpoint.
	for _, tt := range []struct {
		p    map[string]any
		pos  string
		want []string
	}{
		{zc, "POS1", []string{"payment.confirmed"}},
		{under, "POS1", []string{"payment.underpaid", "payment.confirmed"}},
		{back, "POS2", []string{"payment.underpaid", "payment.refunded"}},
		{gone, "POS1", []string{"payment.cancelled", "payment.refunded"}},
	} {
		id := tt.p["payment_id"].(string)
		waitForLong(t, "the webhooks of "+id, func() bool { return len(events(t, hooks, id)) >= len(tt.want) })
		es := events(t, hooks, id)
		if got := eventNames(es); !slices.Equal(got, tt.want) {
			t.Errorf("%s: webhooks %v, want %v", id, got, tt.want)
		}
		for i, e := range es {
			if e["pos_id"] != tt.pos || e["amount"] != "0.12500000" || e["currency"] != "LTC" || e["status"] != tt.want[min(i, len(tt.want)-1)][len("payment."):] {
				t.Errorf("webhook %v", e)
			}
		}
	}

	// The listing: every payment, with its deposits, forwards and refunds.
	status, list := oa.call(t, "GetTransactions", url.Values{"offset": {"0"}, "limit": {"20"}})
	if status != 200 {
		t.Fatalf("GetTransactions: %d %v", status, list)
	}
	sameShape(t, "GetTransactions", list, clientExample(t, "GetTransactions"))
	rows := invoices(list)
	if len(rows) != 4 {
		t.Fatalf("%d payments listed", len(rows))
	}
	for i, want := range []struct {
		status, payment, refund string
		moves                   []string
	}{
		{"Confirmed", "0.12500000", "", []string{"deposit:" + op.Hash.String(), "forward:" + fwd.String()}},
		{"Confirmed", "0.06000000", "", []string{"deposit:" + op2.Hash.String(), "forward:" + fwd2.String()}},
		{"Refunded", "0.00000000", "0.04948590", []string{"deposit:" + op3.Hash.String(), "refund:" + ref.String()}},
		{"Refunded", "0.00000000", "0.12373590", []string{"deposit:" + op4.Hash.String(), "refund:" + ref2.String()}},
	} {
		r := rows[i].(map[string]any)
		var moves []string
		for _, m := range r["transactions"].([]any) {
			mm := m.(map[string]any)
			moves = append(moves, mm["type"].(string)+":"+mm["txid"].(string))
		}
		if r["status"] != want.status || r["payment"] != want.payment || r["refund"] != want.refund || !slices.Equal(moves, want.moves) {
			t.Errorf("payment %d: %v, moves %v", i, r, moves)
		}
	}
	if _, page := oa.call(t, "GetTransactions", url.Values{"offset": {"1"}, "limit": {"2"}}); len(invoices(page)) != 2 ||
		invoices(page)[0].(map[string]any)["payment_id"] != under["payment_id"] {
		t.Errorf("the second page: %v", page)
	}
	status, cur := oa.call(t, "GetCurrencyList", nil)
	if c := cur.([]any); status != 200 || len(c) != 1 || c[0].(map[string]any)["currency"] != "LTC" {
		t.Errorf("GetCurrencyList: %d %v", status, cur)
	}

	// Errors, in the Open API's form; none changes anything.
	for _, tt := range []struct {
		name, call string
		q          url.Values
		client     oaClient
		status     int
	}{
		{"a wrong key", "GetRate", url.Values{"pos_id": {"P"}}, oaClient{d.URL, v.Vendor.ID, "wrong"}, 401},
		{"an unknown call", "GetBalance", nil, oa, 404},
		{"an unknown payment", "CheckPayment", url.Values{"payment_id": {"123e4567-e89b-12d3-a456-426614174000"}}, oa, 404},
		{"a comma", "StartPayment", url.Values{"pos_id": {"P"}, "invoice_currency": {"USD"}, "invoice_amount": {"1,000"}, "currency": {"LTC"}}, oa, 400},
		{"a refund of nothing held", "RefundPayment", url.Values{"payment_id": {zc["payment_id"].(string)}, "address_out": {refundTo},
			"refund_amount": {"0.1"}}, oa, 400},
		{"cancelling a payment paid", "CancelPayment", url.Values{"payment_id": {zc["payment_id"].(string)}}, oa, 400},
	} {
		status, e := tt.client.call(t, tt.call, tt.q)
		if status != tt.status {
			t.Errorf("%s: %d %v, want %d", tt.name, status, e, tt.status)
		}
		sameShape(t, tt.name, e, seedExample(t, "openapi", "error"))
	}
	if _, again := oa.call(t, "GetTransactions", nil); len(invoices(again)) != 4 {
		t.Errorf("after the errors, %d payments", len(invoices(again)))
	}
}

// invoices is the list of GetTransactions' answer.
func invoices(answer any) []any {
	m, _ := answer.(map[string]any)
	l, _ := m["invoices"].([]any)
	return l
}

// checkRefund checks, from the node's view, that deposit op of value sat
// was refunded once by txid as a forward is: dest got value less the 1%
// service fee (the refund fee is --fee-percent's) less the network fee,
// and the fee address the 1%.
func checkRefund(t *testing.T, n *node, op ferry.OutPoint, value int64, txid ferry.Hash, dest, feeAddr string) {
	t.Helper()
	checkForward(t, n, op, value, txid, dest, feeAddr)
	if got, want := received(t, n, dest), value-value/100-fallbackFee; got != want {
		t.Errorf("the payer received %d, want %d", got, want)
	}
}
