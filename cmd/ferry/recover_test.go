package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/syndtr/goleveldb/leveldb"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/recovery"
)

// progressFunc adapts a function to recovery.Progress.
type progressFunc func(recovery.Event)

func (f progressFunc) Report(ev recovery.Event) { f(ev) }

// recoverArgs returns ferry recover's arguments for cfg, and extra.
func recoverArgs(cfg Config, extra ...string) []string {
	var args []string
	cfg.flagSet(io.Discard).VisitAll(func(f *flag.Flag) { args = append(args, "--"+f.Name+"="+f.Value.String()) })
	return append(args, extra...)
}

// runRecoverCLI runs ferry recover as the command line does and returns
// its report.
func runRecoverCLI(t *testing.T, cfg Config, extra ...string) recoverReport {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := recoverMain(context.Background(), recoverArgs(cfg, extra...), &stdout, &stderr, func(string) string { return "" }); code != 0 {
		t.Fatalf("ferry recover: exit %d\n%s", code, stderr.String())
	}
	// Not a terminal: progress is JSON lines.
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		var ev recovery.Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Coin == "" {
			t.Errorf("progress line %q: %v", line, err)
		}
	}
	var rep recoverReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, stdout.String())
	}
	return rep
}

// killRecoverAt runs ferry recover as a child process and kills it with
// SIGKILL when it reports phase.
func killRecoverAt(t *testing.T, cfg Config, phase string, extra ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"recover"}, recoverArgs(cfg, extra...)...)...)
	cmd.Env = append(os.Environ(), "FERRY_TEST_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		log.Write(append(sc.Bytes(), '\n'))
		var ev recovery.Event
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Phase == phase {
			cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("ferry recover was not killed at %s: %v\n%s", phase, err, log.String())
	}
}

// dumpStore returns every key and value of the store in dataDir.
func dumpStore(t *testing.T, dataDir string) map[string]string {
	t.Helper()
	db, err := leveldb.OpenFile(filepath.Join(dataDir, "db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m := map[string]string{}
	it := db.NewIterator(nil, nil)
	for it.Next() {
		m[string(it.Key())] = string(it.Value())
	}
	it.Release()
	if err := it.Error(); err != nil {
		t.Fatal(err)
	}
	return m
}

// copySeed makes a data directory holding only dataDir's seed.
func copySeed(t *testing.T, dataDir string) string {
	t.Helper()
	seed, err := os.ReadFile(filepath.Join(dataDir, "seed"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "seed"), seed, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestRecover loses the store of a ferry that handed out 30 addresses, 12
// of them paid: some forwarded, one paid dust, one a donation swept to the
// fee address, one paid after it expired, and, with the store gone, one
// paid for the first time and one forwarded before paid again. ferry
// recover, interrupted once, rebuilds the store (as an uninterrupted
// recovery does); ferry then starts, hands out only indexes past the
// window, and forwards only the new payment to the address whose
// destination its forward showed. --sweep-to then sweeps the three
// stranded outputs, their amounts read from the node, in one transaction.
func TestRecover(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n := startNode(t, "litecoin")
	cfg := nodeConfig(t, n, t.TempDir())
	feeAddr := n.feeAddress(cfg)
	start, err := n.NodeClient().BlockCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d := startFerry(t, cfg)
	dests := []string{newAddress(t, n), newAddress(t, n), newAddress(t, n)}
	var addrs []string
	mint := func(count int) {
		for range count {
			addrs = append(addrs, receive(t, d.URL, n.coin, dests[len(addrs)%3], "").InputAddress)
		}
	}

	// Indexes 0 to 6 forwarded, 7 dust, 8 a donation swept.
	mint(25)
	ops := map[int]ferry.OutPoint{}
	for i := range 7 {
		ops[i] = pay(t, n, addrs[i], 2_000_000+int64(i)*10_000)
	}
	ops[7] = pay(t, n, addrs[7], 3_000)
	ops[8] = pay(t, n, addrs[8], 500_000)
	mine(t, n, 1)
	fwds := map[int]ferry.Hash{}
	waitFor(t, "forwards and the donation sweep", func() bool {
		for i := range 9 {
			if i != 7 {
				if fwds[i] = spender(t, n, ops[i]); fwds[i].IsZero() {
					return false
				}
			}
		}
		return true
	})
	mine(t, n, 1)

	// The chain's clock past the expiry: every address expires; index 10
	// is paid late.
	if err := n.ltc.SetMockTime(ctx, time.Now().Add(cfg.AddressExpiry+cfg.ExpiryGrace+time.Hour)); err != nil {
		t.Fatal(err)
	}
	mine(t, n, 1)
	waitScanned(t, n, d.URL)
	ops[10] = pay(t, n, addrs[10], 4_000_000)
	mine(t, n, 1)
	waitScanned(t, n, d.URL) // before index 25 is handed out: the block expires idle addresses

	// Indexes 25 to 29; 25 forwarded. Then enough blocks that the payments
	// so far are history below the rebuilt store's cursor.
	mint(5)
	ops[25] = pay(t, n, addrs[25], 3_000_000)
	mine(t, n, 1)
	waitFor(t, "forward of index 25", func() bool { return !spender(t, n, ops[25]).IsZero() })
	mine(t, n, recovery.ReplayDepth+5)
	waitScanned(t, n, d.URL)
	if c := d.Log.count("forward signed", nil); c != 9 {
		t.Fatalf("%d forwards signed before the store is lost, want 9", c)
	}

	// The store is lost; then index 25 is paid again, and index 27 for
	// the first time.
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(cfg.DataDir, "db")); err != nil {
		t.Fatal(err)
	}
	again := pay(t, n, addrs[25], 2_500_000)
	ops[27] = pay(t, n, addrs[27], 1_500_000)
	mine(t, n, 1)
	if err := Run(ctx, cfg, &logBuffer{}, nil); !errors.Is(err, ErrSeedWithoutStore) {
		t.Fatalf("start without the store: %v", err)
	}

	// A recovery interrupted in the middle of its scan; ferry still
	// refuses to start.
	rc := recoverConfig{Config: cfg, Gap: defaultGap, FromHeight: fmt.Sprint(start)}
	ictx, cancel := context.WithCancel(ctx)
	scanned := 0
	err = runRecover(ictx, rc, io.Discard, progressFunc(func(ev recovery.Event) {
		if ev.Phase == recovery.PhaseScan {
			if scanned++; scanned == 20 {
				cancel()
			}
		}
	}), io.Discard)
	cancel()
	if !errors.Is(err, context.Canceled) || scanned != 20 {
		t.Fatalf("interrupted recovery: %v after %d blocks", err, scanned)
	}
	if err := Run(ctx, cfg, &logBuffer{}, nil); !errors.Is(err, ErrSeedWithoutStore) {
		t.Fatalf("start after an interrupted recovery: %v", err)
	}

	// Resumed in a process killed with SIGKILL once it rebuilds, as the
	// daemon's scanner brings the rebuilt store up to the chain.
	killRecoverAt(t, cfg, recovery.PhaseSync, "--from-height="+fmt.Sprint(start))
	if err := Run(ctx, cfg, &logBuffer{}, nil); !errors.Is(err, ErrSeedWithoutStore) {
		t.Fatalf("start after a killed recovery: %v", err)
	}

	// Resumed again, through the command line, to the end: a dry run.
	rep := runRecoverCLI(t, cfg, "--from-height="+fmt.Sprint(start))
	if !rep.DryRun || len(rep.Coins) != 1 {
		t.Fatalf("report: %+v", rep)
	}
	r := rep.Coins[0]
	if r.Addresses != 12 || r.WithDestination != 8 || r.Payments != 13 || r.ToForward != 1 || len(r.Sweeps) != 0 {
		t.Errorf("recovered %d addresses (%d with a destination), %d payments, %d to forward, %d sweeps; want 12 (8), 13, 1, 0",
			r.Addresses, r.WithDestination, r.Payments, r.ToForward, len(r.Sweeps))
	}
	if want := uint32(2 * defaultGap); r.NextIndex != want {
		t.Errorf("next index %d, want %d", r.NextIndex, want)
	}
	want := map[string]string{ops[7].String(): recovery.ReasonDust, ops[10].String(): recovery.ReasonNoDestination, ops[27].String(): recovery.ReasonNoDestination}
	for _, s := range r.Stranded {
		if want[s.OutPoint] != s.Reason {
			t.Errorf("stranded %s (%d sat): %q, want %q", s.OutPoint, s.Value, s.Reason, want[s.OutPoint])
		}
		delete(want, s.OutPoint)
	}
	if len(want) != 0 || r.StrandedValue != 3_000+4_000_000+1_500_000 {
		t.Errorf("stranded outputs missing: %v; %d sat in all", want, r.StrandedValue)
	}

	// An uninterrupted recovery of a copy of the seed rebuilds the same
	// store.
	other := copySeed(t, cfg.DataDir)
	orc := rc
	orc.DataDir = other
	if err := runRecover(ctx, orc, io.Discard, progressFunc(func(recovery.Event) {}), io.Discard); err != nil {
		t.Fatal(err)
	}
	got, wantStore := dumpStore(t, cfg.DataDir), dumpStore(t, other)
	for k, v := range wantStore {
		if got[k] != v {
			t.Errorf("key %q: %x after an interrupted recovery, %x after an uninterrupted one", k, got[k], v)
		}
	}
	if len(got) != len(wantStore) {
		t.Errorf("%d keys after an interrupted recovery, %d after an uninterrupted one", len(got), len(wantStore))
	}

	// ferry starts, forwards the new payment to index 25's destination,
	// nothing else, and hands out indexes past the window.
	d = startFerry(t, cfg)
	var fwd ferry.Hash
	waitFor(t, "forward of the payment made while the store was lost", func() bool { fwd = spender(t, n, again); return !fwd.IsZero() })
	mine(t, n, 1)
	waitScanned(t, n, d.URL)
	checkForward(t, n, again, 2_500_000, fwd, dests[25%3], feeAddr)
	if c := d.Log.count("forward signed", nil); c != 1 {
		t.Errorf("the rebuilt ferry signed %d forwards, want 1", c)
	}
	next := receive(t, d.URL, n.coin, dests[0], "").InputAddress
	if r := checkRaw(t, n, d.URL, next); !strings.Contains(r, fmt.Sprintf(`"path":"m/84'/2'/0'/0/%d"`, 2*defaultGap)) {
		t.Errorf("the first address after the recovery: %s", r)
	}
	if s := check(t, n, d.URL, addrs[3]); s.Status != "forwarded" || len(s.Deposits) != 1 || s.Deposits[0].ForwardTxID != fwds[3].String() {
		t.Errorf("a recovered forwarded address: %+v", s)
	}
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}

	// The stranded coins swept, in one transaction, at the node's amounts.
	sweepAddr := newAddress(t, n)
	rep = runRecoverCLI(t, cfg, "--from-height="+fmt.Sprint(start), "--sweep-to="+sweepAddr)
	r = rep.Coins[0]
	if rep.DryRun || len(r.Sweeps) != 1 || !r.Sweeps[0].New || r.Sweeps[0].Status != recovery.SweepBroadcast || r.Sweeps[0].Inputs != 3 {
		t.Fatalf("sweep: %+v", r.Sweeps)
	}
	sw := r.Sweeps[0]
	fee := feeOfTest(10_000, chain.SweepVSize(3, [][]byte{scriptOf(t, sweepAddr)}))
	if sw.NetworkFee != fee || sw.Value != r.StrandedValue-fee {
		t.Errorf("sweep of %d sat: %d swept, %d fee; want %d, %d", r.StrandedValue, sw.Value, sw.NetworkFee, r.StrandedValue-fee, fee)
	}
	mine(t, n, 1)
	if got := received(t, n, sweepAddr); got != sw.Value {
		t.Errorf("sweep address received %d, want %d", got, sw.Value)
	}
	for _, i := range []int{7, 10, 27} {
		if spender(t, n, ops[i]).String() != sw.TxID {
			t.Errorf("output %d is not spent by the sweep", i)
		}
	}

	// Run again: nothing is stranded, the sweep is confirmed; ferry
	// forwards nothing.
	rep = runRecoverCLI(t, cfg)
	r = rep.Coins[0]
	if len(r.Stranded) != 0 || len(r.Sweeps) != 1 || r.Sweeps[0].Status != recovery.SweepConfirmed {
		t.Errorf("after the sweep: stranded %+v, sweeps %+v", r.Stranded, r.Sweeps)
	}
	d = startFerry(t, cfg)
	mine(t, n, 1)
	waitScanned(t, n, d.URL)
	if c := d.Log.count("forward signed", nil); c != 0 {
		t.Errorf("ferry signed %d forwards after the sweep", c)
	}
}

// feeOfTest is a fee at rate satoshis per 1000 vbytes, rounded up.
func feeOfTest(rate, vsize int64) int64 { return (rate*vsize + 999) / 1000 }

// scriptOf returns the output script of a regtest Litecoin address.
func scriptOf(t *testing.T, addr string) []byte {
	t.Helper()
	coin, _ := chain.Litecoin(chain.Regtest)
	d, err := coin.ParseDestination(addr)
	if err != nil {
		t.Fatal(err)
	}
	return d.Script
}

// TestRecoverBothCoins loses the store of a ferry running Litecoin and
// Bitcoin (btcd): one recovery, heights given per coin, rebuilds both
// before the store is startable; then a sweep of Bitcoin only, Litecoin
// listed.
func TestRecoverBothCoins(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ltc, btc := startNode(t, "litecoin"), startNode(t, "bitcoin")
	cfg := nodeConfig(t, ltc, t.TempDir())
	btcCfg := nodeConfig(t, btc, cfg.DataDir)
	cfg.BTCRPC, cfg.BTCP2P, cfg.BTCFeeAddress, cfg.BTCFallbackFee = btcCfg.BTCRPC, btcCfg.BTCP2P, btcCfg.BTCFeeAddress, btcCfg.BTCFallbackFee
	from := map[*node]int64{}
	for _, n := range []*node{ltc, btc} {
		h, err := n.NodeClient().BlockCount(ctx)
		if err != nil {
			t.Fatal(err)
		}
		from[n] = h
	}
	d := startFerry(t, cfg)
	type coinRun struct {
		n           *node
		dest        string
		addrs       []string
		paid, later ferry.OutPoint
	}
	runs := []*coinRun{{n: ltc}, {n: btc}}
	for _, c := range runs {
		c.dest = newAddress(t, c.n)
		for range 2 {
			c.addrs = append(c.addrs, receive(t, d.URL, c.n.coin, c.dest, "").InputAddress)
		}
		c.paid = pay(t, c.n, c.addrs[0], 10*c.n.minDeposit)
		mine(t, c.n, 1)
	}
	for _, c := range runs {
		waitFor(t, c.n.ticker+" forward", func() bool { return !spender(t, c.n, c.paid).IsZero() })
		mine(t, c.n, 1)
		waitScanned(t, c.n, d.URL)
	}
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(cfg.DataDir, "db")); err != nil {
		t.Fatal(err)
	}
	// Litecoin's forwarded address paid again; Bitcoin's second address
	// paid for the first time.
	runs[0].later = pay(t, ltc, runs[0].addrs[0], 5*ltc.minDeposit)
	runs[1].later = pay(t, btc, runs[1].addrs[1], 5*btc.minDeposit)
	mine(t, ltc, 1)
	mine(t, btc, 1)

	heights := fmt.Sprintf("--from-height=ltc=%d,btc=%d", from[ltc], from[btc])
	rep := runRecoverCLI(t, cfg, heights)
	if len(rep.Coins) != 2 || rep.Coins[0].Coin != "ltc" || rep.Coins[1].Coin != "btc" {
		t.Fatalf("report: %+v", rep)
	}
	l, b := rep.Coins[0], rep.Coins[1]
	if l.Addresses != 1 || l.WithDestination != 1 || l.ToForward != 1 || len(l.Stranded) != 0 {
		t.Errorf("litecoin: %+v", l)
	}
	if b.Addresses != 2 || b.WithDestination != 1 || b.ToForward != 0 || len(b.Stranded) != 1 || b.Stranded[0].OutPoint != runs[1].later.String() {
		t.Errorf("bitcoin: %+v", b)
	}

	// ferry starts and forwards Litecoin's later payment; the next
	// addresses lie past each window.
	d = startFerry(t, cfg)
	var fwd ferry.Hash
	waitFor(t, "litecoin forward", func() bool { fwd = spender(t, ltc, runs[0].later); return !fwd.IsZero() })
	mine(t, ltc, 1)
	checkForward(t, ltc, runs[0].later, 5*ltc.minDeposit, fwd, runs[0].dest, ltc.feeAddress(cfg))
	for _, c := range runs {
		in := receive(t, d.URL, c.n.coin, c.dest, "").InputAddress
		if r := checkRaw(t, c.n, d.URL, in); !strings.Contains(r, fmt.Sprintf(`/0/%d"`, 2*defaultGap)) {
			t.Errorf("%s: the first address after the recovery: %s", c.n.ticker, r)
		}
	}
	if c := d.Log.count("forward signed", nil); c != 1 {
		t.Errorf("%d forwards signed, want 1", c)
	}
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}

	// Bitcoin swept, Litecoin only listed.
	to := newAddress(t, btc)
	rep = runRecoverCLI(t, cfg, "--sweep-to="+to)
	l, b = rep.Coins[0], rep.Coins[1]
	if len(l.Sweeps) != 0 || l.SweepTo != "" || len(b.Sweeps) != 1 || b.Sweeps[0].Status != recovery.SweepBroadcast || b.SweepTo != to {
		t.Fatalf("sweeps: litecoin %+v, bitcoin %+v", l.Sweeps, b.Sweeps)
	}
	mine(t, btc, 1)
	if got := received(t, btc, to); got != b.Sweeps[0].Value || got != 5*btc.minDeposit-b.Sweeps[0].NetworkFee {
		t.Errorf("bitcoin sweep: %d received, sweep %+v", got, b.Sweeps[0])
	}
}
