package main

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ferry-relay/ferry/chain/regtest"
	"github.com/ferry-relay/ferry/notify"
)

// merchantConfig is nodeConfig with callbacks allowed to reach the
// merchant's php -S on 127.0.0.1.
func merchantConfig(t *testing.T, n *node) Config {
	t.Helper()
	cfg := nodeConfig(t, n, t.TempDir())
	cfg.CallbackAllowPrivate = true
	return cfg
}

// TestLitePayPHPClient runs LitePay's own PHP example against ferry, and a
// PHP merchant answering *ok*: exactly one callback, with every parameter
// right, the merchant's secret intact and a valid signature; none after the
// *ok*, not even across a restart.
func TestLitePayPHPClient(t *testing.T) {
	forEachCoin(t, func(t *testing.T, n *node) {
		cfg := merchantConfig(t, n)
		d := startFerry(t, cfg)
		m := startMerchant(t, cfg.DataDir)
		dest := newAddress(t, n)

		example, err := os.ReadFile("testdata/php/litepay_example.php")
		if err != nil {
			t.Fatal(err)
		}
		script := strings.NewReplacer(
			"{YOUR BITCOIN/LITECOIN ADDRESS}", dest,
			"{YOUR METHOD, BITCOIN OR LITECOIN}", n.coin,
			"http://yourwebsite.com", m.URL,
			"http://litepay.ch", d.URL,
		).Replace(string(example))
		out := runPHP(t, script)
		in, ok := strings.CutPrefix(out, "Send Payment To : ")
		if !ok || in == "" {
			t.Fatalf("PHP printed %q", out)
		}

		const value = 50_000_000
		op := pay(t, n, in, value)
		mine(t, n, 1)
		waitFor(t, "the callback", func() bool { return len(m.calls(t, "end", nil)) == 1 })
		fwd := spender(t, n, op)

		c := m.calls(t, "start", nil)[0]
		want := map[string]string{
			"call":                     "123",
			"secret":                   "NTIzMzUxN2E4Yjc2YWEzNDI0M2NlMjZh",
			"value":                    strconv.Itoa(value),
			"value_forwarded":          strconv.Itoa(value - value/100 - fallbackFee),
			"input_address":            in,
			"destination_address":      dest,
			"transaction_hash":         op.Hash.String(),
			"input_transaction_hash":   op.Hash.String(),
			"vout":                     strconv.FormatUint(uint64(op.Index), 10),
			"deposit_id":               op.String(),
			"forward_transaction_hash": fwd.String(),
			"confirmations":            "1",
			"coin":                     n.ticker,
		}
		for k, v := range want {
			if c.Get[k] != v {
				t.Errorf("callback %s = %q, want %q", k, c.Get[k], v)
			}
		}
		if len(c.Get) != len(want) {
			t.Errorf("callback has %d parameters, want %d: %v", len(c.Get), len(want), c.Get)
		}
		if !c.SigOK {
			t.Errorf("signature of %s did not verify with the README's PHP check", c.URL)
		}
		if !strings.HasPrefix(c.URL, m.URL+"/callbackurl.php?call=123&secret=NTIzMzUxN2E4Yjc2YWEzNDI0M2NlMjZh&") {
			t.Errorf("the merchant's own query was not kept first: %s", c.URL)
		}

		// No callback after *ok*: more blocks, and a restart.
		mine(t, n, 3)
		waitScanned(t, n, d.URL)
		if err := d.Stop(); err != nil {
			t.Fatal(err)
		}
		d = startFerry(t, cfg)
		mine(t, n, 2)
		waitScanned(t, n, d.URL)
		if c := len(m.calls(t, "start", nil)); c != 1 {
			t.Errorf("%d callbacks, want exactly 1", c)
		}
		r := check(t, n, d.URL, in)
		if r.Status != "forwarded" || len(r.Deposits) != 1 || r.Deposits[0].Callback == nil || r.Deposits[0].Callback.State != "acked" || r.Deposits[0].Callback.Attempts != 1 {
			t.Errorf("/api/check after the *ok*: %+v", r)
		}
	})
}

// TestCallbackUntilLimit has the merchant answer something else than *ok*:
// one callback per block, with the new confirmation count, up to 100
// confirmations, then none.
func TestCallbackUntilLimit(t *testing.T) {
	forEachCoin(t, func(t *testing.T, n *node) {
		cfg := merchantConfig(t, n)
		d := startFerry(t, cfg)
		m := startMerchant(t, cfg.DataDir)
		in := receive(t, d.URL, n.coin, newAddress(t, n), m.callbackURL(url.Values{"mode": {"no"}, "order": {"7"}}))
		pay(t, n, in.InputAddress, 2_000_000)

		for confs := 1; confs <= 100; confs++ {
			mine(t, n, 1)
			waitFor(t, fmt.Sprintf("callback %d", confs), func() bool {
				return len(m.calls(t, "end", map[string]string{"confirmations": strconv.Itoa(confs)})) == 1
			})
		}
		mine(t, n, 3)
		waitScanned(t, n, d.URL)
		calls := m.calls(t, "start", map[string]string{"order": "7"})
		if len(calls) != 100 {
			t.Errorf("%d callbacks, want 100", len(calls))
		}
		for i, c := range calls {
			if c.Get["confirmations"] != strconv.Itoa(i+1) || !c.SigOK {
				t.Errorf("callback %d: confirmations %s, signature ok %v", i, c.Get["confirmations"], c.SigOK)
			}
		}
		waitFor(t, "the callback to be abandoned", func() bool {
			r := check(t, n, d.URL, in.InputAddress)
			return r.Deposits[0].Callback != nil && r.Deposits[0].Callback.State == "gave_up"
		})
		r := check(t, n, d.URL, in.InputAddress)
		if cb := r.Deposits[0].Callback; cb.Attempts != 100 || cb.LastAttempt.Confirmations != 100 || !strings.Contains(cb.LastAttempt.Error, "not *ok*") {
			t.Errorf("callback state %+v %+v", cb, cb.LastAttempt)
		}
	})
}

// TestCallbackFailures makes a callback fail each way a merchant can: a
// redirect (never followed), a timeout, a 500, a refused connection. Each
// failure is recorded, and the callback is sent again at the next block.
// /api/check, which anyone may ask, shows a failure's class only, never
// the merchant's address or port (review 18, item 9).
func TestCallbackFailures(t *testing.T) {
	forEachCoin(t, func(t *testing.T, n *node) {
		cfg := merchantConfig(t, n)
		d := startFerry(t, cfg)
		m := startMerchant(t, cfg.DataDir)
		// The hanging merchant has a server of its own: php -S keeps sleeping
		// after ferry gives up, and would hold up the others' answers.
		hang := startMerchant(t, cfg.DataDir)

		// Where the redirect points: it must never see a connection.
		target, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer target.Close()
		var redirected atomic.Int64
		go func() {
			for {
				c, err := target.Accept()
				if err != nil {
					return
				}
				redirected.Add(1)
				c.Close()
			}
		}()
		_, targetPort, _ := net.SplitHostPort(target.Addr().String())
		closedPort, _ := regtest.FreePort()

		cases := []struct {
			name, url, err string
		}{
			{"redirect", m.callbackURL(url.Values{"mode": {"redirect"}, "to": {targetPort}}), notify.ClassRedirect},
			{"timeout", hang.callbackURL(url.Values{"mode": {"hang"}}), notify.ClassTimeout},
			{"500", m.callbackURL(url.Values{"mode": {"error"}}), notify.ClassHTTPStatus},
			{"refused", fmt.Sprintf("http://127.0.0.1:%d/cb", closedPort), notify.ClassRefused},
		}
		addrs := make([]string, len(cases))
		for i, c := range cases {
			addrs[i] = receive(t, d.URL, n.coin, newAddress(t, n), c.url).InputAddress
			pay(t, n, addrs[i], 3_000_000)
		}
		attempts := func(i int) int64 {
			r := check(t, n, d.URL, addrs[i])
			if len(r.Deposits) == 0 || r.Deposits[0].Callback == nil {
				return 0
			}
			return r.Deposits[0].Callback.Attempts
		}
		for round := int64(1); round <= 2; round++ {
			mine(t, n, 1)
			for i, c := range cases {
				waitForLong(t, fmt.Sprintf("%s attempt %d", c.name, round), func() bool { return attempts(i) == round })
				r := check(t, n, d.URL, addrs[i])
				cb := r.Deposits[0].Callback
				if cb.State != "pending" || cb.LastAttempt.Error != c.err || cb.LastAttempt.Confirmations != round {
					t.Errorf("%s, attempt %d: %+v %+v", c.name, round, cb, cb.LastAttempt)
				}
			}
		}
		if c := redirected.Load(); c != 0 {
			t.Errorf("the redirect was followed %d times", c)
		}
		// The refused merchant's port is in the log only.
		port := ":" + strconv.Itoa(closedPort)
		if raw := checkRaw(t, n, d.URL, addrs[3]); strings.Contains(raw, port) {
			t.Errorf("/api/check shows the merchant's address: %s", raw)
		}
		if !strings.Contains(d.Log.String(), port+": connect: connection refused") {
			t.Errorf("the log does not have the full error of the refused callback")
		}
	})
}

// TestSlowMerchantDoesNotDelayOthers pays four deposits whose merchant
// hangs, then one whose merchant answers: the answering merchant's callback
// completes while the hanging ones' requests are still open.
func TestSlowMerchantDoesNotDelayOthers(t *testing.T) {
	forEachCoin(t, func(t *testing.T, n *node) {
		cfg := merchantConfig(t, n)
		d := startFerry(t, cfg)
		slow := startMerchant(t, cfg.DataDir)
		fast := startMerchant(t, cfg.DataDir)

		for range 4 {
			in := receive(t, d.URL, n.coin, newAddress(t, n), slow.callbackURL(url.Values{"mode": {"hang"}}))
			pay(t, n, in.InputAddress, 2_000_000)
		}
		mine(t, n, 1)
		waitFor(t, "the hanging merchant's first requests", func() bool { return len(slow.calls(t, "start", nil)) >= 2 })

		in := receive(t, d.URL, n.coin, newAddress(t, n), fast.callbackURL(url.Values{"mode": {"ok"}}))
		pay(t, n, in.InputAddress, 2_000_000)
		mine(t, n, 1)
		waitFor(t, "the answering merchant's callback", func() bool { return len(fast.calls(t, "end", nil)) == 1 })
		// At that moment no hanging request has ended.
		if c := len(slow.calls(t, "end", nil)); c != 0 {
			t.Errorf("%d hanging requests had ended first", c)
		}
		if c := len(slow.calls(t, "start", nil)); c > cfgPerHost {
			t.Errorf("%d requests at once to the hanging merchant, above the per-host limit of %d", c, cfgPerHost)
		}
	})
}

// cfgPerHost is the notifier's default limit of requests to one host.
var cfgPerHost = notify.DefaultConfig().PerHost

// TestTorUserPolls follows a callback_req=0 payment to "forwarded" by polling
// /api/check, as a Tor user would: waiting, unconfirmed (from the mempool),
// then forwarded, and no callback.
func TestTorUserPolls(t *testing.T) {
	forEachCoin(t, func(t *testing.T, n *node) {
		cfg := nodeConfig(t, n, t.TempDir())
		cfg.ForwardConfirmations = 2
		d := startFerry(t, cfg)
		dest := newAddress(t, n)
		in := receive(t, d.URL, n.coin, dest, "")
		if in.CallbackReq != "0" || in.CallbackURL != "" {
			t.Fatalf("reply %+v", in)
		}
		if r := check(t, n, d.URL, in.InputAddress); r.Status != "waiting" || len(r.Deposits) != 0 {
			t.Fatalf("before payment: %+v", r)
		}

		const value = 4_000_000
		op := pay(t, n, in.InputAddress, value)
		waitFor(t, "unconfirmed", func() bool { return check(t, n, d.URL, in.InputAddress).Status == "unconfirmed" })
		r := check(t, n, d.URL, in.InputAddress)
		if r.Deposits[0].TxID != op.Hash.String() || r.Deposits[0].Vout != op.Index || r.Deposits[0].Value != value || r.Deposits[0].Confirmations != 0 {
			t.Errorf("unconfirmed deposit %+v", r.Deposits[0])
		}

		mine(t, n, 1)
		waitFor(t, "confirmed", func() bool { return check(t, n, d.URL, in.InputAddress).Status == "confirmed" })
		mine(t, n, 1)
		waitFor(t, "forwarded", func() bool { return check(t, n, d.URL, in.InputAddress).Status == "forwarded" })
		r = check(t, n, d.URL, in.InputAddress)
		dep := r.Deposits[0]
		fwd := spender(t, n, op)
		if dep.ForwardTxID != fwd.String() || dep.ValueForwarded != value-value/100-fallbackFee || dep.Confirmations != 2 || dep.Callback != nil {
			t.Errorf("forwarded deposit %+v", dep)
		}
		if c := d.Log.count("callback", nil); c != 0 {
			t.Errorf("%d callbacks sent in Tor mode", c)
		}
	})
}
