package main

import (
	"context"
	"testing"

	"github.com/ferry-relay/ferry/bench/rig"
)

// TestTiny runs the benchmark at a tiny size, so that it cannot rot:
// ferry catches up and finds every deposit.
func TestTiny(t *testing.T) {
	cfg := config{ferry: rig.TestFerry(t), blocks: 5, txs: 10, outputs: 3, addresses: 4, every: 3, runs: 1}
	r, err := run(context.Background(), cfg, rig.TestWriter{TB: t})
	if err != nil {
		t.Fatal(err)
	}
	if r.paid == 0 || r.deposits != r.paid || len(r.ferry) != 1 {
		t.Errorf("%d paid, %d found, %d runs", r.paid, r.deposits, len(r.ferry))
	}
}
