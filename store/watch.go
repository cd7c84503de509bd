package store

import (
	"encoding/binary"
	"slices"
	"sync"
)

// WatchSet is the in-memory set of the witness programs (20-byte hash160s)
// of the input addresses the scanner watches, built to hold ten million of
// them in about 45 MB.
//
// It keeps a 48-bit fingerprint of each program: the first two bytes pick
// one of 65536 shards, and the next four are kept in that shard's sorted
// slice. A lookup is one binary search over about n/65536 entries. Since
// only fingerprints are kept, MayContain can answer true for a program that
// was never added (about n/2^48 of lookups: one in 28 million with ten
// million watched); the caller confirms a hit against the store. It never
// answers false for a program that was added.
//
// A WatchSet is safe for concurrent use.
type WatchSet struct {
	mu     sync.RWMutex
	n      int
	shards [1 << 16][]uint32
}

// NewWatchSet returns an empty set.
func NewWatchSet() *WatchSet { return &WatchSet{} }

func fingerprint(program []byte) (shard uint16, rest uint32) {
	return binary.BigEndian.Uint16(program), binary.BigEndian.Uint32(program[2:])
}

// Add adds program, at least 6 bytes long. Adding a program twice keeps two
// entries, so that Remove undoes exactly one Add.
func (w *WatchSet) Add(program []byte) {
	s, r := fingerprint(program)
	w.mu.Lock()
	defer w.mu.Unlock()
	sh := w.shards[s]
	i, _ := slices.BinarySearch(sh, r)
	if len(sh) == cap(sh) {
		// Grow by an eighth rather than Go's doubling: at ten million
		// entries the set is mostly full slices, and slack is memory.
		// (slices.Grow would double: it grows through append.)
		grown := make([]uint32, len(sh), len(sh)+len(sh)/8+4)
		copy(grown, sh)
		sh = grown
	}
	w.shards[s] = slices.Insert(sh, i, r)
	w.n++
}

// Remove removes one entry for program and reports whether there was one.
func (w *WatchSet) Remove(program []byte) bool {
	s, r := fingerprint(program)
	w.mu.Lock()
	defer w.mu.Unlock()
	sh := w.shards[s]
	i, ok := slices.BinarySearch(sh, r)
	if !ok {
		return false
	}
	w.shards[s] = slices.Delete(sh, i, i+1)
	w.n--
	return true
}

// MayContain reports whether program may be in the set: always true if it
// was added, and false positives are rare (see WatchSet).
func (w *WatchSet) MayContain(program []byte) bool {
	s, r := fingerprint(program)
	w.mu.RLock()
	_, ok := slices.BinarySearch(w.shards[s], r)
	w.mu.RUnlock()
	return ok
}

// Len returns the number of entries.
func (w *WatchSet) Len() int {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.n
}

// LoadWatchSet builds the watch set of coin from the store.
func (db *DB) LoadWatchSet(coin string) (*WatchSet, error) {
	w := NewWatchSet()
	err := db.ForEachWatched(coin, func(p []byte) error {
		w.Add(p)
		return nil
	})
	return w, err
}
