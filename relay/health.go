package relay

import (
	"context"
	"sync"
	"time"

	"github.com/ferry-relay/ferry/clock"
)

// healthTTL is how long Health's view of a node holds: however many
// requests ask (/healthz is public), each node is asked at most once per
// healthTTL.
const healthTTL = time.Second

// healthTimeout bounds Health's question to a node.
const healthTimeout = 3 * time.Second

// tipCache keeps a node's answer to BlockCount for Health, for healthTTL
// of the clock. One caller at a time asks the node; the others wait for
// its answer and share it. It is safe for concurrent use.
type tipCache struct {
	once sync.Once
	// turn holds one token: the right to read the cache and ask the node.
	turn chan struct{}
	// at is when the node was last asked (zero: never), and tip and err
	// its answer.
	at  time.Time
	tip int64
	err error
}

// get returns the node's height as fetch last told it within healthTTL of
// clk's now, or asks it again. It waits for another caller's question
// until ctx is done.
func (c *tipCache) get(ctx context.Context, clk clock.Clock, fetch func(context.Context) (int64, error)) (int64, error) {
	c.once.Do(func() { c.turn = make(chan struct{}, 1) })
	select {
	case c.turn <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	defer func() { <-c.turn }()
	now := clk.Now()
	if !c.at.IsZero() && !now.Before(c.at) && now.Sub(c.at) < healthTTL {
		return c.tip, c.err
	}
	// The node is asked apart from the caller's request: a client that
	// hangs up must not leave its cancellation as everyone's answer.
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), healthTimeout)
	defer cancel()
	c.tip, c.err = fetch(qctx)
	c.at = now
	return c.tip, c.err
}
