package store

import (
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"github.com/syndtr/goleveldb/leveldb"
)

// TestLoadWatchSet checks the set read from the store in parts against the
// set built by Add, over programs that fill many shards of every part,
// some sharing a shard and some a fingerprint, with watched entries of
// both layouts (with an index and empty).
func TestLoadWatchSet(t *testing.T) {
	db, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := NewWatchSet()
	b := new(leveldb.Batch)
	for i := range 20000 {
		var p [20]byte
		binary.BigEndian.PutUint64(p[:], uint64(i)*0x9E3779B97F4A7C15)
		if i%7 == 0 {
			p[2] = 0 // more in one shard
		}
		if i%1000 == 1 {
			binary.BigEndian.PutUint64(p[:], uint64(i-1)*0x9E3779B97F4A7C15) // same fingerprint as i-1
			p[19] = 1
		}
		v := u32(uint32(i))
		if i%2 == 0 {
			v = nil
		}
		b.Put(key(tWatched, "ltc", p[:]), v)
		b.Put(key(tWatched, "btc", p[:4]), nil) // another coin's, not read
		want.Add(p[:])
	}
	if err := db.ldb.Write(b, nil); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	got, err := db.LoadWatchSet("ltc")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded in %v", time.Since(start))
	if got.Len() != want.Len() {
		t.Fatalf("%d entries, want %d", got.Len(), want.Len())
	}
	for s := range want.shards {
		if !slices.Equal(got.shards[s], want.shards[s]) {
			t.Fatalf("shard %d: %v, want %v", s, got.shards[s], want.shards[s])
		}
	}
}
