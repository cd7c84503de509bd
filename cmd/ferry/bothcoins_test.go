package main

import (
	"net/url"
	"strconv"
	"testing"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
)

// TestBothCoins runs one ferry with Litecoin and Bitcoin on, pays an input
// address on each chain, and checks each forward and each callback (coin=ltc,
// coin=btc). An input address of one coin, paid on the other chain with the
// same witness program, is not picked up.
func TestBothCoins(t *testing.T) {
	t.Parallel()
	ltc := startNode(t, "litecoin")
	btc := startNode(t, "bitcoin")
	cfg := nodeConfig(t, ltc, t.TempDir())
	btcCfg := nodeConfig(t, btc, cfg.DataDir)
	cfg.BTCRPC, cfg.BTCFeeAddress, cfg.BTCFallbackFee = btcCfg.BTCRPC, btcCfg.BTCFeeAddress, btcCfg.BTCFallbackFee
	cfg.CallbackAllowPrivate = true
	d := startFerry(t, cfg)
	m := startMerchant(t, cfg.DataDir)

	type payment struct {
		n     *node
		in    string
		dest  string
		value int64
		op    ferry.OutPoint
	}
	pays := []*payment{{n: ltc, value: 7_000_000}, {n: btc, value: 600_000}}
	for _, p := range pays {
		p.dest = newAddress(t, p.n)
		p.in = receive(t, d.URL, p.n.coin, p.dest, m.callbackURL(url.Values{"order": {p.n.ticker}})).InputAddress
		p.op = pay(t, p.n, p.in, p.value)
	}

	// The Litecoin input address's program, as a Bitcoin address, paid on
	// the Bitcoin chain; and the reverse.
	ltcCoin, _ := chain.Litecoin(chain.Regtest)
	btcCoin, _ := chain.Bitcoin(chain.Regtest)
	cross := func(from, to *chain.Coin, addr string) string {
		d, err := from.ParseDestination(addr)
		if err != nil {
			t.Fatal(err)
		}
		prog, _ := chain.P2WPKHProgram(d.Script)
		a, _ := to.InputAddress([20]byte(prog))
		return a.Address
	}
	crossBTC := pay(t, btc, cross(ltcCoin, btcCoin, pays[0].in), 500_000)
	crossLTC := pay(t, ltc, cross(btcCoin, ltcCoin, pays[1].in), 5_000_000)

	for _, p := range pays {
		mine(t, p.n, 1)
	}
	for _, p := range pays {
		waitFor(t, p.n.ticker+" callback", func() bool { return len(m.calls(t, "end", map[string]string{"order": p.n.ticker})) == 1 })
		fwd := spender(t, p.n, p.op)
		mine(t, p.n, 1)
		checkForward(t, p.n, p.op, p.value, fwd, p.dest, p.n.feeAddress(cfg))
		c := m.calls(t, "start", map[string]string{"order": p.n.ticker})[0]
		want := map[string]string{
			"coin": p.n.ticker, "value": strconv.FormatInt(p.value, 10), "input_address": p.in,
			"destination_address": p.dest, "transaction_hash": p.op.Hash.String(), "forward_transaction_hash": fwd.String(),
		}
		for k, v := range want {
			if c.Get[k] != v {
				t.Errorf("%s callback %s = %q, want %q", p.n.ticker, k, c.Get[k], v)
			}
		}
		if !c.SigOK {
			t.Errorf("%s callback signature did not verify", p.n.ticker)
		}
	}
	waitScanned(t, ltc, d.URL)
	waitScanned(t, btc, d.URL)
	for _, op := range []ferry.OutPoint{crossBTC, crossLTC} {
		if d.Log.count("deposit detected", map[string]any{"outpoint": op.String()}) != 0 {
			t.Errorf("a payment to the other coin's input address was picked up: %s", op)
		}
	}
	if c := len(m.calls(t, "start", nil)); c != 2 {
		t.Errorf("%d callbacks, want 2", c)
	}
}
