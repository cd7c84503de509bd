package store_test

import (
	"crypto/rand"
	"encoding/binary"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/ferry-relay/ferry/store"
)

func randomPrograms(n int) [][]byte {
	buf := make([]byte, 20*n)
	rand.Read(buf)
	ps := make([][]byte, n)
	for i := range ps {
		ps[i] = buf[20*i : 20*i+20]
	}
	return ps
}

func TestWatchSet(t *testing.T) {
	w := store.NewWatchSet()
	in := randomPrograms(50_000)
	out := randomPrograms(50_000)
	for _, p := range in {
		w.Add(p)
	}
	if w.Len() != len(in) {
		t.Fatalf("Len = %d", w.Len())
	}
	for _, p := range in {
		if !w.MayContain(p) {
			t.Fatalf("added program %x not found", p)
		}
	}
	fp := 0
	for _, p := range out {
		if w.MayContain(p) {
			fp++
		}
	}
	// Expected false positives: 50000 × 50000 / 2^48, about 1e-5.
	if fp > 1 {
		t.Errorf("%d false positives in 50000 lookups", fp)
	}

	// Programs that share a fingerprint (their first 6 bytes) are counted
	// apart: removing one keeps the other.
	a := append([]byte{1, 2, 3, 4, 5, 6}, make([]byte, 14)...)
	b := append([]byte{1, 2, 3, 4, 5, 6}, bytesOf(14, 0xff)...)
	w.Add(a)
	w.Add(b)
	if !w.Remove(a) || !w.MayContain(b) {
		t.Fatal("removing one of two programs with one fingerprint lost the other")
	}
	if !w.Remove(b) || w.MayContain(a) || w.Remove(a) {
		t.Fatal("fingerprint still present after both were removed")
	}
	for _, p := range in[:1000] {
		if !w.Remove(p) {
			t.Fatalf("Remove(%x) = false", p)
		}
	}
	if w.Len() != len(in)-1000 {
		t.Errorf("Len = %d after removals", w.Len())
	}
}

func bytesOf(n int, v byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = v
	}
	return b
}

// watched lists the sizes BenchmarkWatchSetLookup runs at: make test runs
// it small.
var watched = flag.String("watched", "1000000,10000000", "watch set sizes of BenchmarkWatchSetLookup, comma-separated")

// BenchmarkWatchSetLookup measures a lookup that misses, the common case
// when scanning a block, at 1M and 10M watched programs (-watched).
func BenchmarkWatchSetLookup(b *testing.B) {
	for _, f := range strings.Split(*watched, ",") {
		n, err := strconv.Atoi(f)
		if err != nil {
			b.Fatalf("-watched: %v", err)
		}
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			w := filledWatchSet(n)
			probes := randomPrograms(4096)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				w.MayContain(probes[i&4095])
			}
		})
	}
}

// filledWatchSet returns a set of n pseudo-random programs, built without
// keeping the programs themselves.
func filledWatchSet(n int) *store.WatchSet {
	w := store.NewWatchSet()
	var p [20]byte
	for i := range n {
		binary.BigEndian.PutUint64(p[:], uint64(i)*0x9E3779B97F4A7C15)
		binary.BigEndian.PutUint64(p[8:], uint64(i))
		w.Add(p[:])
	}
	return w
}
