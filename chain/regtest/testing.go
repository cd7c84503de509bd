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
// stops it at cleanup. Without litecoind on PATH the test is skipped, or
// fails if RequireEnv is set.
func NewLitecoind(tb testing.TB) *Litecoind {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l, err := StartLitecoind(ctx, tb.TempDir())
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
// and stops them at cleanup. Without the binaries on PATH the test is
// skipped, or fails if RequireEnv is set.
func NewBtcd(tb testing.TB) *Btcd {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, err := StartBtcd(ctx, tb.TempDir())
	if errors.Is(err, ErrNotInstalled) && os.Getenv(RequireEnv) == "" {
		tb.Skip(err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { b.Stop() })
	return b
}
