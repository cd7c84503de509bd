package main

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// TestLitePayPHPClass runs a shop built on LitePay's official PHP class
// against ferry, in the class's dialect (method=ltc or btc, the callback
// urlencoded before http_build_query): it mints, is paid, and its callback
// script, which checks its own secret and invoice, answers *ok* exactly
// once; the class's check call then reports the amount, the confirmations
// and the transaction.
func TestLitePayPHPClass(t *testing.T) {
	forEachCoin(t, func(t *testing.T, n *node) {
		cfg := merchantConfig(t, n)
		d := startFerry(t, cfg)
		const invoice, secret = "INV-42", "NTIzMzUxN2E4Yjc2"
		shop := startPHPServer(t, "shop_callback.php", "INVOICE="+invoice, "SECRET="+secret)
		dest := newAddress(t, n)

		out := runPHPFile(t, "shop_checkout.php", "FERRY="+d.URL, "SHOP="+shop.URL, "METHOD="+n.ticker, "PAYOUT="+dest,
			"INVOICE="+invoice, "SECRET="+secret)
		var minted struct {
			Address     string
			CallbackURL string `json:"callback_url"`
			Fee         json.Number
		}
		if err := json.Unmarshal([]byte(out), &minted); err != nil || minted.Address == "" {
			t.Fatalf("checkout printed %q: %v", out, err)
		}
		// Encoded twice on the wire, decoded twice by ferry.
		if want := shop.URL + "/callback.php?id=7&invoice=" + invoice + "&secret=" + secret; minted.CallbackURL != want || minted.Fee != "1" {
			t.Errorf("callback_url %q fee %s, want %q and 1", minted.CallbackURL, minted.Fee, want)
		}

		const value = 50_000_000
		op := pay(t, n, minted.Address, value)
		mine(t, n, 1)
		waitFor(t, "the shop's callback", func() bool { return len(shop.calls(t, "end", nil)) == 1 })
		mine(t, n, 2)
		waitScanned(t, n, d.URL)
		calls := shop.calls(t, "start", nil)
		if len(calls) != 1 || !calls[0].Accepted {
			t.Fatalf("%d callbacks, first %+v: want exactly one, accepted", len(calls), calls)
		}
		// The shop's own parameters came back as it wrote them.
		if !strings.HasPrefix(calls[0].URL, shop.URL+"/callback.php?id=7&invoice="+invoice+"&secret="+secret+"&") {
			t.Errorf("callback URL %s does not start with the shop's own", calls[0].URL)
		}
		for k, v := range map[string]string{"id": "7", "invoice": invoice, "secret": secret,
			"input_address": minted.Address, "transaction_hash": op.Hash.String(), "coin": n.ticker} {
			if calls[0].Get[k] != v {
				t.Errorf("callback %s = %q, want %q", k, calls[0].Get[k], v)
			}
		}

		out = runPHPFile(t, "shop_check.php", "FERRY="+d.URL, "METHOD="+n.ticker, "ADDRESS="+minted.Address)
		var checked struct {
			Status, Address, Amount string
			Confirmations           int64
			TxIDs                   []string
		}
		if err := json.Unmarshal([]byte(out), &checked); err != nil {
			t.Fatalf("check printed %q: %v", out, err)
		}
		if checked.Status != "success" || checked.Address != minted.Address || checked.Amount != "0.5" ||
			checked.Confirmations != 3 || len(checked.TxIDs) != 1 || checked.TxIDs[0] != op.Hash.String() {
			t.Errorf("check: %s", out)
		}
	})
}

// TestLitePayNodeClient runs a Node client in the style of LitePay's
// published TypeScript wrapper (axios; method=btc; the callback encoded
// once): a mint answers status, address, fee, destination and
// callback_url; a bad address and an unknown input address each answer
// status "error" with a message.
func TestLitePayNodeClient(t *testing.T) {
	t.Parallel()
	n := startNode(t, "bitcoin")
	cfg := merchantConfig(t, n)
	d := startFerry(t, cfg)
	dest := newAddress(t, n)
	const callback = "http://127.0.0.1:9/litepay/callback?order=5&secret=x%2By"

	type answer struct {
		Status, Message, Address, Destination, Amount string
		CallbackURL                                   string `json:"callback_url"`
		Fee                                           json.Number
		TxIDs                                         []string
	}
	run := func(calls ...map[string]string) []answer {
		t.Helper()
		arg, _ := json.Marshal(calls)
		var out []answer
		for _, line := range strings.Split(strings.TrimSpace(runNode(t, "litepay_run.js", d.URL, string(arg))), "\n") {
			var a answer
			if err := json.Unmarshal([]byte(line), &a); err != nil {
				t.Fatalf("node printed %q: %v", line, err)
			}
			out = append(out, a)
		}
		if len(out) != len(calls) {
			t.Fatalf("%d answers to %d calls", len(out), len(calls))
		}
		return out
	}

	got := run(
		map[string]string{"call": "create", "method": "btc", "receivingAddress": dest, "callbackUrl": callback},
		map[string]string{"call": "create", "method": "btc", "receivingAddress": "error"},
		map[string]string{"call": "create", "method": "ltc", "receivingAddress": dest},
		map[string]string{"call": "check", "method": "btc", "receivingAddress": dest},
	)
	if a := got[0]; a.Status != "success" || a.Address == "" || a.Fee != "1" || a.Destination != dest || a.CallbackURL != callback {
		t.Errorf("create: %+v", a)
	}
	for i, want := range []string{"malformed address", "litecoin is not enabled", "not an input address"} {
		if a := got[i+1]; a.Status != "error" || !strings.Contains(a.Message, want) {
			t.Errorf("call %d: %+v, want status error and %q", i+2, a, want)
		}
	}

	in := got[0].Address
	op := pay(t, n, in, 30_000_000)
	checked := run(map[string]string{"call": "check", "method": "btc", "receivingAddress": in})[0]
	if checked.Status != "success" || checked.Address != in || checked.Amount != "0" && checked.Amount != "0.3" {
		t.Errorf("check before the block: %+v", checked)
	}
	mine(t, n, 1)
	waitScanned(t, n, d.URL)
	checked = run(map[string]string{"call": "check", "method": "btc", "receivingAddress": in})[0]
	if checked.Amount != "0.3" || len(checked.TxIDs) != 1 || checked.TxIDs[0] != op.Hash.String() {
		t.Errorf("check after the block: %+v", checked)
	}
	if u, _ := url.Parse(callback); u.Query().Get("secret") != "x+y" {
		t.Fatal("test callback lost its encoding")
	}
}
