package main

import (
	"testing"

	"github.com/ferry-relay/ferry"
)

// TestKillAndRestart kills ferry with SIGKILL the moment it logs a deposit,
// and again the moment it logs the forward's broadcast. After each restart
// the deposit is picked up where it was left: exactly one forward is ever
// signed, and the merchant is paid once.
func TestKillAndRestart(t *testing.T) {
	forEachCoin(t, func(t *testing.T, n *node) {
		cfg := nodeConfig(t, n, t.TempDir())
		cfg.ForwardConfirmations = 2
		dest := newAddress(t, n)

		// Killed right after the deposit is detected (1 confirmation of 2).
		p := startProcess(t, cfg, "deposit detected")
		in := receive(t, p.URL, n.coin, dest, "")
		const value = 12_345_678
		op := pay(t, n, in.InputAddress, value)
		mine(t, n, 1)
		p.Wait()
		if p.Log.count("deposit detected", map[string]any{"outpoint": op.String()}) != 1 {
			t.Fatal("not killed at the deposit")
		}

		// Restarted, the second confirmation brings the forward; killed
		// right after its broadcast.
		p = startProcess(t, cfg, "forward broadcast")
		waitScanned(t, n, p.URL)
		mine(t, n, 1)
		p.Wait()
		signed := p.Log.find("forward signed", map[string]any{"outpoint": op.String()})
		if signed == nil || p.Log.count("forward broadcast", nil) != 1 {
			t.Fatal("not killed at the broadcast")
		}
		fwd, err := ferry.ParseHash(signed["txid"].(string))
		if err != nil {
			t.Fatal(err)
		}

		// Restarted once more: the recorded forward is broadcast again,
		// never rebuilt, and confirms.
		p = startProcess(t, cfg, "")
		waitScanned(t, n, p.URL)
		mine(t, n, 1)
		waitScanned(t, n, p.URL)
		if c := p.Log.count("forward signed", nil); c != 0 {
			t.Errorf("the restarted ferry signed %d new forwards", c)
		}
		if got := spender(t, n, op); got != fwd {
			t.Fatalf("deposit spent by %s, want the recorded forward %s", got, fwd)
		}
		checkForward(t, n, op, value, fwd, dest, n.feeAddress(cfg))
		if got, want := received(t, n, dest), int64(value-value/100-fallbackFee); got != want {
			t.Errorf("merchant received %d, want %d", got, want)
		}
	})
}

// TestKillDuringForwards kills ferry in the middle of forwarding a batch of
// deposits, three times, at the first forward each run signs or
// broadcasts. Across all runs each deposit is signed for at most once and
// forwarded once.
func TestKillDuringForwards(t *testing.T) {
	forEachCoin(t, func(t *testing.T, n *node) {
		cfg := nodeConfig(t, n, t.TempDir())
		dest := newAddress(t, n)

		p := startProcess(t, cfg, "forward signed")
		var ops []ferry.OutPoint
		for i := range 12 {
			in := receive(t, p.URL, n.coin, dest, "")
			ops = append(ops, pay(t, n, in.InputAddress, int64(2_000_000+i*100_000)))
		}
		mine(t, n, 1)
		runs := []*process{p}
		for _, killOn := range []string{"forward broadcast", "forward signed", ""} {
			p.Wait()
			p = startProcess(t, cfg, killOn)
			runs = append(runs, p)
		}
		waitScanned(t, n, p.URL)

		fwds := map[ferry.OutPoint]ferry.Hash{}
		waitFor(t, "every forward", func() bool {
			for _, op := range ops {
				if h := spender(t, n, op); !h.IsZero() {
					fwds[op] = h
				}
			}
			return len(fwds) == len(ops)
		})
		mine(t, n, 1)
		var want int64
		for i, op := range ops {
			v := int64(2_000_000 + i*100_000)
			checkForward(t, n, op, v, fwds[op], dest, n.feeAddress(cfg))
			want += v - v/100 - fallbackFee
			// A kill can land between a forward's record and its log line,
			// so a forward may go unlogged; none may be logged twice, and a
			// logged one is the one on chain.
			signed := 0
			for _, r := range runs {
				if line := r.Log.find("forward signed", map[string]any{"outpoint": op.String()}); line != nil {
					signed++
					if line["txid"] != fwds[op].String() {
						t.Errorf("deposit %d: forward %s signed, %s on chain", i, line["txid"], fwds[op])
					}
				}
			}
			if signed > 1 {
				t.Errorf("deposit %d signed for in %d runs", i, signed)
			}
		}
		if got := received(t, n, dest); got != want {
			t.Errorf("merchant received %d, want %d", got, want)
		}
		// The first run was killed mid-batch: it forwarded some, not all.
		if c := runs[0].Log.count("forward signed", nil); c == 0 || c == len(ops) {
			t.Logf("first run signed %d of %d forwards before it was killed", c, len(ops))
		}
	})
}
