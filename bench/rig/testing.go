package rig

import (
	"os"
	"os/exec"
	"testing"

	"github.com/ferry-relay/ferry/chain/regtest"
)

// TestFerry returns a ferry binary built for a test of a benchmark
// program at a tiny size. Without litecoind on PATH the test is skipped,
// or fails if regtest.RequireEnv is set.
func TestFerry(tb testing.TB) string {
	tb.Helper()
	if _, err := exec.LookPath("litecoind"); err != nil {
		if os.Getenv(regtest.RequireEnv) == "" {
			tb.Skip("litecoind not installed")
		}
		tb.Fatal("litecoind not installed")
	}
	bin, err := BuildFerry(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	return bin
}

// TestWriter writes a test's output to its log.
type TestWriter struct{ TB testing.TB }

// Write logs p as one line of the test's log; it never fails.
func (w TestWriter) Write(p []byte) (int, error) {
	w.TB.Helper()
	w.TB.Logf("%s", p)
	return len(p), nil
}
