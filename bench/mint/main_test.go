package main

import (
	"context"
	"os"
	"testing"

	"github.com/ferry-relay/ferry/bench/rig"
)

func TestMain(m *testing.M) {
	rig.ServeBareIfAsked()
	os.Exit(m.Run())
}

// TestTiny runs the benchmark at a tiny size, so that it cannot rot.
func TestTiny(t *testing.T) {
	r, err := run(context.Background(), config{ferry: rig.TestFerry(t), n: 100, clients: 8, runs: 1, drain: 50}, rig.TestWriter{TB: t})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.bare) != 1 || len(r.ferry) != 1 || r.minted != 1+10+100+50+100 {
		t.Errorf("%d bare runs, %d ferry runs, %d addresses minted", len(r.bare), len(r.ferry), r.minted)
	}
}
