package main

import (
	"encoding/json"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferry-relay/ferry/api/browsertest"
)

// fluxcordPayment is GET /api/payments/<id>'s answer.
type fluxcordPayment struct {
	PaymentID        string      `json:"paymentId"`
	Status           string      `json:"status"`
	AmountLtc        json.Number `json:"amountLtc"`
	ReceivingAddress string      `json:"receivingAddress"`
	ExpiresAt        string      `json:"expiresAt"`
	BusinessName     string      `json:"businessName"`
}

// fluxcordClient returns one of Fluxcord's examples with the gateway's
// host, the key and the shop's host replaced, calling its function.
func fluxcordClient(t *testing.T, path, ferryURL, key, shopURL, call string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReplacer("https://gateway.fluxcord.store", ferryURL, "YOUR_SECRET_API_KEY", key,
		"https://your-website.com", shopURL).Replace(string(b)) + "\n" + call + "\n"
}

// TestFluxcordFlow runs Fluxcord's own Node and Python examples against
// ferry, with its Express receiver: a payment made from Node is shown on
// its page with the QR code of its exact amount, paid, completed on the
// public endpoint, announced to the receiver (which answers 200) and
// forwarded to the vendor exactly; one made from Python and left unpaid
// expires, and is announced too.
func TestFluxcordFlow(t *testing.T) {
	n := startNode(t, "litecoin")
	cfg := merchantConfig(t, n)
	d := startFerry(t, cfg)
	payout := newAddress(t, n)
	var v vendorCreds
	if err := json.Unmarshal([]byte(vendorCLI(t, cfg.DataDir, 0, "add", "--name", "Fluxcord Shop", "--email", "owner@shop.example", "--ltc-address", payout)), &v); err != nil {
		t.Fatal(err)
	}
	shop := startNodeApp(t, "fluxcord_receiver.js")

	// The seed's Node example.
	script := fluxcordClient(t, "testdata/node/fluxcord_example.js", d.URL, v.APIKey, shop.URL, "createPayment(0.05);")
	out := runNodeCode(t, script)
	pageURL, ok := strings.CutPrefix(strings.TrimSpace(out), "Payment URL: ")
	if !ok {
		t.Fatalf("the Node example printed %q", out)
	}
	u, err := url.Parse(pageURL)
	if err != nil || u.Path != "/merch/inv" {
		t.Fatalf("payment URL %q", pageURL)
	}
	id := u.Query().Get("id")
	var p fluxcordPayment
	if code := getJSON(t, d.URL+"/api/payments/"+id, nil, &p); code != 200 || p.Status != "pending" || p.AmountLtc != "0.05" ||
		p.BusinessName != "Fluxcord Shop" || p.PaymentID != id {
		t.Fatalf("public: %d %+v", code, p)
	}
	page := browsertest.New(t).Open(t, pageURL, 390, 844)
	if got, want := browsertest.DecodeQR(t, page.Screenshot(t)), "litecoin:"+p.ReceivingAddress+"?amount=0.05"; !slices.Equal(got, []string{want}) {
		t.Errorf("QR code %q, want %q", got, want)
	}

	const value = 5_000_000
	op := pay(t, n, p.ReceivingAddress, value)
	mine(t, n, 1)
	page.WaitText(t, "Paid: thank you")
	waitForLong(t, "completed", func() bool {
		getJSON(t, d.URL+"/api/payments/"+id, nil, &p)
		return p.Status == "completed"
	})
	waitForLong(t, "the webhook", func() bool { return len(shop.entries(t)) >= 1 })
	e := shop.entries(t)[0]
	var body map[string]any
	json.Unmarshal([]byte(e["body"].(string)), &body)
	if e["path"] != "/api/webhook/ltc-payment" || body["paymentId"] != id || body["status"] != "completed" || body["amountLtc"] != 0.05 ||
		body["receivingAddress"] != p.ReceivingAddress || len(body) != 4 {
		t.Errorf("webhook %v", e)
	}
	waitForLong(t, "the receiver's log line", func() bool {
		return strings.Contains(shop.out.String(), "Payment "+id+" completed! Delivered product.")
	})
	fwd := spender(t, n, op)
	mine(t, n, 1)
	checkForward(t, n, op, value, fwd, payout, cfg.LTCFeeAddress)
	var deliveries struct {
		Webhooks []struct {
			State    string
			Attempts []map[string]any
		}
	}
	if code := getJSON(t, d.URL+"/api/payments/"+id+"/webhooks", map[string]string{"x-api-key": v.APIKey}, &deliveries); code != 200 ||
		len(deliveries.Webhooks) != 1 || deliveries.Webhooks[0].State != "acked" || len(deliveries.Webhooks[0].Attempts) != 1 {
		t.Errorf("deliveries: %d %+v", code, deliveries)
	}

	// The seed's Python example, with sessions of 10 seconds: left
	// unpaid, it expires.
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	cfg.SessionExpiry = 10 * time.Second
	d = startFerry(t, cfg)
	py := fluxcordClient(t, "testdata/python/fluxcord_example.py", d.URL, v.APIKey, shop.URL, "create_payment(0.02)")
	out = runCommand(t, nil, python3(t), "-c", py)
	pageURL, ok = strings.CutPrefix(strings.TrimSpace(out), "Payment URL: ")
	if !ok {
		t.Fatalf("the Python example printed %q", out)
	}
	u, _ = url.Parse(pageURL)
	id2 := u.Query().Get("id")
	if getJSON(t, d.URL+"/api/payments/"+id2, nil, &p); p.Status != "pending" || p.AmountLtc != "0.02" {
		t.Fatalf("the Python payment: %+v", p)
	}
	waitForLong(t, "expired", func() bool {
		getJSON(t, d.URL+"/api/payments/"+id2, nil, &p)
		return p.Status == "expired"
	})
	waitForLong(t, "the expiry's webhook", func() bool { return len(shop.entries(t)) >= 2 })
	json.Unmarshal([]byte(shop.entries(t)[1]["body"].(string)), &body)
	if body["paymentId"] != id2 || body["status"] != "expired" {
		t.Errorf("expiry webhook %v", body)
	}
}

// python3 is Debian's python3, with its requests module.
func python3(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Fatal("/usr/bin/python3 is missing: run make test")
	}
	return "/usr/bin/python3"
}

// runNodeCode runs JavaScript with node in testdata/node (for its npm
// packages), and returns its output.
func runNodeCode(t *testing.T, code string) string {
	t.Helper()
	path, _ := os.Getwd()
	dir := path + "/testdata/node"
	f, err := os.CreateTemp(dir, ".client-*.js")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(f.Name()) })
	f.WriteString(code)
	f.Close()
	return runCommand(t, nil, need(t, "node"), f.Name())
}
