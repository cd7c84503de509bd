package regtest

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

// RequireEnv names the environment variable that turns a missing node binary
// from a skipped test into a failed one; make test sets it.
const RequireEnv = "FERRY_REQUIRE_NODES"

// NewLitecoind starts a litecoind for one test in a temporary directory and
// stops it at cleanup; one that exits at start is started again, with
// other ports (startAttempts). Without litecoind on PATH the test is
// skipped, or fails if RequireEnv is set.
func NewLitecoind(tb testing.TB) *Litecoind {
	tb.Helper()
	l, err := startAgain(tb, StartLitecoind)
	if errors.Is(err, ErrNotInstalled) && os.Getenv(RequireEnv) == "" {
		tb.Skip(err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Stop() })
	return l
}

// NewBtcd starts a btcd and btcwallet for one test in a temporary directory
// and stops them at cleanup; ones that exit at start are started again,
// with other ports (startAttempts). Without the binaries on PATH the test
// is skipped, or fails if RequireEnv is set.
func NewBtcd(tb testing.TB) *Btcd {
	tb.Helper()
	b, err := startAgain(tb, StartBtcd)
	if errors.Is(err, ErrNotInstalled) && os.Getenv(RequireEnv) == "" {
		tb.Skip(err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { b.Stop() })
	return b
}

// startAttempts bounds how often a test's node is started afresh after it
// exited at start.
const startAttempts = 3

// startAgain calls start in a fresh temporary directory (fresh ports)
// until the node does not exit at start, at most startAttempts times, each
// within two minutes.
func startAgain[N any](tb testing.TB, start func(context.Context, string) (N, error)) (N, error) {
	tb.Helper()
	var n N
	var err error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		n, err = start(ctx, tb.TempDir())
		cancel()
		if !errors.Is(err, ErrExitedAtStart) {
			return n, err
		}
		tb.Logf("attempt %d: %v", attempt, err)
	}
	return n, err
}
