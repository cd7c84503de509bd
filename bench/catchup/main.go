// Command catchup measures how fast ferry catches up after downtime: it
// mints input addresses on a ferry process over litecoind -regtest, stops
// it, mines -blocks blocks filled with transactions (-txs each, with
// -outputs outputs each; one in -every pays an input address), and then,
// in alternating runs, times a plain client fetching the same raw blocks
// from the node one after the other, and ferry, started again on a copy of
// its data directory, scanning them (from its API answering until its
// scan height is the node's tip).
//
//	go build -o bin/ferry ./cmd/ferry && go run ./bench/catchup -ferry bin/ferry -blocks 1000
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/bench/rig"
	"github.com/ferry-relay/ferry/chain"
)

// config is what a run does.
type config struct {
	ferry                string
	blocks, txs, outputs int
	addresses, every     int
	runs                 int
}

// result is what it measured.
type result struct {
	blocks             int64
	bytes              int64
	plain, ferry       []float64 // blocks per second, per run
	deposits, paid     int
	medPlain, medFerry float64
}

func main() {
	var cfg config
	flag.StringVar(&cfg.ferry, "ferry", "", "the ferry binary (built into a temporary directory if empty)")
	flag.IntVar(&cfg.blocks, "blocks", 1000, "blocks of downtime")
	flag.IntVar(&cfg.txs, "txs", 250, "transactions per block")
	flag.IntVar(&cfg.outputs, "outputs", 20, "outputs per transaction")
	flag.IntVar(&cfg.addresses, "addresses", 100, "input addresses minted before the downtime")
	flag.IntVar(&cfg.every, "every", 100, "one transaction in this many pays an input address")
	flag.IntVar(&cfg.runs, "runs", 3, "runs of each, alternating")
	flag.Parse()
	r, err := run(context.Background(), cfg, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "catchup:", err)
		os.Exit(1)
	}
	fmt.Printf("median: plain client %.1f blocks/s, ferry %.1f blocks/s: %.2fx (target >= 0.8x)\n", r.medPlain, r.medFerry, r.medFerry/r.medPlain)
}

func run(ctx context.Context, cfg config, out io.Writer) (*result, error) {
	e, err := rig.Setup(ctx, "catchup", cfg.ferry)
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
	ltc, _ := chain.Litecoin(chain.Regtest)
	data := filepath.Join(dir, "ferry")
	args := func(data string) []string { return e.FerryArgs(data, fee) }

	// Input addresses, minted before the downtime.
	f, err := rig.StartFerry(cfg.ferry, filepath.Join(dir, "mint.log"), args(data)...)
	if err != nil {
		return nil, err
	}
	if _, err := f.WaitReady(time.Minute); err != nil {
		return nil, err
	}
	var inputs [][]byte
	for range cfg.addresses {
		resp, err := http.Get(f.URL + "/api/receive?method=litecoin&callback_req=0&address=" + dest)
		if err != nil {
			f.Stop()
			return nil, err
		}
		var r struct {
			InputAddress string `json:"input_address"`
		}
		err = json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		d, perr := ltc.ParseDestination(r.InputAddress)
		if err != nil || perr != nil {
			f.Stop()
			return nil, fmt.Errorf("mint: %v %v", err, perr)
		}
		inputs = append(inputs, d.Script)
	}
	if err := f.Stop(); err != nil {
		return nil, err
	}
	from, err := l.Node.BlockCount(ctx)
	if err != nil {
		return nil, err
	}

	// The downtime: blocks filled with transactions.
	start := time.Now()
	// One transaction in every pays an input address: payment k is made
	// by chain k mod txs, so that the chains share them (each makes at
	// most blocks/every), and each chain is funded for its share.
	const payment = 2_000_000
	perChain := int64(cfg.blocks)*(int64(cfg.outputs)*10_000+50_000) + int64((cfg.blocks+cfg.every-1)/cfg.every)*payment + ferry.SatoshiPerCoin
	spend, err := rig.NewSpender(ctx, l, cfg.txs, perChain)
	if err != nil {
		return nil, err
	}
	r := &result{}
	for b := range cfg.blocks {
		lo, hi := r.paid, (b+1)*cfg.txs/cfg.every // the payments of this block
		err := spend.Fill(ctx, cfg.outputs, func(i int) (rig.Payment, bool) {
			k := lo + (i-lo%cfg.txs+cfg.txs)%cfg.txs // chain i's payment, if this block has it
			if k >= hi {
				return rig.Payment{}, false
			}
			r.paid++
			return rig.Payment{Script: inputs[k%len(inputs)], Value: payment}, true
		})
		if err != nil {
			return nil, fmt.Errorf("block %d: %w", b, err)
		}
		if _, err := l.Mine(ctx, 1); err != nil {
			return nil, err
		}
		if b%100 == 99 {
			fmt.Fprintf(out, "  %d blocks mined\n", b+1)
		}
	}
	if pool, err := l.Mempool(ctx); err != nil || len(pool) != 0 {
		return nil, fmt.Errorf("%d transactions left out of the blocks (%v)", len(pool), err)
	}
	tip, err := l.Node.BlockCount(ctx)
	if err != nil {
		return nil, err
	}
	r.blocks = tip - from
	fmt.Fprintf(out, "%d blocks of %d transactions (%d outputs each, %d paying input addresses) made in %v\n",
		r.blocks, cfg.txs, cfg.outputs, r.paid, time.Since(start).Round(time.Second))

	// Alternating runs.
	plain, err := rig.NewPlainClient(l.RPCURL)
	if err != nil {
		return nil, err
	}
	defer plain.Close()
	var plainRates, ferryRates []float64
	for i := range cfg.runs {
		t0 := time.Now()
		size, err := plain.Blocks(ctx, from+1, tip)
		if err != nil {
			return nil, fmt.Errorf("plain client: %w", err)
		}
		p := float64(r.blocks) / time.Since(t0).Seconds()
		r.bytes = size

		runData := filepath.Join(dir, fmt.Sprintf("run%d", i))
		if out, err := exec.Command("cp", "-a", data, runData).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("copy the data directory: %v: %s", err, out)
		}
		f, err := rig.StartFerry(cfg.ferry, filepath.Join(dir, fmt.Sprintf("run%d.log", i)), args(runData)...)
		if err != nil {
			return nil, err
		}
		if _, err := f.WaitReady(time.Minute); err != nil {
			f.Stop()
			return nil, err
		}
		t1 := time.Now()
		err = rig.Within(10*time.Minute, "the catch-up", func() bool { return f.ScanHeight() >= tip })
		fr := float64(r.blocks) / time.Since(t1).Seconds()
		deposits := len(f.Log("deposit detected"))
		f.Stop()
		os.RemoveAll(runData)
		if err != nil {
			return nil, err
		}
		r.deposits = deposits
		fmt.Fprintf(out, "run %d: plain client %.1f blocks/s (%.1f MB/s) | ferry %.1f blocks/s, %d deposits found | %.2fx\n",
			i+1, p, p*float64(size)/float64(r.blocks)/(1<<20), fr, deposits, fr/p)
		plainRates, ferryRates = append(plainRates, p), append(ferryRates, fr)
	}
	r.plain, r.ferry = plainRates, ferryRates
	r.medPlain, r.medFerry = rig.Median(plainRates), rig.Median(ferryRates)
	if r.deposits != r.paid {
		return r, fmt.Errorf("ferry found %d deposits; %d were paid", r.deposits, r.paid)
	}
	return r, nil
}
