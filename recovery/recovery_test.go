package recovery_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/chain/regtest"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/recovery"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/store"
	"github.com/ferry-relay/ferry/store/storetest"
)

// harness is a litecoind, a seed's keys and a store to recover into.
type harness struct {
	t      *testing.T
	n      *regtest.Litecoind
	coin   *chain.Coin
	keys   *chain.Keychain
	db     *store.DB
	fee    chain.Destination
	events []recovery.Event
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, n: regtest.NewLitecoind(t), db: storetest.Open(t)}
	h.coin, _ = chain.Litecoin(chain.Regtest)
	var err error
	if h.keys, err = chain.NewKeychain(bytes.Repeat([]byte{5}, 32), h.coin.CoinType()); err != nil {
		t.Fatal(err)
	}
	h.fee = h.dest()
	return h
}

// dest returns a new address of the node's merchant wallet.
func (h *harness) dest() chain.Destination {
	h.t.Helper()
	a, err := h.n.NewAddress(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	d, err := h.coin.ParseDestination(a)
	if err != nil {
		h.t.Fatal(err)
	}
	return d
}

// pay pays the seed's address at index and returns the output.
func (h *harness) pay(index uint32, sat int64) ferry.OutPoint {
	h.t.Helper()
	ctx := context.Background()
	prog, err := h.keys.Program(index)
	if err != nil {
		h.t.Fatal(err)
	}
	in, _ := h.coin.InputAddress(prog)
	txid, err := h.n.Pay(ctx, in.Address, sat)
	if err != nil {
		h.t.Fatal(err)
	}
	tx, err := h.n.Tx(ctx, txid)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, o := range tx.Vout {
		if o.ScriptPubKey.AddressText() == in.Address {
			return ferry.OutPoint{Hash: txid, Index: o.N}
		}
	}
	h.t.Fatalf("%s pays nothing to %s", txid, in.Address)
	return ferry.OutPoint{}
}

// forward spends a deposit the way ferry forwards it: the destination and
// 1% to the fee address.
func (h *harness) forward(op ferry.OutPoint, index uint32, value int64, dest chain.Destination) ferry.Hash {
	h.t.Helper()
	service, network := value/100, int64(1410)
	tx, err := h.coin.Sign(h.keys, chain.SpendInput{OutPoint: op, Value: value, KeyIndex: index},
		[]chain.Output{{Value: value - service - network, Script: dest.Script}, {Value: service, Script: h.fee.Script}})
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.n.NodeClient().SendRawTransaction(context.Background(), tx.Raw); err != nil {
		h.t.Fatal(err)
	}
	return tx.TxID
}

func (h *harness) mine(n int) []ferry.Hash {
	h.t.Helper()
	hs, err := h.n.Mine(context.Background(), n)
	if err != nil {
		h.t.Fatal(err)
	}
	return hs
}

func (h *harness) height() int64 {
	h.t.Helper()
	tip, err := h.n.NodeClient().BlockCount(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return tip
}

// recover runs a recovery from height from, with the daemon's scanner if
// scan is set, sweeping to sweepTo if not nil.
func (h *harness) recover(from int64, scan bool, sweepTo *chain.Destination) (*recovery.Report, error) {
	h.t.Helper()
	node := h.n.NodeClient()
	cfg := recovery.Config{
		Store: h.db, Gap: 1000, WatchFor: 0, FeeTarget: 3, Clock: clock.System{},
		Progress: progressFunc(func(ev recovery.Event) { h.events = append(h.events, ev) }),
		Coins: []recovery.Coin{{Chain: h.coin, Keys: h.keys, Node: node, FeeAddress: h.fee, MinDeposit: 1_000_000,
			FallbackFeeRate: 10_000, From: from, SweepTo: sweepTo}},
	}
	if scan {
		cfg.Scan = func(ctx context.Context, id string) (store.Cursor, error) {
			watch, err := h.db.LoadWatchSet(id)
			if err != nil {
				return store.Cursor{}, err
			}
			sc, err := relay.NewScanner(relay.ScannerConfig{Coin: h.coin, Blocks: node, Store: h.db, Watch: watch, Clock: clock.System{},
				PollInterval: time.Second, Log: zerolog.Nop()})
			if err != nil {
				return store.Cursor{}, err
			}
			return sc.Sync(ctx)
		}
	}
	reps, err := recovery.Run(context.Background(), cfg)
	if err != nil {
		return nil, err
	}
	return reps[0], nil
}

// saw reports whether an event of phase was reported.
func (h *harness) saw(phase string) bool {
	for _, ev := range h.events {
		if ev.Phase == phase {
			return true
		}
	}
	return false
}

type progressFunc func(recovery.Event)

func (f progressFunc) Report(ev recovery.Event) { f(ev) }

// TestCatchUp pays index 1500, far past the first window of 1000, and
// forwards it, before index 600 is paid: finding 600 grows the window to
// 2000 and the blocks before are scanned again, which finds 1500 and grows
// it to 4000, and scans them once more. Address 1500 gets its destination
// back, with its deposit and forward.
func TestCatchUp(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	from := h.height() + 1
	dest := h.dest()
	far := h.pay(1500, 3_000_000)
	h.mine(1)
	fwd := h.forward(far, 1500, 3_000_000, dest)
	h.mine(1)
	near := h.pay(600, 2_000_000)
	h.mine(1)

	rep, err := h.recover(from, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !h.saw(recovery.PhaseCatchUp) || rep.NextIndex != 4000 || rep.Addresses != 2 || rep.WithDestination != 1 || rep.ForwardsRecorded != 1 {
		t.Errorf("report: %+v", rep)
	}
	a, err := h.db.Address("ltc", 1500)
	if err != nil || a.Destination != dest.Address {
		t.Fatalf("address 1500: %+v, %v", a, err)
	}
	d, err := h.db.Deposit("ltc", far)
	if err != nil || d.SpentBy != fwd {
		t.Errorf("deposit of 1500: %+v, %v", d, err)
	}
	f, err := h.db.Forward("ltc", far)
	if err != nil || f.TxID != fwd || f.Forwarded != 3_000_000-30_000-1410 || f.ServiceFee != 30_000 || f.NetworkFee != 1410 || f.Donation {
		t.Errorf("forward of 1500: %+v, %v", f, err)
	}
	if len(rep.Stranded) != 1 || rep.Stranded[0].OutPoint != near.String() || rep.Stranded[0].Reason != recovery.ReasonNoDestination {
		t.Errorf("stranded: %+v", rep.Stranded)
	}
	if a, err := h.db.Address("ltc", 600); err != nil || a.Destination != "" {
		t.Errorf("address 600: %+v, %v", a, err)
	}
	if w, err := h.db.Watched("ltc", mustProgram(t, h.keys, 600)); w || err != nil {
		t.Errorf("address 600 without a destination is watched: %v", err)
	}
}

func mustProgram(t *testing.T, k *chain.Keychain, i uint32) []byte {
	t.Helper()
	p, err := k.Program(i)
	if err != nil {
		t.Fatal(err)
	}
	return p[:]
}

// TestRewindUnderScan orphans the block a recovery found a payment in: the
// next run rolls the scan back and forgets it, and finds it again once it
// is mined anew.
func TestRewindUnderScan(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	from := h.height() + 1
	op := h.pay(3, 1_500_000)
	blk := h.mine(1)[0]
	if rep, err := h.recover(from, false, nil); err != nil || len(rep.Stranded) != 1 {
		t.Fatalf("first run: %+v, %v", rep, err)
	}

	if err := h.n.InvalidateBlock(ctx, blk); err != nil {
		t.Fatal(err)
	}
	if err := h.n.Hold(ctx, op.Hash); err != nil {
		t.Fatal(err)
	}
	h.mine(2)
	h.events = nil
	rep, err := h.recover(-1, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	outs, err := h.db.RecoveredOutputs("ltc")
	if err != nil {
		t.Fatal(err)
	}
	if !h.saw(recovery.PhaseRewind) || len(outs) != 0 || len(rep.Stranded) != 0 {
		t.Errorf("after the reorg: rewind %v, outputs %+v, stranded %+v", h.saw(recovery.PhaseRewind), outs, rep.Stranded)
	}

	if err := h.n.Release(ctx, op.Hash); err != nil {
		t.Fatal(err)
	}
	h.mine(1)
	if rep, err = h.recover(-1, false, nil); err != nil || len(rep.Stranded) != 1 || rep.Stranded[0].Height != h.height() {
		t.Errorf("mined again: %+v, %v", rep, err)
	}
}

// TestSweepDeposit sweeps an open dust deposit of an address whose
// destination is known and a payment to an address whose destination is
// not, in one transaction: the deposit gets the sweep as its forward
// record. A later run finds the sweep confirmed and nothing stranded.
func TestSweepDeposit(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	from := h.height() + 1
	first := h.pay(0, 2_000_000)
	h.mine(1)
	h.forward(first, 0, 2_000_000, h.dest())
	dust := h.pay(0, 3_000)
	lost := h.pay(5, 1_200_000)
	h.mine(1)

	to := h.dest()
	rep, err := h.recover(from, true, &to)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Stranded) != 2 || len(rep.Sweeps) != 1 || rep.Sweeps[0].Status != recovery.SweepBroadcast || rep.Sweeps[0].Inputs != 2 {
		t.Fatalf("report: %+v", rep)
	}
	reasons := map[string]string{}
	for _, s := range rep.Stranded {
		reasons[s.OutPoint] = s.Reason
		if s.Sweep != rep.Sweeps[0].TxID {
			t.Errorf("%s not swept: %+v", s.OutPoint, s)
		}
	}
	if reasons[dust.String()] != recovery.ReasonDust || reasons[lost.String()] != recovery.ReasonNoDestination {
		t.Errorf("reasons: %v", reasons)
	}
	f, err := h.db.Forward("ltc", dust)
	if err != nil || f.TxID.String() != rep.Sweeps[0].TxID || !f.Donation || len(f.Raw) == 0 {
		t.Errorf("the dust deposit's forward: %+v, %v", f, err)
	}
	h.mine(1)
	if got, err := h.n.Received(context.Background(), to.Address); err != nil || got != rep.Sweeps[0].Value || got != 3_000+1_200_000-rep.Sweeps[0].NetworkFee {
		t.Errorf("received %d, %v; sweep %+v", got, err, rep.Sweeps[0])
	}

	rep, err = h.recover(-1, false, &to)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Stranded) != 0 || len(rep.Sweeps) != 1 || rep.Sweeps[0].Status != recovery.SweepConfirmed || rep.Sweeps[0].New {
		t.Errorf("after the sweep: %+v", rep)
	}
}

// TestNoStart: a store without addresses gives no height to start from.
func TestNoStart(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if _, err := h.recover(-1, false, nil); !errors.Is(err, recovery.ErrNoStart) {
		t.Errorf("recovery without a height: %v", err)
	}
}
