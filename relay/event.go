package relay

import (
	"context"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/store"
)

// Event is what the relay publishes as deposits go through their lives: a
// deposit whose state changed (seen in the mempool, confirmed in a block,
// held, forwarded, refunded, donated), with what the relay knows of it
// then; or, with Deposit nil, a block scanned (applied or rolled back, and
// the forwarder's pass over it done).
//
// Events let the parts that follow deposits (the invoice engine) act at
// once instead of at their next look; the store stays the record. They
// are sent without ever waiting: a reader that falls behind loses events,
// never holds the relay back, and finds what it missed at its next look.
type Event struct {
	Coin string
	// Height is the block's: the block scanned, or the one that holds the
	// deposit (0 for a deposit in the mempool).
	Height  int64
	Deposit *ferry.Deposit
}

// publisher sends events on a channel without waiting; a nil channel
// takes none.
type publisher chan<- Event

// publish sends ev, or drops it if the channel is full.
func (p publisher) publish(ev Event) {
	if p == nil {
		return
	}
	select {
	case p <- ev:
	default:
	}
}

// blockEvents gathers the events of the blocks a coin's scanner applies,
// to be published once the forwarder's pass over them is done: whoever
// hears that a deposit is confirmed finds its forward broadcast already.
// It is a BlockObserver of the scanner; the coin's step goroutine alone
// uses it.
type blockEvents struct {
	id      string
	min     ferry.Amount
	pending []Event
}

var _ BlockObserver = (*blockEvents)(nil)

// Applied gathers each deposit of c, confirmed (or, below the minimum,
// donated) in its block.
func (o *blockEvents) Applied(_ context.Context, c *store.Changes) {
	for i := range c.Deposits {
		d := c.Deposits[i]
		d.Coin, d.State, d.Confirmations = ferry.Coin(o.id), ferry.DepositConfirmed, 1
		if d.Value < o.min {
			d.State = ferry.DepositDonated
		}
		o.pending = append(o.pending, Event{Coin: o.id, Height: c.Height, Deposit: &d})
	}
}

// RolledBack gathers nothing: the block event that follows tells of it.
func (*blockEvents) RolledBack(context.Context, string, *store.Undo) {}

// publish publishes what was gathered, then the block at height, and
// forgets them.
func (o *blockEvents) publish(pub publisher, height int64) {
	for _, ev := range o.pending {
		pub.publish(ev)
	}
	clear(o.pending)
	o.pending = o.pending[:0]
	pub.publish(Event{Coin: o.id, Height: height})
}
