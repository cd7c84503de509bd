package store_test

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/store"
	"github.com/ferry-relay/ferry/store/storetest"
)

// MustOpen is storetest.Open.
var MustOpen = storetest.Open

// hashOf returns a distinct 32-byte hash for n.
func hashOf(n int64) ferry.Hash {
	return ferry.Hash(sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(n))))
}

// chainBlock returns a block at height with deposits of the given values, on
// a chain whose block hashes are hashOf(height+salt).
func chainBlock(coin string, height, salt int64, values ...ferry.Amount) *store.Changes {
	b := &store.Changes{Coin: coin, Height: height, Hash: hashOf(height + salt), Prev: hashOf(height - 1 + salt), Time: time.Unix(1700000000+height, 0)}
	if height-1 == 100 {
		b.Prev = hashOf(100) // the start block is shared by every chain
	}
	for i, v := range values {
		b.Deposits = append(b.Deposits, ferry.Deposit{
			OutPoint:  ferry.OutPoint{Hash: hashOf(height*1000 + salt + int64(i)), Index: uint32(i)},
			AddrIndex: uint32(i),
			Value:     v,
			Height:    height,
			BlockHash: b.Hash,
		})
	}
	return b
}

// mustStart sets coin's cursor at block 100 and mints addresses 0 and 1,
// which chainBlock's deposits pay.
func mustStart(t testing.TB, db *store.DB, coin string) {
	t.Helper()
	if err := db.Start(coin, []store.BlockRef{{Height: 100, Hash: hashOf(100), Prev: hashOf(99)}}); err != nil {
		t.Fatal(err)
	}
	for i := uint32(0); i < 2; i++ {
		a := &store.Address{Coin: coin, Index: i, Created: time.Unix(1600000000, 0)}
		h := hashOf(int64(i) + 1e9)
		copy(a.Program[:], h[:20])
		if err := db.PutAddress(a); err != nil {
			t.Fatal(err)
		}
	}
}

func TestApplyAndRollback(t *testing.T) {
	db := MustOpen(t)
	mustStart(t, db, "ltc")

	b101 := chainBlock("ltc", 101, 0, 5000, 7000)
	if err := db.Apply(b101); err != nil {
		t.Fatal(err)
	}
	// Block 102 spends the first deposit of 101, and pays a deposit that
	// block 102 itself spends.
	b102 := chainBlock("ltc", 102, 0, 9000)
	b102.Spends = []store.Spend{
		{OutPoint: b101.Deposits[0].OutPoint, TxID: hashOf(555)},
		{OutPoint: b102.Deposits[0].OutPoint, TxID: hashOf(556)},
	}
	if err := db.Apply(b102); err != nil {
		t.Fatal(err)
	}

	open, err := db.OpenDeposits("ltc")
	if err != nil || len(open) != 1 || open[0].OutPoint != b101.Deposits[1].OutPoint {
		t.Fatalf("open deposits after 102: %v, %v", open, err)
	}
	d, err := db.Deposit("ltc", b101.Deposits[0].OutPoint)
	if err != nil || !d.Spent() || d.SpentBy != hashOf(555) || d.SpentHeight != 102 || d.Value != 5000 || !d.Time.Equal(b101.Time) {
		t.Fatalf("spent deposit: %+v, %v", d, err)
	}
	if ds, _ := db.DepositsOf("ltc", 0); len(ds) != 2 {
		t.Errorf("address 0 has %d deposits, want 2", len(ds))
	}

	// A block that does not extend the cursor changes nothing.
	if err := db.Apply(chainBlock("ltc", 102, 7, 1)); !errors.Is(err, store.ErrCursorMismatch) {
		t.Fatalf("stale block: %v", err)
	}

	// Roll back 102: the spend is undone and 102's deposit is gone.
	undo, err := db.Rollback("ltc")
	if err != nil || undo.Cursor.Height != 101 || undo.Cursor.Hash != b101.Hash {
		t.Fatalf("rollback = %+v, %v", undo, err)
	}
	open, _ = db.OpenDeposits("ltc")
	if len(open) != 2 {
		t.Fatalf("after rollback of 102: %d open deposits, want 2", len(open))
	}
	if d, _ := db.Deposit("ltc", b101.Deposits[0].OutPoint); d.Spent() {
		t.Error("rollback left the spend")
	}
	if _, err := db.Deposit("ltc", b102.Deposits[0].OutPoint); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("rollback left block 102's deposit: %v", err)
	}

	// Roll back 101 and the start block; then there is nothing to undo.
	if _, err := db.Rollback("ltc"); err != nil {
		t.Fatal(err)
	}
	if ds, _ := db.DepositsOf("ltc", 0); len(ds) != 0 {
		t.Errorf("after rollback of 101: %d deposits", len(ds))
	}
	if undo, err := db.Rollback("ltc"); err != nil || undo.Cursor.Height != 99 {
		t.Fatalf("rollback of the start block = %+v, %v", undo, err)
	}
	if _, err := db.Rollback("ltc"); !errors.Is(err, store.ErrNoUndo) {
		t.Fatalf("rollback past the start: %v", err)
	}
}

func TestRollbackRestoresEveryRecord(t *testing.T) {
	db := MustOpen(t)
	mustStart(t, db, "ltc")
	for h := int64(101); h <= 110; h++ {
		b := chainBlock("ltc", h, 0, ferry.Amount(h*10), ferry.Amount(h*10+1))
		if h > 101 {
			// Each block spends a deposit of the one before.
			prev := chainBlock("ltc", h-1, 0, 0, 0)
			b.Spends = []store.Spend{{OutPoint: prev.Deposits[h%2].OutPoint, TxID: hashOf(-h)}}
		}
		if err := db.Apply(b); err != nil {
			t.Fatal(err)
		}
	}
	snapshot := func() map[ferry.OutPoint]ferry.Deposit {
		m := map[ferry.OutPoint]ferry.Deposit{}
		for i := uint32(0); i < 2; i++ {
			ds, err := db.DepositsOf("ltc", i)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range ds {
				m[d.OutPoint] = *d
			}
		}
		return m
	}
	before := snapshot()
	openBefore, _ := db.OpenDeposits("ltc")

	// A reorg of four blocks onto another branch, then back.
	for range 4 {
		if _, err := db.Rollback("ltc"); err != nil {
			t.Fatal(err)
		}
	}
	for h := int64(107); h <= 109; h++ {
		b := chainBlock("ltc", h, 1_000_000, 1)
		if h == 107 {
			b.Prev = hashOf(106) // the other branch forks after 106
		}
		if err := db.Apply(b); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		if _, err := db.Rollback("ltc"); err != nil {
			t.Fatal(err)
		}
	}
	for h := int64(107); h <= 110; h++ {
		b := chainBlock("ltc", h, 0, ferry.Amount(h*10), ferry.Amount(h*10+1))
		prev := chainBlock("ltc", h-1, 0, 0, 0)
		b.Spends = []store.Spend{{OutPoint: prev.Deposits[h%2].OutPoint, TxID: hashOf(-h)}}
		if err := db.Apply(b); err != nil {
			t.Fatal(err)
		}
	}
	after := snapshot()
	openAfter, _ := db.OpenDeposits("ltc")
	if len(after) != len(before) || len(openAfter) != len(openBefore) {
		t.Fatalf("%d deposits (%d open) after the reorg, %d (%d) before", len(after), len(openAfter), len(before), len(openBefore))
	}
	for op, d := range before {
		if after[op] != d {
			t.Errorf("deposit %x: %+v, before %+v", op.Hash[:4], after[op], d)
		}
	}
}

func TestUndoDepth(t *testing.T) {
	db := MustOpen(t)
	mustStart(t, db, "btc")
	last := int64(100 + store.DefaultUndoDepth + 10)
	for h := int64(101); h <= last; h++ {
		if err := db.Apply(chainBlock("btc", h, 0)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.BlockHash("btc", last-store.DefaultUndoDepth); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("block %d is kept past the undo depth: %v", last-store.DefaultUndoDepth, err)
	}
	for range store.DefaultUndoDepth {
		if _, err := db.Rollback("btc"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Rollback("btc"); !errors.Is(err, store.ErrNoUndo) {
		t.Fatalf("rollback %d blocks deep: %v", store.DefaultUndoDepth+1, err)
	}
}

func TestCoinsAreSeparate(t *testing.T) {
	db := MustOpen(t)
	mustStart(t, db, "ltc")
	mustStart(t, db, "btc")
	if err := db.Apply(chainBlock("ltc", 101, 0, 1, 2)); err != nil {
		t.Fatal(err)
	}
	if open, _ := db.OpenDeposits("btc"); len(open) != 0 {
		t.Errorf("btc sees %d litecoin deposits", len(open))
	}
	if cur, _ := db.Cursor("btc"); cur.Height != 100 {
		t.Errorf("btc cursor moved to %d", cur.Height)
	}
}

func TestAddresses(t *testing.T) {
	db := MustOpen(t)
	if n, err := db.NextIndex("ltc"); err != nil || n != 0 {
		t.Fatalf("NextIndex of an empty store = %d, %v", n, err)
	}
	a := &store.Address{Coin: "ltc", Index: 41, Address: "rltc1q…", Destination: "ltc1qdest", DestScript: []byte{0, 20, 1},
		Callback: "https://shop.example/cb?secret=s", CallbackReq: true, Created: time.Unix(1700000000, 5).UTC()}
	a.Program[0], a.Program[19] = 7, 9
	if err := db.PutAddress(a); err != nil {
		t.Fatal(err)
	}
	if err := db.PutAddress(&store.Address{Coin: "btc", Index: 99}); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.NextIndex("ltc"); n != 42 {
		t.Errorf("NextIndex = %d, want 42", n)
	}
	got, err := db.AddressByProgram("ltc", a.Program[:])
	if err != nil {
		t.Fatal(err)
	}
	if got.Address != a.Address || got.Destination != a.Destination || string(got.DestScript) != string(a.DestScript) ||
		got.Callback != a.Callback || !got.CallbackReq || !got.Created.Equal(a.Created) || got.Program != a.Program {
		t.Errorf("read back %+v, wrote %+v", got, a)
	}
	if _, err := db.AddressByProgram("btc", a.Program[:]); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("litecoin program found on bitcoin: %v", err)
	}
	w, err := db.LoadWatchSet("ltc")
	if err != nil || w.Len() != 1 || !w.MayContain(a.Program[:]) {
		t.Errorf("watch set: %d entries, %v", w.Len(), err)
	}
}

func TestForwards(t *testing.T) {
	db := MustOpen(t)
	op := ferry.OutPoint{Hash: hashOf(1), Index: 3}
	if _, err := db.Forward("ltc", op); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Forward before Put: %v", err)
	}
	f := &store.Forward{
		Forward:   ferry.Forward{TxID: hashOf(2), Value: 1_000_000, ServiceFee: 10_000, NetworkFee: 141, Forwarded: 989_859, FeeRate: 1000, Created: time.Unix(1, 0).UTC()},
		Coin:      "ltc",
		OutPoint:  op,
		Raw:       []byte{1, 2, 3},
		Attempts:  2,
		LastError: "min relay fee not met",
		Accepted:  true,
	}
	if err := db.PutForward(f); err != nil {
		t.Fatal(err)
	}
	got, err := db.Forward("ltc", op)
	if err != nil {
		t.Fatal(err)
	}
	if got.TxID != f.TxID || string(got.Raw) != string(f.Raw) || got.Forwarded != f.Forwarded || got.LastError != f.LastError ||
		!got.Accepted || got.Attempts != 2 || got.Value+0 != f.ServiceFee+f.NetworkFee+f.Forwarded {
		t.Errorf("read back %+v", got)
	}
}

func TestCheckSeed(t *testing.T) {
	db := MustOpen(t)
	if err := db.CheckSeed([]byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := db.CheckSeed([]byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := db.CheckSeed([]byte("two")); !errors.Is(err, store.ErrSeedMismatch) {
		t.Fatalf("other seed: %v", err)
	}
}

// TestStartRecordsTheBlocksBelow starts a coin with the six blocks below
// its first scan recorded: a reorg right after the first start rolls back
// through them like through any scanned block, down to the first of them.
func TestStartRecordsTheBlocksBelow(t *testing.T) {
	db := MustOpen(t)
	var refs []store.BlockRef
	for h := int64(95); h <= 100; h++ {
		refs = append(refs, store.BlockRef{Height: h, Hash: hashOf(h), Prev: hashOf(h - 1)})
	}
	if err := db.Start("ltc", refs[:2:2]); err != nil {
		t.Fatal(err)
	}
	if err := db.Start("ltc", refs); err == nil {
		t.Fatal("a second start was accepted")
	}
	db = MustOpen(t)
	gap := append(append([]store.BlockRef{}, refs[:2]...), refs[3:]...)
	if err := db.Start("ltc", gap); err == nil {
		t.Fatal("blocks that are not consecutive were accepted")
	}
	if err := db.Start("ltc", refs); err != nil {
		t.Fatal(err)
	}
	if cur, err := db.Cursor("ltc"); err != nil || cur.Height != 100 || cur.Hash != hashOf(100) {
		t.Fatalf("cursor %+v, %v", cur, err)
	}
	if h, err := db.BlockHash("ltc", 97); err != nil || h != hashOf(97) {
		t.Errorf("block 97 recorded as %v, %v", h, err)
	}
	// Six rollbacks reach block 94, the parent of the first recorded.
	for want := int64(99); want >= 94; want-- {
		undo, err := db.Rollback("ltc")
		if err != nil || undo.Cursor.Height != want || undo.Cursor.Hash != hashOf(want) {
			t.Fatalf("rollback to %d: %+v, %v", want, undo, err)
		}
	}
	if _, err := db.Rollback("ltc"); !errors.Is(err, store.ErrNoUndo) {
		t.Errorf("a rollback past the recorded blocks: %v", err)
	}
}

// TestFirstIndex: a store rebuilt around a seed hands out no index below
// the first index it is given, and the first index never goes down.
func TestFirstIndex(t *testing.T) {
	db := MustOpen(t)
	if fresh, err := db.Fresh(); err != nil || !fresh {
		t.Fatalf("new store: fresh %v, %v", fresh, err)
	}
	if err := db.CheckSeed([]byte("fp")); err != nil {
		t.Fatal(err)
	}
	if fresh, _ := db.Fresh(); fresh {
		t.Fatal("a store with a seed is fresh")
	}
	if err := db.SetFirstIndex("ltc", 500); err != nil {
		t.Fatal(err)
	}
	if err := db.SetFirstIndex("ltc", 200); err != nil {
		t.Fatal(err)
	}
	if n, err := db.NextIndex("ltc"); err != nil || n != 500 {
		t.Errorf("NextIndex = %d, %v; want 500", n, err)
	}
	if n, _ := db.NextIndex("btc"); n != 0 {
		t.Errorf("the first index of ltc moved btc's to %d", n)
	}
	if err := db.PutAddress(&store.Address{Coin: "ltc", Index: 500, Created: time.Unix(1, 0)}); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.NextIndex("ltc"); n != 501 {
		t.Errorf("NextIndex after index 500 = %d", n)
	}
}

// TestForwardsOf lists an address's forwards, also once their deposit is
// rolled back.
func TestForwardsOf(t *testing.T) {
	db := MustOpen(t)
	mustStart(t, db, "ltc")
	b := chainBlock("ltc", 101, 0, 5000, 7000)
	if err := db.Apply(b); err != nil {
		t.Fatal(err)
	}
	for _, d := range b.Deposits {
		f := &store.Forward{Forward: ferry.Forward{TxID: hashOf(int64(d.Value)), Value: d.Value}, Coin: "ltc", OutPoint: d.OutPoint, AddrIndex: d.AddrIndex}
		if err := db.PutForward(f); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Rollback("ltc"); err != nil {
		t.Fatal(err)
	}
	fs, err := db.ForwardsOf("ltc", 1)
	if err != nil || len(fs) != 1 || fs[0].OutPoint != b.Deposits[1].OutPoint || fs[0].AddrIndex != 1 || fs[0].Value != 7000 {
		t.Fatalf("forwards of address 1: %+v, %v", fs, err)
	}
	if ds, _ := db.DepositsOf("ltc", 1); len(ds) != 0 {
		t.Errorf("%d deposits after the rollback", len(ds))
	}
}

// TestBlockHeads checks the hash and time BlockHash and BlockTime answer
// for a block with deposits, after it is rolled back (none), and for the
// block of another branch at its height.
func TestBlockHeads(t *testing.T) {
	db := MustOpen(t)
	mustStart(t, db, "ltc")
	if err := db.Apply(chainBlock("ltc", 101, 0, 10_000, 20_000)); err != nil {
		t.Fatal(err)
	}
	check := func(height int64, hash ferry.Hash, when time.Time) {
		t.Helper()
		if h, err := db.BlockHash("ltc", height); err != nil || h != hash {
			t.Errorf("hash of %d: %v, %v; want %v", height, h, err, hash)
		}
		if got, err := db.BlockTime("ltc", height); err != nil || !got.Equal(when) {
			t.Errorf("time of %d: %v, %v; want %v", height, got, err, when)
		}
	}
	check(101, hashOf(101), time.Unix(1700000101, 0))
	if _, err := db.Rollback("ltc"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.BlockTime("ltc", 101); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the time of a block rolled back: %v", err)
	}
	other := chainBlock("ltc", 101, 7)
	other.Prev, other.Time = hashOf(100), time.Unix(1800000000, 0)
	if err := db.Apply(other); err != nil {
		t.Fatal(err)
	}
	check(101, hashOf(108), time.Unix(1800000000, 0))
}
