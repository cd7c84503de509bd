package store

import (
	"testing"
	"time"

	"github.com/syndtr/goleveldb/leveldb"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
)

// TestStoreWrittenBefore reads an address the way ferry recorded it
// before address records left their texts out and watched entries carried
// their index (a full record, a program entry, an empty watched entry),
// expires it and rolls the expiry back.
func TestStoreWrittenBefore(t *testing.T) {
	db, a := regtestAddress(t, "an-older-program-001", 3)
	a.Created, a.LastActivity = time.Unix(1600000000, 0).UTC(), time.Unix(1600000000, 0).UTC()
	b := new(leveldb.Batch)
	b.Put(key(tAddress, "ltc", u32(3)), a.encode())
	b.Put(key(tProgram, "ltc", a.Program[:]), u32(3))
	b.Put(key(tWatched, "ltc", a.Program[:]), nil)
	b.Put(expiryKey("ltc", a.LastActivity, 3), nil)
	if err := db.ldb.Write(b, syncWrite); err != nil {
		t.Fatal(err)
	}
	if err := db.Start("ltc", []BlockRef{{Height: 100, Hash: ferry.Hash{100}}}); err != nil {
		t.Fatal(err)
	}

	check := func(when string, watched bool) {
		t.Helper()
		got, err := db.AddressByProgram("ltc", a.Program[:])
		if err != nil || got.Index != 3 || got.Address != a.Address || got.Destination != a.Destination {
			t.Fatalf("%s: %+v, %v", when, got, err)
		}
		if w, _ := db.Watched("ltc", a.Program[:]); w != watched {
			t.Fatalf("%s: watched %v", when, w)
		}
	}
	check("older layout", true)
	if err := db.Apply(&Changes{Coin: "ltc", Height: 101, Hash: ferry.Hash{101}, Prev: ferry.Hash{100}, Now: time.Unix(1700000000, 0), Expire: []uint32{3}}); err != nil {
		t.Fatal(err)
	}
	check("expired", false)
	if _, err := db.Rollback("ltc"); err != nil {
		t.Fatal(err)
	}
	check("rolled back", true)
	// A block paying it rewrites its record in the compact layout.
	if err := db.Apply(&Changes{Coin: "ltc", Height: 101, Hash: ferry.Hash{101}, Prev: ferry.Hash{100}, Now: time.Unix(1700000000, 0),
		Deposits: []ferry.Deposit{{OutPoint: ferry.OutPoint{Index: 1}, AddrIndex: 3, Value: 1000, Height: 101}}}); err != nil {
		t.Fatal(err)
	}
	if v, _ := db.get(key(tAddress, "ltc", u32(3))); v[0] != addressCompact {
		t.Errorf("record rewritten in layout %d", v[0])
	}
	check("paid", true)
}

// TestCompactLayoutUsed checks that a store that knows its network writes
// real addresses in the compact layout, and smaller than the full one.
func TestCompactLayoutUsed(t *testing.T) {
	db, a := regtestAddress(t, "a-compact-program-01", 0)
	if err := db.PutAddress(a); err != nil {
		t.Fatal(err)
	}
	v, _ := db.get(key(tAddress, "ltc", u32(0)))
	if v[0] != addressCompact || len(v) >= len(a.encode())-80 {
		t.Errorf("record of %d bytes in layout %d; the full one takes %d", len(v), v[0], len(a.encode()))
	}
}

// regtestAddress opens a store of regtest addresses, closed at the test's
// end, and returns it with a Litecoin input address at index whose
// program is the 20 bytes of prog, forwarding to a fixed destination,
// created now; the store does not have it yet.
func regtestAddress(t *testing.T, prog string, index uint32) (*DB, *Address) {
	t.Helper()
	db, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.CheckNetwork("regtest"); err != nil {
		t.Fatal(err)
	}
	c, _ := chain.Litecoin(chain.Regtest)
	var p [20]byte
	copy(p[:], prog)
	in, _ := c.InputAddress(p)
	d, _ := c.ParseDestination("rltc1qqypqxpq9qcrsszg2pvxq6rs0zqg3yyc5l62ze4")
	return db, &Address{Coin: "ltc", Index: index, Program: p, Address: in.Address, Destination: d.Address, DestScript: d.Script, Created: time.Now()}
}

// TestBlockHeadFromRecord reads a block's hash and time from its block
// record, in a store written before head records were kept.
func TestBlockHeadFromRecord(t *testing.T) {
	db, _ := regtestAddress(t, "a-program-of-a-block", 0)
	when := time.Unix(1700000000, 0)
	undo := []undoEntry{{key: []byte("x"), present: true, value: []byte("y")}}
	if err := db.ldb.Put(key(tBlock, "ltc", u64(5)), encodeBlockRecord(ferry.Hash{5}, ferry.Hash{4}, when, undo), syncWrite); err != nil {
		t.Fatal(err)
	}
	if h, err := db.BlockHash("ltc", 5); err != nil || h != (ferry.Hash{5}) {
		t.Errorf("hash %v, %v", h, err)
	}
	if got, err := db.BlockTime("ltc", 5); err != nil || !got.Equal(when) {
		t.Errorf("time %v, %v", got, err)
	}
}
