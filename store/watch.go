package store

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/syndtr/goleveldb/leveldb/util"
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
	w.shards[s] = slices.Insert(grow(sh), i, r)
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

// LoadWatchSet builds the watch set of coin from the store. It reads the
// watched table in as many parts as there are processors, at once: each
// part's programs fall in shards of their own (a shard is picked by the
// first two bytes) and come in order, so each is appended to its shards
// without a lock and without a search.
func (db *DB) LoadWatchSet(coin string) (*WatchSet, error) {
	w := NewWatchSet()
	parts := min(runtime.GOMAXPROCS(0), 16)
	counts := make([]int, parts)
	errs := make([]error, parts)
	var wg sync.WaitGroup
	base := key(tWatched, coin)
	for p := range parts {
		wg.Go(func() {
			// Programs whose first byte is in [lo, hi).
			lo, hi := 256*p/parts, 256*(p+1)/parts
			r := &util.Range{Start: append(slices.Clip(base), byte(lo))}
			if hi < 256 {
				r.Limit = append(slices.Clip(base), byte(hi))
			} else {
				r.Limit = util.BytesPrefix(base).Limit
			}
			it := db.ldb.NewIterator(r, nil)
			defer it.Release()
			for it.Next() {
				prog := it.Key()[len(base):]
				if len(prog) < 6 {
					errs[p] = fmt.Errorf("watched %s/%x: %w", coin, prog, ErrCorrupt)
					return
				}
				w.load(prog)
				counts[p]++
			}
			errs[p] = it.Error()
		})
	}
	wg.Wait()
	for p := range parts {
		w.n += counts[p]
		if errs[p] != nil {
			return nil, errs[p]
		}
	}
	return w, nil
}

// load adds program to its shard while the set is built: the caller owns
// the shard, and its programs come in order.
func (w *WatchSet) load(program []byte) {
	s, r := fingerprint(program)
	sh := w.shards[s]
	if n := len(sh); n > 0 && sh[n-1] > r {
		i, _ := slices.BinarySearch(sh, r) // not in order after all: insert
		w.shards[s] = slices.Insert(grow(sh), i, r)
		return
	}
	w.shards[s] = append(grow(sh), r)
}

// grow makes room for one more entry: by an eighth rather than Go's
// doubling, since at ten million entries the set is mostly full slices,
// and slack is memory.
func grow(sh []uint32) []uint32 {
	if len(sh) < cap(sh) {
		return sh
	}
	grown := make([]uint32, len(sh), len(sh)+len(sh)/8+4)
	copy(grown, sh)
	return grown
}
