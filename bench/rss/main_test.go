package main

import (
	"os"
	"strings"
	"testing"

	"github.com/ferry-relay/ferry/bench/rig"
)

func TestMain(m *testing.M) {
	measureMapIfAsked()
	os.Exit(m.Run())
}

// TestTiny runs the benchmark at a tiny size, so that it cannot rot.
func TestTiny(t *testing.T) {
	var out strings.Builder
	if err := run(20000, &out); err != nil {
		t.Fatal(err)
	}
	rig.TestWriter{TB: t}.Write([]byte(out.String()))
	if !strings.Contains(out.String(), "store.WatchSet") || !strings.Contains(out.String(), "map[[20]byte]uint32") {
		t.Errorf("output:\n%s", out.String())
	}
}
