// Command forward measures a busy block: -n deposits to as many input
// addresses of a ferry process (litecoind -regtest behind it, callbacks to
// a local sink) confirmed in one block. It times the block's mining until
// every forward is in the node's mempool, and then, with the node
// restarted on an empty mempool, the node's own sendrawtransaction of the
// same transactions from a plain client, one after the other.
//
//	go build -o bin/ferry ./cmd/ferry && go run ./bench/forward -ferry bin/ferry -n 5000
package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferry-relay/ferry/bench/rig"
	"github.com/ferry-relay/ferry/chain"
)

// config is what a run does.
type config struct {
	ferry string
	n     int
}

// result is what it measured.
type result struct {
	n                 int
	forwarded         time.Duration // the block's mining to every forward in the mempool
	called            time.Duration // to every callback answered
	node              time.Duration // the node's sendrawtransaction of them all, one at a time
	perFerry, perNode time.Duration
}

func main() {
	var cfg config
	flag.StringVar(&cfg.ferry, "ferry", "", "the ferry binary (built into a temporary directory if empty)")
	flag.IntVar(&cfg.n, "n", 5000, "deposits in the block")
	flag.Parse()
	r, err := run(context.Background(), cfg, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "forward:", err)
		os.Exit(1)
	}
	fmt.Printf("%d deposits in one block: every forward signed, recorded and broadcast %v after the block (target <= 30 s), "+
		"called back after %v\n", r.n, r.forwarded.Round(time.Millisecond), r.called.Round(time.Millisecond))
	fmt.Printf("per forward: ferry %v; the node's own sendrawtransaction of the same transaction %v (%.1fx)\n",
		r.perFerry.Round(time.Microsecond), r.perNode.Round(time.Microsecond), float64(r.perFerry)/float64(r.perNode))
}

func run(ctx context.Context, cfg config, out io.Writer) (*result, error) {
	e, err := rig.Setup(ctx, "forward", cfg.ferry)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	dir, l := e.Dir, e.Node
	cfg.ferry = e.Ferry
	// The merchant's and the fee address are no wallet's: a wallet of
	// the node would put the forwards back in its mempool at its restart.
	ltc, _ := chain.Litecoin(chain.Regtest)
	fee, _ := ltc.InputAddress([20]byte{0xfe, 0xe0})
	dest, _ := ltc.InputAddress([20]byte{0xde, 0x57})
	sink, err := rig.NewSink(0)
	if err != nil {
		return nil, err
	}
	defer sink.Close()
	f, err := rig.StartFerry(cfg.ferry, filepath.Join(dir, "ferry.log"),
		e.FerryArgs(filepath.Join(dir, "ferry"), fee.Address, "--callback-allow-private")...)
	if err != nil {
		return nil, err
	}
	defer f.Stop()
	if _, err := f.WaitReady(time.Minute); err != nil {
		return nil, err
	}

	// n input addresses, minted by 16 clients, calling back the sink.
	inputs := make([]string, cfg.n)
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	cb := url.QueryEscape(fmt.Sprintf("http://%s/cb", sink.Addr()))
	for range 16 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < cfg.n && failed.Load() == nil; i = int(next.Add(1) - 1) {
				resp, err := http.Get(f.URL + "/api/receive?method=litecoin&address=" + dest.Address + "&callback=" + cb)
				if err == nil {
					var r struct {
						InputAddress string `json:"input_address"`
					}
					err = json.NewDecoder(resp.Body).Decode(&r)
					resp.Body.Close()
					inputs[i] = r.InputAddress
				}
				if err != nil {
					failed.Store(&err)
				}
			}
		})
	}
	wg.Wait()
	if e := failed.Load(); e != nil {
		return nil, fmt.Errorf("mint: %w", *e)
	}

	// Paid in transactions of at most 1,000 outputs, mined in one block.
	for i := 0; i < cfg.n; i += 1000 {
		pay := map[string]int64{}
		for _, a := range inputs[i:min(i+1000, cfg.n)] {
			pay[a] = 2_000_000
		}
		if _, err := l.PayMany(ctx, pay); err != nil {
			return nil, err
		}
	}
	payments, err := l.Mempool(ctx)
	if err != nil {
		return nil, err
	}
	mined := time.Now()
	if _, err := l.Mine(ctx, 1); err != nil {
		return nil, err
	}
	r := &result{n: cfg.n}
	// Polled by its size alone: listing thousands of transactions would
	// hold the node's lock against the broadcasts.
	err = rig.Within(2*time.Minute, "every forward in the mempool", func() bool {
		var info struct {
			Size int `json:"size"`
		}
		err := l.Node.Call(ctx, "getmempoolinfo", &info)
		return err == nil && info.Size >= cfg.n
	})
	if err != nil {
		return nil, fmt.Errorf("%w\n%s", err, f.Tail(20))
	}
	r.forwarded = time.Since(mined)
	if err := rig.Within(5*time.Minute, "every callback", func() bool { return sink.Calls() >= cfg.n }); err != nil {
		return nil, err
	}
	r.called = time.Since(mined)
	fmt.Fprintf(out, "%d payments (%d transactions) mined; forwards in the mempool after %v; callbacks after %v\n",
		cfg.n, len(payments), r.forwarded.Round(time.Millisecond), r.called.Round(time.Millisecond))

	// The same transactions, from a node with an empty mempool.
	pool, err := l.Mempool(ctx)
	if err != nil {
		return nil, err
	}
	raws := make([][]byte, 0, len(pool))
	for _, id := range pool {
		var s string
		if err := l.Node.Call(ctx, "getrawtransaction", &s, id.String()); err != nil {
			return nil, err
		}
		raw, err := hex.DecodeString(s)
		if err != nil {
			return nil, err
		}
		raws = append(raws, raw)
	}
	if err := f.Stop(); err != nil {
		return nil, err
	}
	if err := l.Stop(); err != nil {
		return nil, err
	}
	os.Remove(filepath.Join(dir, "node", "regtest", "mempool.dat"))
	if err := l.Restart(ctx); err != nil {
		return nil, err
	}
	if pool, err := l.Mempool(ctx); err != nil || len(pool) != 0 {
		return nil, fmt.Errorf("restarted node's mempool: %d transactions, %v", len(pool), err)
	}
	node, err := chain.NewNode(l.RPCURL)
	if err != nil {
		return nil, err
	}
	defer node.Close()
	start := time.Now()
	for _, raw := range raws {
		if _, err := node.SendRawTransaction(ctx, raw); err != nil {
			return nil, fmt.Errorf("the node's own sendrawtransaction: %w", err)
		}
	}
	r.node = time.Since(start)
	r.perFerry = r.forwarded / time.Duration(cfg.n)
	r.perNode = r.node / time.Duration(len(raws))
	fmt.Fprintf(out, "the node accepted the same %d transactions, one after the other, in %v\n", len(raws), r.node.Round(time.Millisecond))
	return r, nil
}
