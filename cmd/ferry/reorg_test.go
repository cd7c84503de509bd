package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/ferry-relay/ferry/chain"
)

// TestReorgBeforeForward orphans the block holding a deposit, 1 to 3 blocks
// deep, before it has the confirmations to be forwarded. The deposit is
// rolled back, found again in its new block, and forwarded once.
func TestReorgBeforeForward(t *testing.T) {
	t.Parallel()
	for _, depth := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("depth=%d", depth), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			l := startLitecoind(t)
			cfg := ltcConfig(t, l, t.TempDir())
			cfg.ForwardConfirmations = 4
			d := startFerry(t, cfg)
			dest := newAddress(t, l)

			in := receive(t, d.URL, "litecoin", dest, "")
			const value = 20_000_000
			op := pay(t, l, in.InputAddress, value)
			orphaned := mine(t, l, depth)
			waitScanned(t, l, d.URL)
			if d.Log.count("deposit detected", map[string]any{"outpoint": op.String()}) != 1 {
				t.Fatal("deposit not detected")
			}

			// Orphan the deposit's block and the ones after it; the
			// deposit returns to the mempool and is mined again, on a
			// longer chain.
			if err := l.InvalidateBlock(ctx, orphaned[0]); err != nil {
				t.Fatal(err)
			}
			mine(t, l, depth+1)
			waitScanned(t, l, d.URL)
			if n := d.Log.count("reorg: rolled back block", nil); n != depth {
				t.Errorf("%d blocks rolled back, want %d", n, depth)
			}
			if n := d.Log.count("deposit detected", map[string]any{"outpoint": op.String()}); n != 2 {
				t.Fatalf("deposit detected %d times, want 2 (before and after the reorg)", n)
			}

			// Confirmations count from the new block.
			if h := spender(t, l, op); !h.IsZero() {
				if depth+1 < 4 {
					t.Fatalf("forwarded at %d confirmations", depth+1)
				}
			}
			mine(t, l, 4-min(depth+1, 4)+1)
			var fwd chain.Hash
			waitFor(t, "forward", func() bool { fwd = spender(t, l, op); return !fwd.IsZero() })
			mine(t, l, 1)
			checkForward(t, l, op, value, fwd, dest, cfg.LTCFeeAddress)
			if n := d.Log.count("forward signed", nil); n != 1 {
				t.Errorf("%d forwards signed, want 1", n)
			}
		})
	}
}

// TestReorgAfterForward orphans the block that confirmed a forward. The
// deposit is open again, the same forward is broadcast again (never a new
// one), and it confirms on the new chain.
func TestReorgAfterForward(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := startLitecoind(t)
	cfg := ltcConfig(t, l, t.TempDir())
	d := startFerry(t, cfg)
	dest := newAddress(t, l)

	in := receive(t, d.URL, "litecoin", dest, "")
	const value = 30_000_000
	op := pay(t, l, in.InputAddress, value)
	mine(t, l, 1)
	var fwd chain.Hash
	waitFor(t, "forward", func() bool { fwd = spender(t, l, op); return !fwd.IsZero() })
	confirmed := mine(t, l, 1)[0]
	waitScanned(t, l, d.URL)
	if d.Log.count("deposit spent", map[string]any{"outpoint": op.String(), "spent_by": fwd.String()}) != 1 {
		t.Fatal("forward's confirmation not recorded")
	}

	if err := l.InvalidateBlock(ctx, confirmed); err != nil {
		t.Fatal(err)
	}
	mine(t, l, 2)
	waitScanned(t, l, d.URL)
	mine(t, l, 1)
	waitScanned(t, l, d.URL)
	if got := spender(t, l, op); got != fwd {
		t.Fatalf("deposit spent by %s after the reorg, want the forward %s", got, fwd)
	}
	checkForward(t, l, op, value, fwd, dest, cfg.LTCFeeAddress)
	if n := d.Log.count("forward signed", nil); n != 1 {
		t.Errorf("%d forwards signed, want 1", n)
	}
	if n := d.Log.count("deposit spent", map[string]any{"outpoint": op.String()}); n != 2 {
		t.Errorf("forward's confirmation recorded %d times, want 2 (before and after the reorg)", n)
	}
}

// TestReorgReplacesDeposit orphans the block of a forwarded deposit and
// double-spends the deposit's transaction before it is mined again: the old
// deposit vanishes, with its forward, and the replacement's deposit is
// forwarded. The merchant is paid once.
func TestReorgReplacesDeposit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := startLitecoind(t)
	cfg := ltcConfig(t, l, t.TempDir())
	d := startFerry(t, cfg)
	dest := newAddress(t, l)

	in := receive(t, d.URL, "litecoin", dest, "")
	const value = 40_000_000
	op := pay(t, l, in.InputAddress, value)
	blk := mine(t, l, 1)[0]
	var fwd chain.Hash
	waitFor(t, "forward", func() bool { fwd = spender(t, l, op); return !fwd.IsZero() })

	// Orphan the deposit; its forward, a child of it, stays in the
	// mempool with it. Replacing the deposit evicts the forward.
	if err := l.InvalidateBlock(ctx, blk); err != nil {
		t.Fatal(err)
	}
	replaced, err := l.Replace(ctx, op.Hash, in.InputAddress, value)
	if err != nil {
		t.Fatal(err)
	}
	newOp := outputTo(t, l, replaced, in.InputAddress)
	mine(t, l, 2)
	var fwd2 chain.Hash
	waitFor(t, "forward of the replacement", func() bool { fwd2 = spender(t, l, newOp); return !fwd2.IsZero() })
	mine(t, l, 1)
	checkForward(t, l, newOp, value, fwd2, dest, cfg.LTCFeeAddress)
	if got, want := received(t, l, dest), int64(value-value/100-fallbackFee); got != want {
		t.Errorf("merchant received %d, want %d (paid once)", got, want)
	}
}
