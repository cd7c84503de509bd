package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/store"
)

// payout is where the first and the last address forward to.
const payout = "rltc1qjmxnz78nmc8nq77wuxh25n2es7rzm5c23g5xdr"

// merchants is how many shops the other addresses belong to: each has a
// destination and a callback URL of its own, and each address the number
// of its order in the URL.
const merchants = 100

// fill makes a data directory with a new seed and a store of n input
// addresses of Litecoin regtest, as the daemon makes them: keys derived
// from the seed in batches, addresses put through the store's PutAddress
// by many callers at once (group commit, each synced). The first and the
// last pay out to payout and call back cb; it returns their texts.
func fill(ctx context.Context, data string, n int, cb string, out io.Writer) (first, last string, err error) {
	if err := os.MkdirAll(data, 0o700); err != nil {
		return "", "", err
	}
	seed, _, err := store.LoadSecret(filepath.Join(data, "seed"), chain.SeedLen)
	if err != nil {
		return "", "", err
	}
	fp, err := chain.SeedFingerprint(seed)
	if err != nil {
		return "", "", err
	}
	db, err := store.Open(data)
	if err != nil {
		return "", "", err
	}
	defer db.Close()
	if err := db.CheckNetwork("regtest"); err != nil {
		return "", "", err
	}
	if err := db.CheckSeed(fp); err != nil {
		return "", "", err
	}
	coin, _ := chain.Litecoin(chain.Regtest)
	keys, err := chain.NewKeychain(seed, coin.CoinType())
	if err != nil {
		return "", "", err
	}
	own, err := coin.ParseDestination(payout)
	if err != nil {
		return "", "", err
	}
	shops := make([]chain.Destination, merchants)
	rng := rand.New(rand.NewPCG(14, 14))
	for i := range shops {
		var p [20]byte
		for j := range p {
			p[j] = byte(rng.Uint32())
		}
		d, _ := coin.InputAddress(p)
		shops[i] = d
	}

	// Workers take batches of indexes, derive them together and put
	// each address from a goroutine of its own, as concurrent API calls
	// would.
	const batch = 64
	var next, done atomic.Int64
	var firstLast [2]string
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	start := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for t := time.NewTicker(10 * time.Second); ; {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				d := done.Load()
				fmt.Fprintf(out, "  %d addresses, %.0f/s\n", d, float64(d)/time.Since(start).Seconds())
			}
		}
	}()
	for range 4 * runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for failed.Load() == nil && ctx.Err() == nil {
				from := next.Add(batch) - batch
				if from >= int64(n) {
					return
				}
				m := int(min(batch, int64(n)-from))
				progs, errs := keys.Programs(uint32(from), m)
				var puts sync.WaitGroup
				for i := range m {
					if errs[i] != nil {
						continue // an index without a key, skipped as the minter does
					}
					index := uint32(from) + uint32(i)
					in, err := coin.InputAddress(progs[i])
					if err != nil {
						failed.Store(&err)
						return
					}
					shop := int(index) % merchants
					a := &store.Address{Coin: "ltc", Index: index, Program: progs[i], Address: in.Address,
						Destination: shops[shop].Address, DestScript: shops[shop].Script,
						Callback: fmt.Sprintf("https://shop%d.example/ferry/callback.php?order=%d", shop, 100000+index), Created: time.Now().UTC()}
					if index == 0 || int(index) == n-1 {
						a.Destination, a.DestScript, a.Callback, a.CallbackReq = own.Address, own.Script, cb, true
						firstLast[min(int(index), 1)] = in.Address
					}
					puts.Go(func() {
						if err := db.PutAddress(a); err != nil {
							failed.Store(&err)
						}
						done.Add(1)
					})
				}
				puts.Wait()
			}
		})
	}
	wg.Wait()
	if e := failed.Load(); e != nil {
		return "", "", *e
	}
	if n == 1 {
		firstLast[1] = firstLast[0]
	}
	return firstLast[0], firstLast[1], nil
}
