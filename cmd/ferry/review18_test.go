package main

import (
	"net/url"
	"regexp"
	"testing"
)

// The regression tests of the security review's items on callbacks and
// refunds (issue 18), on real regtest nodes: each failed before its fix.

// pageAddress finds the input address an invoice's page shows.
var pageAddress = regexp.MustCompile(`<code id="address">([^<]+)</code>`)

// TestForgedInvoiceCallback (item 1): an attacker mints an /api/receive
// address whose callback is a shop's invoice callback URL with
// invoice=22&status=paid&price=10.00 already in its query, and pays it
// (forwarded back to himself). The shop, a PHP script checking the
// signature with its vendor's key as README shows, refuses that deposit
// callback (403) and takes the real invoice's callback when the customer
// pays.
func TestForgedInvoiceCallback(t *testing.T) {
	n := startNode(t, "litecoin")
	d := startInvoiceDaemon(t, n)
	shop := startPHPServer(t, "shop_invoice_callback.php", "FERRY_WEBHOOK_SECRET="+d.vendor.WebhookSecret)
	const number = "22"
	callback := shop.URL + "/invoice_callback.php"

	// The shop's invoice: $10 at $80 is 0.125 LTC.
	reply := postP(t, d.URL, url.Values{"vendor": {d.vendor.Vendor.ID}, "invoice": {number}, "secret": {d.vendor.Secret},
		"price": {"10"}, "currency": {"USD"}, "callbackUrl": {callback}, "returnUrl": {shop.URL + "/thanks.php"}})
	if reply.Status != "success" {
		t.Fatalf("/p/: %+v", reply)
	}
	m := pageAddress.FindStringSubmatch(httpGet(t, reply.URL))
	if m == nil {
		t.Fatal("the invoice's page shows no address")
	}
	invoiceAddress := m[1]

	// The attacker's deposit, its callback aimed at the shop's invoice
	// callback with the invoice paid in its query.
	forged := callback + "?" + url.Values{"invoice": {number}, "status": {"paid"}, "price": {"10.00"}}.Encode()
	attacker := receive(t, d.URL, n.coin, newAddress(t, n), forged)
	pay(t, n, attacker.InputAddress, 2_000_000)
	mine(t, n, 1)
	fromAttacker := map[string]string{"input_address": attacker.InputAddress, "invoice": number, "status": "paid"}
	waitForLong(t, "the forged callback", func() bool { return len(shop.calls(t, "end", fromAttacker)) >= 1 })
	waitFor(t, "its 403 recorded", func() bool {
		r := check(t, n, d.URL, attacker.InputAddress)
		return len(r.Deposits) == 1 && r.Deposits[0].Callback != nil && r.Deposits[0].Callback.LastAttempt != nil
	})
	if got := check(t, n, d.URL, attacker.InputAddress).Deposits[0].Callback.LastAttempt.HTTPStatus; got != 403 {
		t.Errorf("the forged callback was answered HTTP %d, want 403", got)
	}

	// The customer pays the invoice: its callback passes the check.
	pay(t, n, invoiceAddress, 12_500_000)
	mine(t, n, 1)
	fromInvoice := map[string]string{"input_address": invoiceAddress, "invoice": number, "status": "paid"}
	waitForLong(t, "the invoice's callback", func() bool { return len(shop.calls(t, "end", fromInvoice)) >= 1 })
	if c := shop.calls(t, "end", fromInvoice)[0]; !c.Accepted {
		t.Errorf("the shop refused the invoice's own callback: %s", c.URL)
	}
	for _, c := range shop.calls(t, "end", map[string]string{"input_address": attacker.InputAddress}) {
		if c.Accepted {
			t.Errorf("the shop took the attacker's deposit callback for invoice %s %s: %s", c.Get["invoice"], c.Get["status"], c.URL)
		}
	}
}
