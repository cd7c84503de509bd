// Command blocklatency measures how soon ferry scans a new block: it runs
// litecoind -regtest and a ferry binary, mines blocks one at a time at
// random moments, and times each from generatetoaddress's answer until
// ferry's /healthz reports the block scanned (polled every 2 ms).
//
//	go build -o bin/ferry ./cmd/ferry && go run ./bench/blocklatency -ferry bin/ferry
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/ferry-relay/ferry/bench/rig"
	"github.com/ferry-relay/ferry/chain/regtest"
)

func main() {
	ferryBin := flag.String("ferry", "bin/ferry", "the ferry binary")
	blocks := flag.Int("blocks", 30, "blocks to time")
	flag.Parse()
	if _, err := run(*ferryBin, *blocks, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "blocklatency:", err)
		os.Exit(1)
	}
}

func run(ferryBin string, blocks int, out io.Writer) ([]time.Duration, error) {
	ctx := context.Background()
	e, err := rig.Setup(ctx, "latency", ferryBin)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	dir, l := e.Dir, e.Node
	fee, _ := l.NewAddress(ctx)
	port, _ := regtest.FreePort()
	cmd := exec.Command(e.Ferry, append([]string{"--listen", fmt.Sprintf("127.0.0.1:%d", port)}, e.FerryArgs(filepath.Join(dir, "ferry"), fee)...)...)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	health := fmt.Sprintf("http://127.0.0.1:%d/healthz", port)
	height := func() int64 {
		resp, err := http.Get(health)
		if err != nil {
			return -1
		}
		defer resp.Body.Close()
		var h struct {
			Coins []struct {
				ScanHeight int64 `json:"scan_height"`
			} `json:"coins"`
		}
		json.NewDecoder(resp.Body).Decode(&h)
		if len(h.Coins) == 0 {
			return -1
		}
		return h.Coins[0].ScanHeight
	}
	tip, _ := l.Node.BlockCount(ctx)
	for deadline := time.Now().Add(30 * time.Second); height() != tip; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("ferry did not catch up")
		}
	}

	var lat []time.Duration
	for range blocks {
		time.Sleep(time.Duration(rand.IntN(1500)) * time.Millisecond) // a block at a random moment
		if _, err := l.Mine(ctx, 1); err != nil {
			return nil, err
		}
		start := time.Now()
		tip++
		for height() < tip {
			if time.Since(start) > 10*time.Second {
				return nil, fmt.Errorf("block %d not scanned in 10 s", tip)
			}
			time.Sleep(2 * time.Millisecond)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	fmt.Fprintf(out, "%d blocks: p50 %v  p90 %v  max %v\n", len(lat),
		lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)*9/10].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
	return lat, nil
}
