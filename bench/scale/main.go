// Command scale runs the real ferry daemon on a store of many addresses:
// it fills a store with -n input addresses through the store's own API (each
// key derived from the seed as the daemon derives it, each address put and
// synced as the daemon puts it, many at once), starts the ferry binary on it
// against litecoind -regtest, and reports the store's size on disk, the time
// from the start to a ready API (watch set loaded, /healthz answering), the
// daemon's resident memory, and how soon a deposit to the last address and
// one to the first, mined in the same block, are forwarded and called back.
//
//	go build -o bin/ferry ./cmd/ferry && go run ./bench/scale -ferry bin/ferry -n 10000000
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/bench/rig"
	"github.com/ferry-relay/ferry/chain/regtest"
)

// config is what a run does.
type config struct {
	ferry string // the ferry binary; built if empty
	n     int    // addresses
	// cache, if set, keeps a filled store there, to start later runs of
	// the same n from a copy of it while developing.
	cache string
}

// result is what a run measured.
type result struct {
	n               int
	fill            time.Duration
	storeBytes      int64
	ready           time.Duration
	rssStart        int64 // peak from the start until ready
	rssSteady       int64 // peak from ready until the deposits are called back
	forward, called [2]time.Duration
}

func main() {
	var cfg config
	flag.StringVar(&cfg.ferry, "ferry", "", "the ferry binary (built into a temporary directory if empty)")
	flag.IntVar(&cfg.n, "n", 10_000_000, "input addresses in the store")
	flag.StringVar(&cfg.cache, "cache", "", "keep the filled store in this directory, and start later runs of the same -n from a copy")
	flag.Parse()
	r, err := run(context.Background(), cfg, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
	perAddr := float64(r.storeBytes) / float64(r.n)
	fmt.Printf("\n%d addresses\n", r.n)
	fmt.Printf("  store on disk      %s, %.1f bytes/address (target <= 120)\n", rig.MB(r.storeBytes), perAddr)
	fmt.Printf("  start to ready     %v (target <= 10 s)\n", r.ready.Round(10*time.Millisecond))
	fmt.Printf("  RSS                %s peak while starting; %s steady peak (target <= 256 MB)\n", rig.MB(r.rssStart), rig.MB(r.rssSteady))
	fmt.Printf("  deposit to the first address:  forwarded %v, called back %v after its block\n", r.forward[0].Round(time.Millisecond), r.called[0].Round(time.Millisecond))
	fmt.Printf("  deposit to address %d: forwarded %v, called back %v after the same block\n", r.n, r.forward[1].Round(time.Millisecond), r.called[1].Round(time.Millisecond))
}

// filled describes a filled store: its size, and its first and last
// addresses, whose callbacks go to the sink's port.
type filled struct {
	N        int
	Fill     time.Duration
	SinkPort int
	First    string
	Last     string
}

func run(ctx context.Context, cfg config, out io.Writer) (*result, error) {
	e, err := rig.Setup(ctx, "scale", cfg.ferry)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	dir, l := e.Dir, e.Node
	cfg.ferry = e.Ferry

	// The store: filled now, or copied from the cache.
	data := filepath.Join(dir, "ferry")
	var fl *filled
	cached := filepath.Join(cfg.cache, fmt.Sprintf("n%d", cfg.n))
	if cfg.cache != "" {
		if b, err := os.ReadFile(filepath.Join(cached, "filled.json")); err == nil && json.Unmarshal(b, &fl) == nil {
			fmt.Fprintf(out, "copying the store of %d addresses from %s\n", cfg.n, cached)
			if out, err := exec.Command("cp", "-a", filepath.Join(cached, "ferry"), data).CombinedOutput(); err != nil {
				return nil, fmt.Errorf("copy the cached store: %v: %s", err, out)
			}
		}
	}
	if fl == nil {
		port, err := regtest.FreePort()
		if err != nil {
			return nil, err
		}
		fl = &filled{N: cfg.n, SinkPort: port}
		start := time.Now()
		if fl.First, fl.Last, err = fill(ctx, data, cfg.n, fmt.Sprintf("http://127.0.0.1:%d/cb", port), out); err != nil {
			return nil, err
		}
		fl.Fill = time.Since(start)
		if cfg.cache != "" {
			os.RemoveAll(cached)
			os.MkdirAll(cached, 0o700)
			if out, err := exec.Command("cp", "-a", data, filepath.Join(cached, "ferry")).CombinedOutput(); err != nil {
				return nil, fmt.Errorf("cache the store: %v: %s", err, out)
			}
			b, _ := json.Marshal(fl)
			os.WriteFile(filepath.Join(cached, "filled.json"), b, 0o600)
		}
	}
	r := &result{n: cfg.n, fill: fl.Fill, storeBytes: rig.DirSize(filepath.Join(data, "db"))}
	fmt.Fprintf(out, "store: %d addresses filled in %v, %s on disk\n", cfg.n, fl.Fill.Round(time.Second), rig.MB(r.storeBytes))

	// The node, the callback sink, and ferry.
	fee, err := l.NewAddress(ctx)
	if err != nil {
		return nil, err
	}
	sink, err := rig.NewSink(fl.SinkPort)
	if err != nil {
		return nil, err
	}
	defer sink.Close()
	f, err := rig.StartFerry(cfg.ferry, filepath.Join(dir, "ferry.log"),
		e.FerryArgs(data, fee, "--callback-allow-private")...)
	if err != nil {
		return nil, err
	}
	defer f.Stop()
	starting := rig.SampleRSS(f.Pid(), 10*time.Millisecond)
	if r.ready, err = f.WaitReady(5 * time.Minute); err != nil {
		starting.Stop()
		return nil, err
	}
	r.rssStart = starting.Stop()
	fmt.Fprintf(out, "ferry ready %v after its start\n", r.ready.Round(10*time.Millisecond))
	steady := rig.SampleRSS(f.Pid(), 50*time.Millisecond)
	defer steady.Stop()
	tip, err := l.Node.BlockCount(ctx)
	if err != nil {
		return nil, err
	}
	if err := rig.Within(time.Minute, "ferry scanning the node's best block", func() bool { return f.ScanHeight() >= tip }); err != nil {
		return nil, err
	}

	// A deposit to the first address and one to the last, in one block.
	var ops [2]ferry.OutPoint
	for i, addr := range []string{fl.First, fl.Last} {
		txid, err := l.Pay(ctx, addr, 50_000_000)
		if err != nil {
			return nil, err
		}
		if ops[i], err = outputTo(ctx, l, txid, addr); err != nil {
			return nil, err
		}
	}
	mined := time.Now()
	if _, err := l.Mine(ctx, 1); err != nil {
		return nil, err
	}
	if err := rig.Within(time.Minute, "both callbacks", func() bool {
		_, a := sink.Arrived(fl.First)
		_, b := sink.Arrived(fl.Last)
		return a && b
	}); err != nil {
		return nil, fmt.Errorf("%w\n%s", err, f.Tail(30))
	}
	for i, addr := range []string{fl.First, fl.Last} {
		at, _ := sink.Arrived(addr)
		r.called[i] = at.Sub(mined)
		lines := f.Log("forward broadcast")
		for _, line := range lines {
			if line["outpoint"] == ops[i].String() {
				r.forward[i] = line.Time().Sub(mined)
			}
		}
		if r.forward[i] == 0 {
			return nil, fmt.Errorf("no forward broadcast of %s in the log", ops[i])
		}
	}
	time.Sleep(2 * time.Second) // a steady moment after the work
	r.rssSteady = steady.Stop()
	return r, nil
}

// outputTo finds the output of txid that pays addr.
func outputTo(ctx context.Context, l *regtest.Litecoind, txid ferry.Hash, addr string) (ferry.OutPoint, error) {
	tx, err := l.Tx(ctx, txid)
	if err != nil {
		return ferry.OutPoint{}, err
	}
	for _, o := range tx.Vout {
		if o.ScriptPubKey.AddressText() == addr {
			return ferry.OutPoint{Hash: txid, Index: o.N}, nil
		}
	}
	return ferry.OutPoint{}, fmt.Errorf("%s pays nothing to %s", txid, addr)
}
