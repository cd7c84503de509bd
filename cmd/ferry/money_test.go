package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/ferry-relay/ferry"
)

// fallbackFee is the network fee of a forward on regtest, where the nodes
// have no fee estimate: the tests' fallback of 10 sat/vB times the 141
// vbytes ferry budgets for one P2WPKH input and two P2WPKH outputs.
const fallbackFee = 10 * 141

// checkForward checks, from the node's view, that deposit op of value sat
// was forwarded once by txid: dest got value less 1% less the network fee,
// and the fee output the 1%.
func checkForward(t *testing.T, n *node, op ferry.OutPoint, value int64, fwd ferry.Hash, destAddr, feeAddr string) {
	t.Helper()
	tx, err := n.Tx(context.Background(), fwd)
	if err != nil {
		t.Fatal(err)
	}
	if tx.Confirmations < 1 {
		t.Fatalf("forward %s is not confirmed", fwd)
	}
	if len(tx.Vin) != 1 || tx.Vin[0].TxID != op.Hash.String() || tx.Vin[0].Vout != op.Index {
		t.Fatalf("forward %s does not spend only %s", fwd, op)
	}
	service := value / 100
	var toDest, toFee int64
	for _, o := range tx.Vout {
		v, err := ferry.ParseAmount(o.Value.String())
		if err != nil {
			t.Fatal(err)
		}
		switch o.ScriptPubKey.AddressText() {
		case destAddr:
			toDest += int64(v)
		case feeAddr:
			toFee += int64(v)
		default:
			t.Errorf("forward pays %s to an unknown address %s", o.Value, o.ScriptPubKey.AddressText())
		}
	}
	network := value - toDest - toFee
	if toFee != service || toDest != value-service-fallbackFee || network != fallbackFee {
		t.Errorf("forward of %d: %d to merchant, %d to fee address, %d network fee; want %d, %d, %d",
			value, toDest, toFee, network, value-service-fallbackFee, service, fallbackFee)
	}
	if tx.VSize > 141 || network < 10*tx.VSize {
		t.Errorf("forward of %d vbytes pays %d: under 10 sat/vB", tx.VSize, network)
	}
}

func TestForward(t *testing.T) {
	forEachCoin(t, func(t *testing.T, n *node) {
		cfg := nodeConfig(t, n, t.TempDir())
		d := startFerry(t, cfg)
		dest := newAddress(t, n)

		in := receive(t, d.URL, n.coin, dest, "")
		const value = 50_000_000
		op := pay(t, n, in.InputAddress, value)
		mine(t, n, 1)

		// One confirmation: the forward is broadcast.
		var fwd ferry.Hash
		waitFor(t, "forward in the mempool", func() bool { fwd = spender(t, n, op); return !fwd.IsZero() })
		mine(t, n, 1)
		checkForward(t, n, op, value, fwd, dest, n.feeAddress(cfg))

		if got := received(t, n, dest); got != value-value/100-fallbackFee {
			t.Errorf("merchant received %d", got)
		}
		if got := received(t, n, n.feeAddress(cfg)); got != value/100 {
			t.Errorf("fee address received %d", got)
		}
		// The log speaks satoshis.
		if line := d.Log.find("forward signed", map[string]any{"txid": fwd.String()}); line == nil ||
			fmt.Sprint(line["forwarded"]) != fmt.Sprint(value-value/100-fallbackFee) {
			t.Errorf("no forward log line with the amounts: %v", line)
		}
	})
}

func TestDonationIsNotForwarded(t *testing.T) {
	forEachCoin(t, func(t *testing.T, n *node) {
		cfg := nodeConfig(t, n, t.TempDir())
		d := startFerry(t, cfg)
		dest := newAddress(t, n)

		in := receive(t, d.URL, n.coin, dest, "")
		value := n.minDeposit - 1 // under --min-ltc 0.010, --min-btc 0.0010
		op := pay(t, n, in.InputAddress, value)
		mine(t, n, 1)
		var sweep ferry.Hash
		waitFor(t, "donation sweep", func() bool { sweep = spender(t, n, op); return !sweep.IsZero() })
		mine(t, n, 1)
		waitScanned(t, n, d.URL)

		if got := received(t, n, dest); got != 0 {
			t.Errorf("merchant received %d of a donation", got)
		}
		// One output, to the fee address: 110 vbytes at 10 sat/vB.
		if got := received(t, n, n.feeAddress(cfg)); got != value-10*110 {
			t.Errorf("fee address received %d, want %d", got, value-10*110)
		}
	})
}

func TestTwoDepositsToOneAddress(t *testing.T) {
	forEachCoin(t, func(t *testing.T, n *node) {
		cfg := nodeConfig(t, n, t.TempDir())
		d := startFerry(t, cfg)
		dest := newAddress(t, n)

		in := receive(t, d.URL, n.coin, dest, "")
		first := pay(t, n, in.InputAddress, 2_000_000)
		mine(t, n, 1)
		second := pay(t, n, in.InputAddress, 3_000_000)
		third := pay(t, n, in.InputAddress, 4_000_000) // same block as the second
		mine(t, n, 1)

		fwds := map[ferry.OutPoint]ferry.Hash{}
		waitFor(t, "three forwards", func() bool {
			for _, op := range []ferry.OutPoint{first, second, third} {
				if _, ok := fwds[op]; !ok {
					if h := spender(t, n, op); !h.IsZero() {
						fwds[op] = h
					}
				}
			}
			return len(fwds) == 3
		})
		mine(t, n, 1)
		checkForward(t, n, first, 2_000_000, fwds[first], dest, n.feeAddress(cfg))
		checkForward(t, n, second, 3_000_000, fwds[second], dest, n.feeAddress(cfg))
		checkForward(t, n, third, 4_000_000, fwds[third], dest, n.feeAddress(cfg))
		if fwds[first] == fwds[second] || fwds[second] == fwds[third] {
			t.Error("deposits shared a forward")
		}
		if got, want := received(t, n, dest), int64(9_000_000-90_000-3*fallbackFee); got != want {
			t.Errorf("merchant received %d, want %d", got, want)
		}
	})
}

// TestMWEBBlock pays two input addresses in one block that also holds an
// MWEB peg-in: one by a plain transaction, one by an MWEB peg-out, which
// arrives as an output of the block's HogEx transaction.
func TestMWEBBlock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n := startNode(t, "litecoin")
	cfg := nodeConfig(t, n, t.TempDir())
	d := startFerry(t, cfg)
	destA, destB := newAddress(t, n), newAddress(t, n)

	plain := receive(t, d.URL, n.coin, destA, "")
	pegged := receive(t, d.URL, n.coin, destB, "")
	op := pay(t, n, plain.InputAddress, 7_000_000)
	if err := n.ltc.PegOut(ctx, pegged.InputAddress, 6_000_000); err != nil {
		t.Fatal(err)
	}
	if err := n.ltc.PegIn(ctx, 100_000_000); err != nil {
		t.Fatal(err)
	}
	blk := mine(t, n, 1)[0]

	// The block has an MWEB body and a HogEx paying the peg-out.
	var info struct {
		Tx []string `json:"tx"`
	}
	if err := n.NodeClient().Call(ctx, "getblock", &info, blk.String(), 1); err != nil {
		t.Fatal(err)
	}
	hogex, _ := ferry.ParseHash(info.Tx[len(info.Tx)-1])
	pegOp := outputTo(t, n, hogex, pegged.InputAddress)
	if pegOp.Index == 0 {
		t.Fatal("peg-out is the HogEx's first output")
	}
	waitScanned(t, n, d.URL)
	if d.Log.count("deposit detected", map[string]any{"outpoint": pegOp.String(), "maturity": 6}) != 1 {
		t.Fatalf("peg-out deposit %s not detected with maturity 6", pegOp)
	}

	// The plain deposit is forwarded at once; the peg-out only once the
	// chain lets it be spent, at 6 confirmations.
	var fwdA ferry.Hash
	waitFor(t, "plain forward", func() bool { fwdA = spender(t, n, op); return !fwdA.IsZero() })
	for range 4 {
		mine(t, n, 1)
		waitScanned(t, n, d.URL)
		if h := spender(t, n, pegOp); !h.IsZero() {
			t.Fatalf("peg-out forwarded before maturity by %s", h)
		}
	}
	mine(t, n, 1) // 6 confirmations
	var fwdB ferry.Hash
	waitFor(t, "peg-out forward", func() bool { fwdB = spender(t, n, pegOp); return !fwdB.IsZero() })
	mine(t, n, 1)
	checkForward(t, n, op, 7_000_000, fwdA, destA, n.feeAddress(cfg))
	checkForward(t, n, pegOp, 6_000_000, fwdB, destB, n.feeAddress(cfg))
	if d.Log.count("forward rejected by node; retrying next block", nil) != 0 {
		t.Error("a forward was rejected: ferry tried to spend a peg-out too early")
	}
}

// TestNodeOutage stops the node under a running ferry, with a deposit in
// its mempool, and starts it again: ferry waits, then forwards.
func TestNodeOutage(t *testing.T) {
	t.Parallel()
	n := startNode(t, "litecoin")
	cfg := nodeConfig(t, n, t.TempDir())
	d := startFerry(t, cfg)
	dest := newAddress(t, n)
	in := receive(t, d.URL, n.coin, dest, "")
	const value = 3_000_000
	op := pay(t, n, in.InputAddress, value)

	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ferry to notice the node is down", func() bool { return d.Log.count("scanner", map[string]any{"level": "warn"}) > 0 })
	if err := n.ltc.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	mine(t, n, 1)
	var fwd ferry.Hash
	waitFor(t, "forward after the outage", func() bool { fwd = spender(t, n, op); return !fwd.IsZero() })
	mine(t, n, 1)
	checkForward(t, n, op, value, fwd, dest, n.feeAddress(cfg))
}
