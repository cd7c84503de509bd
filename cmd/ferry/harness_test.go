package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/relay/relaytest"
)

// TestMain lets the test binary stand in for the ferry binary: run with
// FERRY_TEST_MAIN=1 it is ferry, so tests can kill a real ferry process.
func TestMain(m *testing.M) {
	if os.Getenv("FERRY_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// waitTimeout bounds every wait for the daemon or the node.
const waitTimeout = relaytest.Timeout

// logBuffer collects a daemon's log lines for tests to wait on.
type logBuffer struct {
	mu    sync.Mutex
	lines []map[string]any
	raw   bytes.Buffer
	part  []byte
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.raw.Write(p)
	b.part = append(b.part, p...)
	for {
		i := bytes.IndexByte(b.part, '\n')
		if i < 0 {
			break
		}
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(b.part[:i]))
		dec.UseNumber()
		if dec.Decode(&m) == nil {
			b.lines = append(b.lines, m)
		}
		b.part = b.part[i+1:]
	}
	return len(p), nil
}

// count returns how many lines have message msg and every field in match.
func (b *logBuffer) count(msg string, match map[string]any) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
next:
	for _, l := range b.lines {
		if l["message"] != msg {
			continue
		}
		for k, v := range match {
			if fmt.Sprint(l[k]) != fmt.Sprint(v) {
				continue next
			}
		}
		n++
	}
	return n
}

// find returns the first line with message msg and the fields in match.
func (b *logBuffer) find(msg string, match map[string]any) map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
next:
	for _, l := range b.lines {
		if l["message"] != msg {
			continue
		}
		for k, v := range match {
			if fmt.Sprint(l[k]) != fmt.Sprint(v) {
				continue next
			}
		}
		return l
	}
	return nil
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.raw.String()
}

// testDaemon is a ferry run in-process.
type testDaemon struct {
	URL  string
	Log  *logBuffer
	stop func() error
}

// startFerry runs ferry in-process with cfg until Stop or the end of the test.
func startFerry(t *testing.T, cfg Config) *testDaemon {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &testDaemon{Log: &logBuffer{}}
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, d.Log, func(a net.Addr) { addr <- a }) }()
	select {
	case a := <-addr:
		d.URL = "http://" + a.String()
	case err := <-done:
		cancel()
		t.Fatalf("ferry did not start: %v\n%s", err, d.Log)
	case <-time.After(waitTimeout):
		cancel()
		t.Fatal("ferry did not start")
	}
	var once sync.Once
	var runErr error
	d.stop = func() error {
		once.Do(func() {
			cancel()
			runErr = <-done
		})
		return runErr
	}
	t.Cleanup(func() {
		if err := d.stop(); err != nil {
			t.Errorf("ferry: %v", err)
		}
		if t.Failed() {
			t.Logf("ferry log:\n%s", d.Log)
		}
	})
	return d
}

// Stop stops the daemon and returns what Run returned.
func (d *testDaemon) Stop() error { return d.stop() }

// receiveReply is /api/receive's answer.
type receiveReply struct {
	CallbackURL  string `json:"callback_url"`
	InputAddress string `json:"input_address"`
	Destination  string `json:"destination"`
	FeePercent   string `json:"fee_percent"`
	CallbackReq  string `json:"callback_req"`
}

// receive mints an input address paying to dest.
func receive(t *testing.T, base, method, dest, callback string) receiveReply {
	t.Helper()
	q := url.Values{"method": {method}, "address": {dest}}
	if callback == "" {
		q.Set("callback_req", "0")
	} else {
		q.Set("callback", callback)
	}
	resp, err := http.Get(base + "/api/receive?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("receive: %d %s", resp.StatusCode, body)
	}
	var r receiveReply
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// waitFor is relaytest.WaitFor.
var waitFor = relaytest.WaitFor

// deposit pays sat to addr from the node's wallet and returns the outpoint.
func pay(t *testing.T, n *node, addr string, sat int64) ferry.OutPoint {
	t.Helper()
	ctx := context.Background()
	txid, err := n.Pay(ctx, addr, sat)
	if err != nil {
		t.Fatal(err)
	}
	return outputTo(t, n, txid, addr)
}

// outputTo finds the output of txid that pays addr.
func outputTo(t *testing.T, n *node, txid ferry.Hash, addr string) ferry.OutPoint {
	t.Helper()
	tx, err := n.Tx(context.Background(), txid)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range tx.Vout {
		if o.ScriptPubKey.AddressText() == addr {
			return ferry.OutPoint{Hash: txid, Index: o.N}
		}
	}
	t.Fatalf("%s pays nothing to %s", txid, addr)
	return ferry.OutPoint{}
}

// spender returns the id of the transaction, in the mempool or one of the
// last 20 blocks, that spends op, or the zero hash if none does. (btcd's
// gettxout does not see spends in its mempool, so the transactions are
// read.)
func spender(t *testing.T, n *node, op ferry.OutPoint) ferry.Hash {
	t.Helper()
	ctx := context.Background()
	rpc := n.NodeClient()
	cands, err := n.Mempool(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tip, err := rpc.BlockCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for h := tip; h > tip-20 && h > 0; h-- {
		var blk struct {
			Tx []string `json:"tx"`
		}
		hash, err := rpc.BlockHash(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		if err := rpc.Call(ctx, "getblock", &blk, hash.String(), 1); err != nil {
			t.Fatal(err)
		}
		for _, s := range blk.Tx[1:] {
			id, _ := ferry.ParseHash(s)
			cands = append(cands, id)
		}
	}
	for _, id := range cands {
		tx, err := n.Tx(ctx, id)
		if err != nil {
			continue
		}
		for _, in := range tx.Vin {
			if in.TxID == op.Hash.String() && in.Vout == op.Index {
				return id
			}
		}
	}
	return ferry.Hash{}
}

// received returns what addr, a wallet address, has received in blocks.
func received(t *testing.T, n *node, addr string) int64 {
	t.Helper()
	v, err := n.Received(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mine(t *testing.T, n *node, count int) []ferry.Hash {
	t.Helper()
	hs, err := n.Mine(context.Background(), count)
	if err != nil {
		t.Fatal(err)
	}
	return hs
}

// waitScanned waits until the daemon has scanned n's best block.
func waitScanned(t *testing.T, n *node, base string) {
	t.Helper()
	tip, err := n.NodeClient().BlockCount(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, fmt.Sprintf("scan of %s block %d", n.coin, tip), func() bool {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var h struct {
			Coins []struct {
				Coin       string `json:"coin"`
				ScanHeight int64  `json:"scan_height"`
			} `json:"coins"`
		}
		json.NewDecoder(resp.Body).Decode(&h)
		for _, c := range h.Coins {
			if c.Coin == n.coin {
				return c.ScanHeight == tip
			}
		}
		return false
	})
}

// process is ferry run as a child process, for tests that kill it.
type process struct {
	cmd   *exec.Cmd
	Log   *logBuffer
	URL   string
	done  chan struct{}
	ready chan string
}

// startProcess runs this test binary as ferry with cfg's flags. If killOn
// is not empty, the process is killed with SIGKILL the moment it logs a line
// with that message.
func startProcess(t *testing.T, cfg Config, killOn string) *process {
	t.Helper()
	// Every flag, from cfg's values.
	var args []string
	cfg.flagSet(io.Discard).VisitAll(func(f *flag.Flag) { args = append(args, "--"+f.Name+"="+f.Value.String()) })
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "FERRY_TEST_MAIN=1")
	return startCmd(t, cmd, killOn)
}

// startCmd runs cmd, a ferry that logs JSON lines on stderr, and waits
// until it has started, as startProcess does.
func startCmd(t *testing.T, cmd *exec.Cmd, killOn string) *process {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, Log: &logBuffer{}, done: make(chan struct{}), ready: make(chan string, 1)}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := append(sc.Bytes(), '\n')
			var m map[string]any
			if json.Unmarshal(line, &m) == nil {
				if killOn != "" && m["message"] == killOn {
					cmd.Process.Signal(syscall.SIGKILL)
				}
				if m["message"] == "ferry started" {
					p.ready <- fmt.Sprint(m["listen"])
				}
			}
			p.Log.Write(line)
		}
		cmd.Wait()
		close(p.done)
	}()
	select {
	case a := <-p.ready:
		p.URL = "http://" + a
	case <-p.done:
		t.Fatalf("ferry exited at start:\n%s", p.Log)
	case <-time.After(waitTimeout):
		t.Fatal("ferry did not start")
	}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("ferry process log:\n%s", p.Log)
		}
	})
	return p
}

// Kill sends SIGKILL and waits for the process to end.
func (p *process) Kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.Wait()
}

// Wait waits for the process to end, failing the test after waitTimeout.
func (p *process) Wait() {
	select {
	case <-p.done:
	case <-time.After(waitTimeout):
		panic("ferry process did not end")
	}
}
