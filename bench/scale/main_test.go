package main

import (
	"context"
	"testing"

	"github.com/ferry-relay/ferry/bench/rig"
)

// TestTiny runs the benchmark at a tiny size, so that it cannot rot: the
// deposits to the first and the last address are forwarded and called
// back.
func TestTiny(t *testing.T) {
	r, err := run(context.Background(), config{ferry: rig.TestFerry(t), n: 300}, rig.TestWriter{TB: t})
	if err != nil {
		t.Fatal(err)
	}
	if r.storeBytes == 0 || r.rssSteady == 0 || r.forward[1] == 0 || r.called[1] == 0 {
		t.Errorf("measured %+v", r)
	}
}
