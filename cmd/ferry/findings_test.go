package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The regression tests of the review's findings, on real regtest nodes:
// each failed before its fix.

// TestCallbackAfterDowntime (finding 1): a deposit that has more
// confirmations than --max-callback-confirmations by the time its forward
// is accepted (ferry was down) still gets its callback, once; a merchant
// that does not answer *ok* is then given up on.
func TestCallbackAfterDowntime(t *testing.T) {
	forEachCoin(t, func(t *testing.T, n *node) {
		cfg := merchantConfig(t, n)
		cfg.MaxCallbackConfs = 5
		d := startFerry(t, cfg)
		m := startMerchant(t, cfg.DataDir)
		in := receive(t, d.URL, n.coin, newAddress(t, n), m.callbackURL(url.Values{"mode": {"no"}}))
		if err := d.Stop(); err != nil {
			t.Fatal(err)
		}
		op := pay(t, n, in.InputAddress, 3_000_000)
		mine(t, n, 10)

		d = startFerry(t, cfg)
		waitFor(t, "the callback", func() bool { return len(m.calls(t, "end", nil)) == 1 })
		mine(t, n, 3)
		waitScanned(t, n, d.URL)
		calls := m.calls(t, "start", nil)
		if len(calls) != 1 || calls[0].Get["confirmations"] != "10" || calls[0].Get["deposit_id"] != op.String() {
			t.Fatalf("%d callbacks, first %+v: want one, at 10 confirmations", len(calls), calls)
		}
		waitFor(t, "the callback given up", func() bool {
			r := check(t, n, d.URL, in.InputAddress)
			return r.Deposits[0].Callback != nil && r.Deposits[0].Callback.State == "gave_up"
		})
		if cb := check(t, n, d.URL, in.InputAddress).Deposits[0].Callback; cb.Attempts != 1 {
			t.Errorf("%d attempts, want 1", cb.Attempts)
		}
	})
}

// countingRPC is a reverse proxy in front of a node's RPC that counts the
// calls made through it, and refuses the next refuse broadcasts as a node
// does when a transaction's fee is too low (a node's failure mode).
type countingRPC struct {
	*httptest.Server
	calls, refuse atomic.Int64
}

func newCountingRPC(t *testing.T, rpcURL string) (*countingRPC, string) {
	t.Helper()
	target, err := url.Parse(rpcURL)
	if err != nil {
		t.Fatal(err)
	}
	c := &countingRPC{}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if bytes.Contains(body, []byte(`"sendrawtransaction"`)) && c.refuse.Add(-1) >= 0 {
			var req struct{ ID json.RawMessage }
			json.Unmarshal(body, &req)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"result":null,"error":{"code":-26,"message":"min relay fee not met, 140 < 141"},"id":%s}`, req.ID)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(c.Close)
	u, _ := url.Parse(c.URL)
	u.User = target.User
	return c, u.String()
}

// TestNodeBehindIsWaitedFor (finding 2): while the node is behind the scan
// cursor on the same chain (invalidateblock of its best block), the scanner
// waits for it, a call or a few a second, and does not spin.
func TestNodeBehindIsWaitedFor(t *testing.T) {
	forEachCoin(t, func(t *testing.T, n *node) {
		ctx := context.Background()
		cfg := nodeConfig(t, n, t.TempDir())
		rpc, proxied := newCountingRPC(t, n.rpcURL)
		if n.coin == "litecoin" {
			cfg.LTCRPC = proxied
		} else {
			cfg.BTCRPC = proxied
		}
		d := startFerry(t, cfg)
		top := mine(t, n, 2)
		waitScanned(t, n, d.URL)
		if err := n.InvalidateBlock(ctx, top[1]); err != nil {
			t.Fatal(err)
		}
		before := rpc.calls.Load()
		time.Sleep(3 * time.Second) // a window to count calls in, not a wait
		if calls := rpc.calls.Load() - before; calls > 100 {
			t.Errorf("%d RPC calls in 3 s while the node was behind", calls)
		}
		if r := health(t, d.URL); r.Coins[0].Halted != "" {
			t.Errorf("the scanner halted: %+v", r)
		}
		// A new block on the node's chain is followed: a reorg of one.
		mine(t, n, 2)
		waitScanned(t, n, d.URL)
		if c := d.Log.count("reorg: rolled back block", nil); c != 1 {
			t.Errorf("%d blocks rolled back, want 1", c)
		}
	})
}

// TestReorgRightAfterFirstStart (finding 3): a two-block reorg right after
// ferry's first start is rolled back and rescanned like any other.
func TestReorgRightAfterFirstStart(t *testing.T) {
	forEachCoin(t, func(t *testing.T, n *node) {
		ctx := context.Background()
		cfg := nodeConfig(t, n, t.TempDir())
		// Away from MWEB's activation, which litecoind cannot re-mine
		// across.
		mine(t, n, 3)
		tip, err := n.NodeClient().BlockCount(ctx)
		if err != nil {
			t.Fatal(err)
		}
		d := startFerry(t, cfg)
		waitScanned(t, n, d.URL)
		h1, err := n.NodeClient().BlockHash(ctx, tip-1)
		if err != nil {
			t.Fatal(err)
		}
		if err := n.InvalidateBlock(ctx, h1); err != nil {
			t.Fatal(err)
		}
		mine(t, n, 3)
		waitScanned(t, n, d.URL)
		if c := d.Log.count("reorg: rolled back block", nil); c != 2 {
			t.Errorf("%d blocks rolled back, want 2", c)
		}
		if r := health(t, d.URL); !r.OK {
			t.Errorf("unhealthy after the reorg: %+v", r)
		}
		// And ferry restarts on it.
		if err := d.Stop(); err != nil {
			t.Fatal(err)
		}
		d = startFerry(t, cfg)
		mine(t, n, 1)
		waitScanned(t, n, d.URL)
	})
}

// TestTwoDepositsInOneTransaction (finding 4): one transaction paying two
// input addresses makes two callbacks, alike in transaction_hash and told
// apart by vout and deposit_id.
func TestTwoDepositsInOneTransaction(t *testing.T) {
	forEachCoin(t, func(t *testing.T, n *node) {
		cfg := merchantConfig(t, n)
		d := startFerry(t, cfg)
		m := startMerchant(t, cfg.DataDir)
		a := receive(t, d.URL, n.coin, newAddress(t, n), m.callbackURL(url.Values{"order": {"1"}}))
		b := receive(t, d.URL, n.coin, newAddress(t, n), m.callbackURL(url.Values{"order": {"2"}}))
		txid, err := n.PayMany(context.Background(), map[string]int64{a.InputAddress: 2_000_000, b.InputAddress: 3_000_000})
		if err != nil {
			t.Fatal(err)
		}
		mine(t, n, 1)
		waitFor(t, "two callbacks", func() bool { return len(m.calls(t, "end", nil)) == 2 })
		ids := map[string]bool{}
		for _, order := range []string{"1", "2"} {
			calls := m.calls(t, "start", map[string]string{"order": order})
			if len(calls) != 1 {
				t.Fatalf("order %s: %d callbacks", order, len(calls))
			}
			c := calls[0].Get
			if c["transaction_hash"] != txid.String() || c["deposit_id"] != txid.String()+":"+c["vout"] {
				t.Errorf("order %s: transaction_hash %s, vout %s, deposit_id %s", order, c["transaction_hash"], c["vout"], c["deposit_id"])
			}
			ids[c["deposit_id"]] = true
		}
		if len(ids) != 2 {
			t.Errorf("the two callbacks share a deposit_id: %v", ids)
		}
		r := check(t, n, d.URL, b.InputAddress)
		if len(r.Deposits) != 1 || r.Deposits[0].TxID != txid.String() || !ids[txid.String()+":"+strconv.Itoa(int(r.Deposits[0].Vout))] {
			t.Errorf("/api/check: %+v", r.Deposits)
		}
	})
}

// TestSeedWithoutStore (finding 5): a data directory restored with its
// seed but not its store is refused, since it would hand out used indexes
// again; --first-index lets an operator who knows the highest index go on,
// past it.
func TestSeedWithoutStore(t *testing.T) {
	t.Parallel()
	n := startNode(t, "litecoin")
	cfg := nodeConfig(t, n, t.TempDir())
	d := startFerry(t, cfg)
	dest := newAddress(t, n)
	var used []string
	for range 3 {
		used = append(used, receive(t, d.URL, n.coin, dest, "").InputAddress)
	}
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(cfg.DataDir, "db")); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	err := Run(ctx, cfg, &logBuffer{}, nil)
	if !errors.Is(err, ErrSeedWithoutStore) || !strings.Contains(err.Error(), "--first-index") {
		t.Fatalf("start on a seed without its store: %v", err)
	}
	// Refused twice alike: the refusal recorded nothing.
	if err := Run(ctx, cfg, &logBuffer{}, nil); !errors.Is(err, ErrSeedWithoutStore) {
		t.Fatalf("second start: %v", err)
	}

	cfg.FirstIndex = 10
	d = startFerry(t, cfg)
	next := receive(t, d.URL, n.coin, dest, "").InputAddress
	for _, u := range used {
		if next == u {
			t.Fatalf("index handed out again: %s", u)
		}
	}
	if r := checkRaw(t, n, d.URL, next); !strings.Contains(r, `"path":"m/84'/2'/0'/0/10"`) {
		t.Errorf("the first address after --first-index 10: %s", r)
	}
	// The first index stays: a restart without the flag goes on from 11.
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	cfg.FirstIndex = 0
	d = startFerry(t, cfg)
	if r := checkRaw(t, n, d.URL, receive(t, d.URL, n.coin, dest, "").InputAddress); !strings.Contains(r, `"path":"m/84'/2'/0'/0/11"`) {
		t.Errorf("after a restart: %s", r)
	}
}

// TestPendingCallbacksHoldNoGoroutines (finding 6): two hundred callbacks
// pending to a host that never answers cost no goroutine each: the
// notifier's workers are a fixed pool. (Not parallel: the count is the
// whole process's.)
func TestPendingCallbacksHoldNoGoroutines(t *testing.T) {
	n := startNode(t, "litecoin")
	cfg := merchantConfig(t, n)
	// A host that accepts connections and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	d := startFerry(t, cfg)
	dest := newAddress(t, n)
	payments := map[string]int64{}
	var inputs []string
	for i := range 200 {
		in := receive(t, d.URL, n.coin, dest, fmt.Sprintf("http://%s/cb?order=%d", ln.Addr(), i)).InputAddress
		payments[in] = 2_000_000
		inputs = append(inputs, in)
	}
	runtime.GC()
	before := runtime.NumGoroutine()
	if _, err := n.PayMany(context.Background(), payments); err != nil {
		t.Fatal(err)
	}
	mine(t, n, 1)
	waitFor(t, "200 forwards", func() bool { return d.Log.count("forward broadcast", nil) == 200 })
	waitFor(t, "the callbacks to start", func() bool {
		cb := check(t, n, d.URL, inputs[0]).Deposits
		return len(cb) == 1 && cb[0].Callback != nil
	})
	if grown := runtime.NumGoroutine() - before; grown > 40 {
		t.Errorf("%d more goroutines with 200 callbacks pending", grown)
	}
}

// TestPaymentBeforeExpiryMinedAfter (finding 7): a payment broadcast before
// its address expired and mined after, while ferry was down, is picked up
// when ferry catches up.
func TestPaymentBeforeExpiryMinedAfter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n := startNode(t, "litecoin")
	cfg := nodeConfig(t, n, t.TempDir())
	d := startFerry(t, cfg)
	dest := newAddress(t, n)
	in := receive(t, d.URL, n.coin, dest, "").InputAddress
	start := time.Now()

	// Paid 29 days on; ferry goes down.
	if err := n.ltc.SetMockTime(ctx, start.Add(29*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	op := pay(t, n, in, 4_000_000)
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	// A block past the 30 days without the payment, then one with it.
	if err := n.ltc.Hold(ctx, op.Hash); err != nil {
		t.Fatal(err)
	}
	if err := n.ltc.SetMockTime(ctx, start.Add(31*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	mine(t, n, 1)
	if err := n.ltc.Release(ctx, op.Hash); err != nil {
		t.Fatal(err)
	}
	mine(t, n, 1)
	if tx, err := n.Tx(ctx, op.Hash); err != nil || tx.Confirmations != 1 {
		t.Fatalf("the payment is not in the last block: %+v, %v", tx, err)
	}

	d = startFerry(t, cfg)
	waitFor(t, "the payment's forward", func() bool { return !spender(t, n, op).IsZero() })
	if d.Log.count("deposit detected", map[string]any{"outpoint": op.String()}) != 1 {
		t.Error("the deposit was not detected")
	}
}

// TestVanishedDepositCallback (finding 8): a deposit double-spent away by a
// reorg after its forward takes its pending callback with it, and
// /api/check says what happened.
func TestVanishedDepositCallback(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n := startNode(t, "litecoin")
	cfg := merchantConfig(t, n)
	d := startFerry(t, cfg)
	m := startMerchant(t, cfg.DataDir)
	in := receive(t, d.URL, n.coin, newAddress(t, n), m.callbackURL(url.Values{"mode": {"no"}}))
	op := pay(t, n, in.InputAddress, 4_000_000)
	blk := mine(t, n, 1)[0]
	waitFor(t, "the first callback", func() bool { return len(m.calls(t, "end", nil)) == 1 })

	// The deposit's block is orphaned and the deposit double-spent to an
	// address that is not ferry's.
	if err := n.InvalidateBlock(ctx, blk); err != nil {
		t.Fatal(err)
	}
	if _, err := n.ltc.Replace(ctx, op.Hash, newAddress(t, n), 4_000_000); err != nil {
		t.Fatal(err)
	}
	mine(t, n, 2)
	waitScanned(t, n, d.URL)
	waitFor(t, "the callback to vanish", func() bool {
		r := check(t, n, d.URL, in.InputAddress)
		return len(r.Deposits) == 1 && r.Deposits[0].Callback != nil && r.Deposits[0].Callback.State == "vanished"
	})
	r := check(t, n, d.URL, in.InputAddress)
	if r.Status != "vanished" || r.Deposits[0].Status != "vanished" || r.Deposits[0].TxID != op.Hash.String() {
		t.Errorf("/api/check: %+v", r)
	}
	calls := len(m.calls(t, "start", nil))
	mine(t, n, 3)
	waitScanned(t, n, d.URL)
	if c := len(m.calls(t, "start", nil)); c != calls {
		t.Errorf("%d more callbacks for a vanished deposit", c-calls)
	}
}

// healthReply is /healthz's answer, as far as the tests read it.
type healthReply struct {
	OK    bool `json:"ok"`
	Coins []struct {
		ScanHeight int64  `json:"scan_height"`
		Halted     string `json:"halted"`
	} `json:"coins"`
}

func health(t *testing.T, base string) healthReply {
	t.Helper()
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h healthReply
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

// checkRaw returns /api/check's answer about one of n's input addresses.
func checkRaw(t *testing.T, n *node, base, addr string) string {
	t.Helper()
	resp, err := http.Get(base + "/api/check?" + url.Values{"method": {n.coin}, "address": {addr}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
