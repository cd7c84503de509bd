package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/ferry-relay/ferry"
)

// TestHoldKill kills ferry with SIGKILL at each step of holding, accepting
// and refunding, over the Open API: right after a payment is held, right
// after the vendor's decision is recorded (an accept, then a refund),
// right after the forward (the refund) is signed, and right after its
// broadcast. After each restart the step is picked up where it was left:
// each deposit is spent exactly once, the accepted one forwarded to the
// vendor less 1% and the network fee, the refunded one sent to the payer
// less the network fee, and no forward is signed twice.
func TestHoldKill(t *testing.T) {
	n := startNode(t, "litecoin")
	cfg := merchantConfig(t, n)
	cfg.FiatRates = "static:LTC/USD=80"
	payout, refundTo := newAddress(t, n), newAddress(t, n)

	// Two payments of $10 (0.125 LTC), each underpaid; killed at the
	// first hold.
	p := startProcess(t, cfg, "payment held")
	runs, kills := []*process{p}, []string{"payment held"}
	var v vendorCreds
	if err := json.Unmarshal([]byte(vendorCLI(t, cfg.DataDir, 0, "add", "--name", "POS Shop", "--email", "owner@shop.example",
		"--ltc-address", payout)), &v); err != nil {
		t.Fatal(err)
	}
	oa := oaClient{base: p.URL, vendor: v.Vendor.ID, key: v.APIKey}
	accepted, refunded := oa.start(t, "POS1", "10", nil), oa.start(t, "POS1", "10", nil)
	opA := pay(t, n, accepted["address"].(string), 6_000_000)
	opB := pay(t, n, refunded["address"].(string), 5_000_000)
	mine(t, n, 1)
	p.Wait()

	// restart starts ferry again, to be killed at killOn.
	restart := func(killOn string) {
		t.Helper()
		p = startProcess(t, cfg, killOn)
		runs, kills = append(runs, p), append(kills, killOn)
		oa.base = p.URL
	}
	// decide calls an Open API call that the process is killed in the
	// middle of: its answer may never come.
	decide := func(call string, q url.Values) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, oa.base+"/v2/"+call+"/?"+q.Encode(), nil)
		req.SetBasicAuth(oa.vendor, oa.key)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
		p.Wait()
	}

	// Both held after the restart; the accept is recorded, and killed.
	restart("held payments released")
	for _, pm := range []map[string]any{accepted, refunded} {
		waitForLong(t, "held", func() bool { return oa.check(t, pm)["state"] == "underpayment" })
	}
	decide("AcceptPayment", url.Values{"payment_id": {accepted["payment_id"].(string)}, "accepted_amount": {"0.06"}})

	// The accept stands: its forward is signed, and killed.
	restart("forward signed")
	p.Wait()
	if runs[2].Log.find("forward signed", map[string]any{"outpoint": opA.String()}) == nil {
		t.Fatalf("killed at another signature than the accepted payment's")
	}

	// The refund is recorded, and killed; signed, and killed; broadcast,
	// and killed.
	restart("held payments released")
	decide("RefundPayment", url.Values{"payment_id": {refunded["payment_id"].(string)}, "refund_amount": {"0.05"}, "address_out": {refundTo}})
	restart("forward signed")
	p.Wait()
	restart("forward broadcast")
	p.Wait()

	// Restarted for good: both confirm.
	restart("")
	waitScanned(t, n, p.URL)
	var fwd, ref ferry.Hash
	waitFor(t, "the forward and the refund", func() bool {
		fwd, ref = spender(t, n, opA), spender(t, n, opB)
		return !fwd.IsZero() && !ref.IsZero()
	})
	mine(t, n, 1)
	waitScanned(t, n, p.URL)
	checkForward(t, n, opA, 6_000_000, fwd, payout, cfg.LTCFeeAddress)
	checkRefund(t, n, opB, 5_000_000, ref, refundTo, cfg.LTCFeeAddress)
	for op, onChain := range map[ferry.OutPoint]ferry.Hash{opA: fwd, opB: ref} {
		signed := 0
		for _, r := range runs {
			if line := r.Log.find("forward signed", map[string]any{"outpoint": op.String()}); line != nil {
				signed++
				if line["txid"] != onChain.String() {
					t.Errorf("%s: %s signed, %s on chain", op, line["txid"], onChain)
				}
			}
		}
		if signed != 1 {
			t.Errorf("%s signed for in %d runs, want 1", op, signed)
		}
	}
	for i, killOn := range kills[:len(kills)-1] {
		if runs[i].Log.count(killOn, nil) == 0 {
			t.Errorf("run %d was not killed at %q", i, killOn)
		}
	}
	if c := oa.check(t, accepted); c["state"] != "confirmed" {
		t.Errorf("the accepted payment: %v", c)
	}
	if c := oa.check(t, refunded); c["state"] != "refunded" || c["refund_amount_opened"] != "0.00000000" {
		t.Errorf("the refunded payment: %v", c)
	}
}
