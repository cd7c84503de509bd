package relay

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/store"
)

// Backoff bounds of a coin's pipeline.
const (
	// minRetry and maxRetry bound the wait before a step that failed
	// (the node down) or a forwarder pass left incomplete is tried again.
	minRetry = time.Second
	maxRetry = 30 * time.Second
)

// coinRunner is one coin at run time: its parts, assembled, and the
// pipeline that runs them.
type coinRunner struct {
	Coin
	id        string
	watch     *store.WatchSet
	scanner   *Scanner
	forwarder *Forwarder
	mempool   *MempoolWatcher
	minter    *Minter
	waker     Waker
	pub       publisher
	events    *blockEvents
	clock     clock.Clock
	log       zerolog.Logger

	// passedAt is the cursor block at the last forwarder pass; retryAt,
	// when set, is when a pass left incomplete is tried again, after
	// retryWait.
	passedAt  ferry.Hash
	retryAt   time.Time
	retryWait time.Duration

	// nodeTip keeps the node's height for Health.
	nodeTip tipCache

	halted atomic.Pointer[string]
	// nudged asks for a forwarder pass at the next step.
	nudged atomic.Bool
}

// run is the coin's pipeline loop: step after step, with backoff while the
// node fails. It returns nil when ctx is done, or a fatal error.
func (c *coinRunner) run(ctx context.Context) error {
	c.log.Info().Int("watched", c.watch.Len()).Int("open_deposits", c.scanner.OpenDeposits()).Msg("scanner starting")
	backoff := minRetry
	for ctx.Err() == nil {
		err := c.step(ctx)
		if err == nil {
			backoff = minRetry
			continue
		}
		if ctx.Err() != nil {
			break
		}
		var fatal fatalError
		if errors.As(err, &fatal) {
			msg := err.Error()
			c.halted.Store(&msg)
			c.log.Error().Err(err).Msg("scanner halted")
			return fmt.Errorf("%s scanner: %w", c.Chain.Name(), err)
		}
		c.log.Warn().Err(err).Dur("retry_in", backoff).Msg("scanner")
		select {
		case <-ctx.Done():
		case <-c.clock.After(backoff):
		}
		backoff = min(2*backoff, maxRetry)
	}
	c.log.Info().Msg("scanner stopped")
	return nil
}

// step is one turn of the pipeline: blocks to the store, deposits to
// transactions, a wake-up for what follows the blocks (callbacks due,
// invoices), and a wait for what comes next.
func (c *coinRunner) step(ctx context.Context) error {
	// Blocks to the store.
	cur, err := c.scanner.Sync(ctx)
	if err != nil {
		return err
	}

	// Deposits to transactions: once per block, and again after a wait
	// when a pass could not reach the node.
	if cur.Hash != c.passedAt || c.retryDue() || c.nudged.Swap(false) {
		c.passedAt = cur.Hash
		if c.forwarder.Forward(ctx, cur.Height) {
			c.retryAt, c.retryWait = time.Time{}, 0
		} else {
			c.retryWait = min(max(2*c.retryWait, minRetry), maxRetry)
			c.retryAt = c.clock.Now().Add(c.retryWait)
		}
		// Callbacks due at this height; what follows the blocks.
		c.waker.Wake()
		c.events.publish(c.pub, cur.Height)
	}

	// The next block, or the forwarder's retry.
	return c.scanner.Wait(ctx, c.retryAt)
}

// retryDue reports whether an incomplete forwarder pass is due again.
func (c *coinRunner) retryDue() bool {
	return !c.retryAt.IsZero() && !c.clock.Now().Before(c.retryAt)
}
