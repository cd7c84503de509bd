package relay

import (
	"context"
	"sync"

	"github.com/ferry-relay/ferry/chain"
)

// Fetching ahead of the scan.
const (
	// prefetchDepth is how many blocks the scanner fetches ahead of the
	// one it applies: the node serves the next blocks while the scanner
	// scans and commits. (At most this many and one more are held
	// decoded: 20 MB at Bitcoin's largest blocks.)
	prefetchDepth = 4
	// prefetchFetchers is how many of those are asked of the node at once:
	// nodes serve RPC on several threads (Litecoin and Bitcoin Core on
	// four by default), and a block's request, transfer and decoding take
	// longer than its scan and commit.
	prefetchFetchers = 3
)

// fetched is a block fetched ahead, or why it could not be.
type fetched struct {
	height int64
	blk    *chain.Block
	err    error
}

// prefetch fetches and decodes the node's blocks at heights from to to,
// prefetchFetchers at a time, and sends them in height order on the
// channel it returns, which it closes after the last block or the first
// error. stop ends it early and waits for every goroutine it started; it
// must be called.
func (s *Scanner) prefetch(ctx context.Context, from, to int64) (blocks <-chan fetched, stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	out := make(chan fetched)
	// slots holds a channel per height asked for, in height order: the
	// fetcher of that height sends on it once.
	slots := make(chan chan fetched, prefetchDepth)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(slots)
		busy := make(chan struct{}, prefetchFetchers)
		for h := from; h <= to; h++ {
			slot := make(chan fetched, 1)
			select {
			case slots <- slot:
			case <-ctx.Done():
				return
			}
			select {
			case busy <- struct{}{}:
			case <-ctx.Done():
				return
			}
			wg.Go(func() {
				defer func() { <-busy }()
				f := fetched{height: h}
				hash, err := s.cfg.Blocks.BlockHash(ctx, h)
				if err == nil {
					f.blk, err = s.cfg.Coin.FetchBlock(ctx, s.cfg.Blocks, hash)
				}
				f.err = err
				slot <- f
			})
		}
	})
	wg.Go(func() {
		defer close(out)
		for slot := range slots {
			var f fetched
			select {
			case f = <-slot:
			case <-ctx.Done():
				return
			}
			select {
			case out <- f:
			case <-ctx.Done():
				return
			}
			if f.err != nil {
				cancel() // nothing after it is wanted
				return
			}
		}
	})
	return out, func() {
		cancel()
		for range out {
		}
		wg.Wait()
	}
}
