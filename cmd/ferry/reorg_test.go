package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/ferry-relay/ferry"
)

// TestReorgBeforeForward orphans the block holding a deposit, 1 to 3 blocks
// deep, before it has the confirmations to be forwarded. The deposit is
// rolled back, found again in its new block, and forwarded once.
func TestReorgBeforeForward(t *testing.T) {
	for _, coin := range coins {
		for _, depth := range []int{1, 2, 3} {
			t.Run(fmt.Sprintf("%s/depth=%d", coin, depth), func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				n := startNode(t, coin)
				cfg := nodeConfig(t, n, t.TempDir())
				cfg.ForwardConfirmations = 4
				d := startFerry(t, cfg)
				dest := newAddress(t, n)

				in := receive(t, d.URL, n.coin, dest, "")
				const value = 20_000_000
				op := pay(t, n, in.InputAddress, value)
				orphaned := mine(t, n, depth)
				waitScanned(t, n, d.URL)
				if d.Log.count("deposit detected", map[string]any{"outpoint": op.String()}) != 1 {
					t.Fatal("deposit not detected")
				}

				// Orphan the deposit's block and the ones after it; the
				// deposit returns to the mempool and is mined again, on a
				// longer chain.
				if err := n.InvalidateBlock(ctx, orphaned[0]); err != nil {
					t.Fatal(err)
				}
				mine(t, n, depth+1)
				waitScanned(t, n, d.URL)
				if c := d.Log.count("reorg: rolled back block", nil); c != depth {
					t.Errorf("%d blocks rolled back, want %d", c, depth)
				}
				if c := d.Log.count("deposit detected", map[string]any{"outpoint": op.String()}); c != 2 {
					t.Fatalf("deposit detected %d times, want 2 (before and after the reorg)", c)
				}

				// Confirmations count from the new block.
				if h := spender(t, n, op); !h.IsZero() {
					if depth+1 < 4 {
						t.Fatalf("forwarded at %d confirmations", depth+1)
					}
				}
				mine(t, n, 4-min(depth+1, 4)+1)
				var fwd ferry.Hash
				waitFor(t, "forward", func() bool { fwd = spender(t, n, op); return !fwd.IsZero() })
				mine(t, n, 1)
				checkForward(t, n, op, value, fwd, dest, n.feeAddress(cfg))
				if c := d.Log.count("forward signed", nil); c != 1 {
					t.Errorf("%d forwards signed, want 1", c)
				}
			})
		}
	}
}

// TestReorgAfterForward orphans the block that confirmed a forward. The
// deposit is open again, the same forward is broadcast again (never a new
// one), and it confirms on the new chain.
func TestReorgAfterForward(t *testing.T) {
	forEachCoin(t, func(t *testing.T, n *node) {
		ctx := context.Background()
		cfg := nodeConfig(t, n, t.TempDir())
		d := startFerry(t, cfg)
		dest := newAddress(t, n)

		in := receive(t, d.URL, n.coin, dest, "")
		const value = 30_000_000
		op := pay(t, n, in.InputAddress, value)
		mine(t, n, 1)
		var fwd ferry.Hash
		waitFor(t, "forward", func() bool { fwd = spender(t, n, op); return !fwd.IsZero() })
		confirmed := mine(t, n, 1)[0]
		waitScanned(t, n, d.URL)
		if d.Log.count("deposit spent", map[string]any{"outpoint": op.String(), "spent_by": fwd.String()}) != 1 {
			t.Fatal("forward's confirmation not recorded")
		}

		if err := n.InvalidateBlock(ctx, confirmed); err != nil {
			t.Fatal(err)
		}
		mine(t, n, 2)
		waitScanned(t, n, d.URL)
		mine(t, n, 1)
		waitScanned(t, n, d.URL)
		if got := spender(t, n, op); got != fwd {
			t.Fatalf("deposit spent by %s after the reorg, want the forward %s", got, fwd)
		}
		checkForward(t, n, op, value, fwd, dest, n.feeAddress(cfg))
		if c := d.Log.count("forward signed", nil); c != 1 {
			t.Errorf("%d forwards signed, want 1", c)
		}
		if c := d.Log.count("deposit spent", map[string]any{"outpoint": op.String()}); c != 2 {
			t.Errorf("forward's confirmation recorded %d times, want 2 (before and after the reorg)", c)
		}
	})
}

// TestReorgReplacesDeposit orphans the block of a forwarded deposit and
// double-spends the deposit's transaction before it is mined again: the old
// deposit vanishes, with its forward, and the replacement's deposit is
// forwarded. The merchant is paid once.
func TestReorgReplacesDeposit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n := startNode(t, "litecoin")
	cfg := nodeConfig(t, n, t.TempDir())
	d := startFerry(t, cfg)
	dest := newAddress(t, n)

	in := receive(t, d.URL, n.coin, dest, "")
	const value = 40_000_000
	op := pay(t, n, in.InputAddress, value)
	blk := mine(t, n, 1)[0]
	var fwd ferry.Hash
	waitFor(t, "forward", func() bool { fwd = spender(t, n, op); return !fwd.IsZero() })

	// Orphan the deposit; its forward, a child of it, stays in the
	// mempool with it. Replacing the deposit evicts the forward.
	if err := n.InvalidateBlock(ctx, blk); err != nil {
		t.Fatal(err)
	}
	replaced, err := n.ltc.Replace(ctx, op.Hash, in.InputAddress, value)
	if err != nil {
		t.Fatal(err)
	}
	newOp := outputTo(t, n, replaced, in.InputAddress)
	mine(t, n, 2)
	var fwd2 ferry.Hash
	waitFor(t, "forward of the replacement", func() bool { fwd2 = spender(t, n, newOp); return !fwd2.IsZero() })
	mine(t, n, 1)
	checkForward(t, n, newOp, value, fwd2, dest, n.feeAddress(cfg))
	if got, want := received(t, n, dest), int64(value-value/100-fallbackFee); got != want {
		t.Errorf("merchant received %d, want %d (paid once)", got, want)
	}
}
