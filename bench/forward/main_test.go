package main

import (
	"context"
	"testing"

	"github.com/ferry-relay/ferry/bench/rig"
)

// TestTiny runs the benchmark at a tiny size, so that it cannot rot.
func TestTiny(t *testing.T) {
	r, err := run(context.Background(), config{ferry: rig.TestFerry(t), n: 20}, rig.TestWriter{TB: t})
	if err != nil {
		t.Fatal(err)
	}
	if r.forwarded == 0 || r.node == 0 {
		t.Errorf("measured %+v", r)
	}
}
