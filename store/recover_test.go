package store_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/store"
)

// recoveredBlock returns a block of the main pass at height, paying index
// idx value, and spending the outputs in spends by a one-input transaction.
func recoveredBlock(height int64, idx uint32, value ferry.Amount, spends ...ferry.OutPoint) *store.RecoveredBlock {
	rb := &store.RecoveredBlock{Coin: "ltc", Height: height, Hash: hashOf(height), Main: true,
		State: store.RecoveryState{From: 100, Window: 1000, Cursor: store.Cursor{Height: height, Hash: hashOf(height)}, CatchUpTo: -1, CatchUpAt: -1, MergeAt: -1}}
	if value > 0 {
		rb.Outputs = append(rb.Outputs, store.RecoveredOutput{
			Deposit: ferry.Deposit{OutPoint: ferry.OutPoint{Hash: hashOf(1000 + height)}, AddrIndex: idx, Value: value, Height: height, BlockHash: hashOf(height), Time: time.Unix(1700000000+height, 0).UTC()},
		})
	}
	for _, op := range spends {
		rb.Spends = append(rb.Spends, store.RecoveredSpend{OutPoint: op, TxID: hashOf(2000 + height), Height: height, Inputs: 1,
			Outputs: []chain.Output{{Value: int64(value), Script: []byte{0x00, 0x14, 1}}}})
	}
	return rb
}

func TestApplyRecovered(t *testing.T) {
	db := MustOpen(t)
	if _, err := db.RecoveryState("ltc"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("state before a recovery: %v", err)
	}
	paid := ferry.OutPoint{Hash: hashOf(1101)}
	blocks := []*store.RecoveredBlock{
		recoveredBlock(101, 5, 7_000),
		recoveredBlock(102, 9, 8_000, paid, ferry.OutPoint{Hash: hashOf(1)}), // a spend of an output never found is ignored
	}
	for _, rb := range blocks {
		if err := db.ApplyRecovered(rb); err != nil {
			t.Fatal(err)
		}
	}
	outs, err := db.RecoveredOutputs("ltc")
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 2 {
		t.Fatalf("%d outputs", len(outs))
	}
	first := outs[0]
	if first.OutPoint != paid {
		first = outs[1]
	}
	if !first.Spent() || first.SpentBy != hashOf(2102) || first.SpentHeight != 102 || first.SpendInputs != 1 || len(first.SpendOutputs) != 1 {
		t.Errorf("spent output: %+v", first)
	}

	// Scanned again (a catch-up), a block changes nothing: the output
	// keeps its spend.
	again := recoveredBlock(101, 5, 7_000)
	again.Main = false
	again.State = blocks[1].State
	if err := db.ApplyRecovered(again); err != nil {
		t.Fatal(err)
	}
	outs2, err := db.RecoveredOutputs("ltc")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(outs, outs2) {
		t.Errorf("a block scanned again changed the outputs:\n%+v\n%+v", outs, outs2)
	}
	st, err := db.RecoveryState("ltc")
	if err != nil || *st != blocks[1].State {
		t.Errorf("state: %+v, %v", st, err)
	}
	if h, err := db.RecoveryHash("ltc", 102); err != nil || h != hashOf(102) {
		t.Errorf("hash of 102: %v, %v", h, err)
	}
	if _, err := db.RecoveredOutputs("btc"); err != nil {
		t.Error(err)
	}
}

func TestRewindRecovery(t *testing.T) {
	db := MustOpen(t)
	for _, rb := range []*store.RecoveredBlock{
		recoveredBlock(101, 5, 7_000),
		recoveredBlock(102, 6, 8_000),
		recoveredBlock(103, 7, 9_000, ferry.OutPoint{Hash: hashOf(1101)}),
	} {
		if err := db.ApplyRecovered(rb); err != nil {
			t.Fatal(err)
		}
	}
	st := recoveredBlock(101, 0, 0).State
	if err := db.RewindRecovery("ltc", &st); err != nil {
		t.Fatal(err)
	}
	outs, err := db.RecoveredOutputs("ltc")
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 1 || outs[0].Height != 101 || outs[0].Spent() {
		t.Errorf("after a rewind to 101: %+v", outs)
	}
	if _, err := db.RecoveryHash("ltc", 102); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("hash of 102 after the rewind: %v", err)
	}
	if got, err := db.RecoveryState("ltc"); err != nil || got.Cursor.Height != 101 {
		t.Errorf("state: %+v, %v", got, err)
	}

	// A reset forgets the outputs.
	st.From = 50
	if err := db.ResetRecovery("ltc", &st); err != nil {
		t.Fatal(err)
	}
	if outs, err := db.RecoveredOutputs("ltc"); err != nil || len(outs) != 0 {
		t.Errorf("after a reset: %d outputs, %v", len(outs), err)
	}
}

func TestRestoreAddress(t *testing.T) {
	db := MustOpen(t)
	created := time.Unix(1700000000, 0).UTC()
	addr := func(i uint32, dest bool) *store.Address {
		a := &store.Address{Coin: "ltc", Index: i, Program: [20]byte{byte(i)}, Address: "in", Created: created}
		if dest {
			a.Destination, a.DestScript = "dest", []byte{0x00, 0x14, 9}
		}
		return a
	}
	open := ferry.Deposit{OutPoint: ferry.OutPoint{Hash: hashOf(1)}, AddrIndex: 3, Value: 5_000, Height: 10}
	closed := ferry.Deposit{OutPoint: ferry.OutPoint{Hash: hashOf(2)}, AddrIndex: 3, Value: 6_000, Height: 9, SpentBy: hashOf(3), SpentHeight: 11}

	// Without a destination: never watched, no open deposit.
	for _, c := range []struct {
		name    string
		watched bool
		deps    []ferry.Deposit
	}{
		{"watched", true, nil},
		{"open deposit", false, []ferry.Deposit{open}},
	} {
		if _, err := db.RestoreAddress(addr(3, false), c.watched, c.deps); !errors.Is(err, store.ErrNoDestination) {
			t.Errorf("%s without a destination: %v", c.name, err)
		}
	}
	if ok, err := db.RestoreAddress(addr(2, false), false, nil); !ok || err != nil {
		t.Fatalf("restore without a destination: %v, %v", ok, err)
	}

	if ok, err := db.RestoreAddress(addr(3, true), true, []ferry.Deposit{open, closed}); !ok || err != nil {
		t.Fatalf("restore: %v, %v", ok, err)
	}
	if ok, err := db.RestoreAddress(addr(3, true), false, nil); ok || err != nil {
		t.Errorf("restore over an address: %v, %v", ok, err)
	}
	if w, _ := db.Watched("ltc", []byte{3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}); !w {
		t.Error("restored address not watched")
	}
	if w, _ := db.Watched("ltc", []byte{2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}); w {
		t.Error("address without a destination watched")
	}
	openDeps, err := db.OpenDeposits("ltc")
	if err != nil || len(openDeps) != 1 || openDeps[0].OutPoint != open.OutPoint {
		t.Errorf("open deposits: %+v, %v", openDeps, err)
	}
	if deps, err := db.DepositsOf("ltc", 3); err != nil || len(deps) != 2 {
		t.Errorf("deposits of the address: %+v, %v", deps, err)
	}
	idle, err := db.IdleAddresses("ltc", created.Add(time.Second), 10)
	if err != nil || len(idle) != 1 || idle[0].Index != 3 {
		t.Errorf("expiry queue: %+v, %v", idle, err)
	}

	if a, err := db.FirstAddress("ltc"); err != nil || a.Index != 2 {
		t.Errorf("first address: %+v, %v", a, err)
	}
	if end, err := db.AddressEnd("ltc"); err != nil || end != 4 {
		t.Errorf("address end: %d, %v", end, err)
	}
	if err := db.SetFirstIndex("ltc", 100); err != nil {
		t.Fatal(err)
	}
	if end, err := db.AddressEnd("ltc"); err != nil || end != 4 {
		t.Errorf("address end after a first index: %d, %v", end, err)
	}
	if _, err := db.FirstAddress("btc"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("first address of a coin without any: %v", err)
	}
}

func TestSweeps(t *testing.T) {
	db := MustOpen(t)
	in := []store.SweepInput{{OutPoint: ferry.OutPoint{Hash: hashOf(1), Index: 2}, AddrIndex: 7, Value: 5_000}, {OutPoint: ferry.OutPoint{Hash: hashOf(2)}, AddrIndex: 9, Value: 6_000}}
	s := &store.Sweep{Coin: "ltc", TxID: hashOf(10), Raw: []byte{1, 2, 3}, Inputs: in, To: "to", Value: 10_000, NetworkFee: 1_000,
		FeeRate: 10_000, Created: time.Unix(1700000000, 0).UTC()}
	fwd := &store.Forward{Forward: ferry.Forward{TxID: hashOf(10), Donation: true, Value: 6_000}, Coin: "ltc", OutPoint: in[1].OutPoint, AddrIndex: 9, Raw: s.Raw}
	bad := *fwd
	bad.TxID = hashOf(11)
	if err := db.PutSweep(s, []*store.Forward{&bad}); err == nil {
		t.Error("a sweep recorded with another transaction as a forward")
	}
	if err := db.PutSweep(s, []*store.Forward{fwd}); err != nil {
		t.Fatal(err)
	}
	s.Attempts, s.Accepted, s.LastAttempt = 1, true, time.Unix(1700000100, 0).UTC()
	if err := db.UpdateSweep(s); err != nil {
		t.Fatal(err)
	}
	got, err := db.Sweeps("ltc")
	if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], s) {
		t.Errorf("sweeps: %+v, %v", got, err)
	}
	for _, i := range in {
		if txid, err := db.SweepOf("ltc", i.OutPoint); err != nil || txid != s.TxID {
			t.Errorf("sweep of %s: %v, %v", i.OutPoint, txid, err)
		}
	}
	if _, err := db.SweepOf("ltc", ferry.OutPoint{Hash: hashOf(3)}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("sweep of an output not swept: %v", err)
	}
	if f, err := db.Forward("ltc", in[1].OutPoint); err != nil || f.TxID != s.TxID || !f.Donation {
		t.Errorf("the swept deposit's forward: %+v, %v", f, err)
	}
}
