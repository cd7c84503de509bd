package regtest

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// TestStartAgain: a node that exits at start is started again, in a fresh
// directory, at most startAttempts times; any other error ends it at once.
func TestStartAgain(t *testing.T) {
	for _, tt := range []struct {
		name    string
		fails   int   // exits at start before it starts
		other   error // returned instead of starting
		calls   int
		wantErr error
	}{
		{"starts", 0, nil, 1, nil},
		{"starts the third time", 2, nil, 3, nil},
		{"never starts", startAttempts, nil, startAttempts, ErrExitedAtStart},
		{"not installed", 0, ErrNotInstalled, 1, ErrNotInstalled},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dirs := map[string]bool{}
			n, err := startAgain(t, func(_ context.Context, dir string) (int, error) {
				dirs[dir] = true
				switch {
				case tt.other != nil:
					return 0, tt.other
				case len(dirs) <= tt.fails:
					return 0, fmt.Errorf("btcd %w: its log", ErrExitedAtStart)
				}
				return 42, nil
			})
			if len(dirs) != tt.calls || !errors.Is(err, tt.wantErr) || err == nil && n != 42 {
				t.Errorf("%d starts (want %d), %v (want %v), %d", len(dirs), tt.calls, err, tt.wantErr, n)
			}
		})
	}
}
