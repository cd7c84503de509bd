// Package storetest opens real stores for tests, in temporary directories.
package storetest

import (
	"testing"

	"github.com/ferry-relay/ferry/store"
)

// Open opens a store in a new temporary directory, on the regtest network
// as the daemon's would be, closed at the end of the test.
func Open(tb testing.TB) *store.DB {
	tb.Helper()
	db := OpenBare(tb)
	if err := db.CheckNetwork("regtest"); err != nil {
		tb.Fatal(err)
	}
	return db
}

// OpenBare opens a store in a new temporary directory that has not
// recorded a network yet, closed at the end of the test.
func OpenBare(tb testing.TB) *store.DB {
	tb.Helper()
	db, err := store.Open(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}
