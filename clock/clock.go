// Package clock is ferry's source of time: a Clock interface with the
// system clock behind it, and Test, a clock that tests move by hand, so
// that waits, retries and backoffs are tested without sleeping (after lnd's
// clock package).
package clock

import "time"

// Clock tells the time and waits. Every part of ferry that reads the time
// or waits for it takes a Clock, never the time package directly.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// After returns a channel that receives the time once d has passed.
	After(d time.Duration) <-chan time.Time
}

// System is the system clock.
type System struct{}

var _ Clock = System{}

// Now returns time.Now().
func (System) Now() time.Time { return time.Now() }

// After returns time.After(d).
func (System) After(d time.Duration) <-chan time.Time { return time.After(d) }
