package relay

import (
	"context"

	"github.com/ferry-relay/ferry/chain"
)

// prefetchDepth is how many blocks the scanner fetches ahead of the one it
// applies: the node serves the next blocks while the scanner scans and
// commits. (At most this many and one more are held decoded: 20 MB at
// Bitcoin's largest blocks.)
const prefetchDepth = 4

// fetched is a block fetched ahead, or why it could not be.
type fetched struct {
	height int64
	blk    *chain.Block
	err    error
}

// prefetch fetches and decodes the node's blocks at heights from to to, in
// order, from a goroutine of its own, and sends them on the channel it
// returns, which it closes after the last block or the first error. stop
// ends it early and waits for it; it must be called.
func (s *Scanner) prefetch(ctx context.Context, from, to int64) (blocks <-chan fetched, stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	ch := make(chan fetched, prefetchDepth)
	go func() {
		defer close(ch)
		for h := from; h <= to; h++ {
			f := fetched{height: h}
			hash, err := s.cfg.Blocks.BlockHash(ctx, h)
			if err == nil {
				f.blk, err = s.fetch(ctx, hash)
			}
			f.err = err
			select {
			case ch <- f:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return ch, func() {
		cancel()
		for range ch {
		}
	}
}
