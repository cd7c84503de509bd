// Command mint measures minting over HTTP: /api/receive of a real ferry
// process (regtest litecoind behind it, synced store, no rate limit) under
// 64 concurrent clients of this process, next to a bare net/http handler,
// in a process of its own, answering a body of the same size. Runs
// alternate, bare then ferry, and the medians are compared. Before each
// bare run, ferry is left to finish its background work (keys derived
// ahead), so that it takes no processor from the bare server. Then ferry
// is measured sustained: a run of -drain requests uses up its keys
// derived ahead, and a run straight after it is measured.
//
//	go build -o bin/ferry ./cmd/ferry && go run ./bench/mint -ferry bin/ferry -n 20000 -runs 3
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/ferry-relay/ferry/bench/rig"
	"github.com/ferry-relay/ferry/relay"
)

// config is what a run measures.
type config struct {
	ferry   string // the ferry binary; built if empty
	n       int    // requests per run
	clients int
	runs    int
	drain   int // requests that use up ferry's keys derived ahead
}

// result is what it measured: the medians of the runs.
type result struct {
	bare, ferry []rig.LoadResult
	ratio       float64
	p99         time.Duration // ferry's median p99
	minted      int
	medianFerry float64
	medianBare  float64
	// sustained is a ferry run straight after one of drain requests.
	sustained rig.LoadResult
}

func main() {
	rig.ServeBareIfAsked()
	var cfg config
	flag.StringVar(&cfg.ferry, "ferry", "", "the ferry binary (built into a temporary directory if empty)")
	flag.IntVar(&cfg.n, "n", 20000, "requests per run")
	flag.IntVar(&cfg.clients, "clients", 64, "concurrent clients")
	flag.IntVar(&cfg.runs, "runs", 3, "runs of each, alternating")
	flag.IntVar(&cfg.drain, "drain", relay.DefaultDeriveAhead, "requests before the sustained run, to use up the keys ferry derived ahead")
	flag.Parse()
	r, err := run(context.Background(), cfg, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mint:", err)
		os.Exit(1)
	}
	fmt.Printf("median: bare %.0f req/s, /api/receive %.0f req/s: %.2fx (target >= 0.5x); ferry's p99 %v (target <= 20 ms)\n",
		r.medianBare, r.medianFerry, r.ratio, r.p99.Round(100*time.Microsecond))
	fmt.Printf("sustained, keys derived ahead used up: %.0f req/s, %.2fx, p99 %v\n", r.sustained.PerSecond(), r.sustained.PerSecond()/r.medianBare, r.sustained.P99.Round(100*time.Microsecond))
}

func run(ctx context.Context, cfg config, out io.Writer) (*result, error) {
	e, err := rig.Setup(ctx, "mint", cfg.ferry)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	dir, l := e.Dir, e.Node
	cfg.ferry = e.Ferry

	addrs, err := e.NewAddresses(ctx, 2)
	if err != nil {
		return nil, err
	}
	fee, dest := addrs[0], addrs[1]
	f, err := rig.StartFerry(cfg.ferry, filepath.Join(dir, "ferry.log"),
		e.FerryArgs(filepath.Join(dir, "ferry"), fee)...)
	if err != nil {
		return nil, err
	}
	defer f.Stop()
	if _, err := f.WaitReady(time.Minute); err != nil {
		return nil, err
	}

	// A request as LitePay's clients make it: a destination and a
	// callback URL of the order (not looked up: callback_req=0).
	receive := func(i int) string {
		cb := fmt.Sprintf("https://shop.example/ferry/callback.php?order=%d", 100000+i)
		return f.URL + "/api/receive?method=litecoin&callback_req=0&address=" + dest + "&callback=" + url.QueryEscape(cb)
	}
	minted := 0
	check := func(body []byte) error {
		var r struct {
			InputAddress string `json:"input_address"`
		}
		if err := json.Unmarshal(body, &r); err != nil || r.InputAddress == "" {
			return fmt.Errorf("not an address: %s (%v)", body, err)
		}
		return nil
	}
	resp, err := http.Get(receive(0))
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := check(body); err != nil {
		return nil, err
	}
	bare, err := rig.StartBare(string(bytes.TrimSpace(body)) + "\n")
	if err != nil {
		return nil, err
	}
	defer bare.Stop()
	bareURL := func(int) string { return bare.URL + "/api/receive?method=litecoin&callback_req=0&address=" + dest }

	// A short warm-up of each, then alternate runs.
	warm := max(cfg.n/10, 1)
	if _, err := rig.Load(ctx, cfg.clients, warm, bareURL, nil); err != nil {
		return nil, fmt.Errorf("bare: %w", err)
	}
	if _, err := rig.Load(ctx, cfg.clients, warm, func(i int) string { return receive(1_000_000 + i) }, check); err != nil {
		return nil, fmt.Errorf("ferry: %w", err)
	}
	minted += 1 + warm
	r := &result{}
	var bareRates, ferryRates, p99s []float64
	for i := range cfg.runs {
		quiet, err := rig.WaitQuiet(f.Pid(), time.Minute)
		if err != nil {
			return nil, err
		}
		bcpu0, _ := rig.CPUTime(bare.Pid())
		bself0, _ := rig.CPUTime(os.Getpid())
		b, err := rig.Load(ctx, cfg.clients, cfg.n, bareURL, nil)
		if err != nil {
			return nil, fmt.Errorf("bare: %w", err)
		}
		bcpu1, _ := rig.CPUTime(bare.Pid())
		bself1, _ := rig.CPUTime(os.Getpid())
		cpu0, _ := rig.CPUTime(f.Pid())
		self0, _ := rig.CPUTime(os.Getpid())
		node0, _ := rig.CPUTime(l.Pid())
		fr, err := rig.Load(ctx, cfg.clients, cfg.n, func(j int) string { return receive(2_000_000 + i*cfg.n + j) }, check)
		if err != nil {
			return nil, fmt.Errorf("ferry: %w", err)
		}
		cpu1, _ := rig.CPUTime(f.Pid())
		self1, _ := rig.CPUTime(os.Getpid())
		node1, _ := rig.CPUTime(l.Pid())
		minted += cfg.n
		per := func(d time.Duration) time.Duration { return (d / time.Duration(cfg.n)).Round(time.Microsecond) }
		fmt.Fprintf(out, "run %d (ferry quiet after %v): bare %s | /api/receive %s | %.2fx\n", i+1, quiet.Round(time.Millisecond), b, fr, fr.PerSecond()/b.PerSecond())
		fmt.Fprintf(out, "       CPU per request: bare %v + clients %v | ferry %v + clients %v + litecoind %v\n",
			per(bcpu1-bcpu0), per(bself1-bself0), per(cpu1-cpu0), per(self1-self0), per(node1-node0))
		r.bare, r.ferry = append(r.bare, b), append(r.ferry, fr)
		bareRates, ferryRates = append(bareRates, b.PerSecond()), append(ferryRates, fr.PerSecond())
		p99s = append(p99s, float64(fr.P99))
	}
	// What ferry sustains once its keys derived ahead are used up: a
	// run of drain requests, and one straight after it, measured.
	if _, err := rig.Load(ctx, cfg.clients, cfg.drain, func(j int) string { return receive(8_000_000 + j) }, check); err != nil {
		return nil, fmt.Errorf("ferry: %w", err)
	}
	sus, err := rig.Load(ctx, cfg.clients, cfg.n, func(j int) string { return receive(9_000_000 + j) }, check)
	if err != nil {
		return nil, fmt.Errorf("ferry: %w", err)
	}
	minted += cfg.drain + cfg.n
	r.sustained = sus
	fmt.Fprintf(out, "back to back: /api/receive %s | %.2fx of the median bare run\n", sus, sus.PerSecond()/rig.Median(bareRates))
	r.medianBare, r.medianFerry = rig.Median(bareRates), rig.Median(ferryRates)
	r.ratio = r.medianFerry / r.medianBare
	r.p99 = time.Duration(rig.Median(p99s))
	r.minted = minted
	return r, nil
}
