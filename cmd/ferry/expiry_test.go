package main

import (
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-relay/ferry/chain"
)

// TestAddressExpiry moves the chain's clock past the 30 days of the
// address expiry and the 14 days of grace (litecoind's setmocktime): an
// address never paid expires with the next block, as do one whose deposit
// was forwarded and one whose deposit is still open (a donation too small
// to sweep), which stays tracked. A payment to the expired address is not
// picked up, and stays recoverable from the seed.
func TestAddressExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n := startNode(t, "litecoin")
	cfg := nodeConfig(t, n, t.TempDir())
	d := startFerry(t, cfg)
	dest := newAddress(t, n)

	idle := receive(t, d.URL, n.coin, dest, "").InputAddress
	paid := receive(t, d.URL, n.coin, dest, "").InputAddress
	stuck := receive(t, d.URL, n.coin, dest, "").InputAddress
	op := pay(t, n, paid, 2_000_000)
	stuckOp := pay(t, n, stuck, 3_000) // a donation too small to sweep: stays open
	mine(t, n, 1)
	waitFor(t, "the forward", func() bool { return !spender(t, n, op).IsZero() })
	mine(t, n, 1)
	waitScanned(t, n, d.URL)
	if got := check(t, n, d.URL, paid).Deposits; len(got) != 1 || got[0].Status != "forwarded" {
		t.Fatalf("paid address: %+v", got)
	}

	if err := n.ltc.SetMockTime(ctx, time.Now().Add(cfg.AddressExpiry+cfg.ExpiryGrace+time.Hour)); err != nil {
		t.Fatal(err)
	}
	mine(t, n, 1)
	waitScanned(t, n, d.URL)
	if s := check(t, n, d.URL, idle).Status; s != "expired" {
		t.Errorf("idle address: %s, want expired", s)
	}
	if s := check(t, n, d.URL, paid).Status; s != "forwarded" {
		t.Errorf("paid address: %s, want forwarded", s)
	}
	if c := d.Log.count("address expired", nil); c != 3 {
		t.Errorf("%d addresses expired, want 3", c)
	}
	if r := check(t, n, d.URL, stuck); r.Status != "donation" || len(r.Deposits) != 1 || r.Deposits[0].TxID != stuckOp.Hash.String() {
		t.Errorf("the expired address's open deposit is no longer reported: %+v", r)
	}

	// A late payment is not picked up...
	late := pay(t, n, idle, 5_000_000)
	mine(t, n, 1)
	waitScanned(t, n, d.URL)
	if d.Log.count("deposit detected", map[string]any{"outpoint": late.String()}) != 0 {
		t.Error("a payment to an expired address was picked up")
	}
	if r := check(t, n, d.URL, idle); r.Status != "expired" || len(r.Deposits) != 0 {
		t.Errorf("expired address after a late payment: %+v", r)
	}
	// ...but the seed alone re-derives the address that holds it.
	hexSeed, err := os.ReadFile(filepath.Join(cfg.DataDir, "seed"))
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := hex.DecodeString(strings.TrimSpace(string(hexSeed)))
	coin, _ := chain.Litecoin(chain.Regtest)
	keys, _ := chain.NewKeychain(seed, coin.CoinType())
	prog, _ := keys.Program(0)
	if a, _ := coin.InputAddress(prog); a.Address != idle {
		t.Errorf("index 0 of the seed is %s, not the expired address %s", a.Address, idle)
	}
}
