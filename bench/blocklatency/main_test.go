package main

import (
	"testing"

	"github.com/ferry-relay/ferry/bench/rig"
)

// TestTiny runs the benchmark at a tiny size, so that it cannot rot.
func TestTiny(t *testing.T) {
	lat, err := run(rig.TestFerry(t), 2, rig.TestWriter{TB: t})
	if err != nil {
		t.Fatal(err)
	}
	if len(lat) != 2 {
		t.Errorf("%d blocks timed", len(lat))
	}
}
