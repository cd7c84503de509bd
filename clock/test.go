package clock

import (
	"sort"
	"sync"
	"time"
)

// Test is a Clock that moves only when told to: Advance and SetTime move
// it and fire every wait that has come due, in order. It is safe for
// concurrent use.
type Test struct {
	mu      sync.Mutex
	now     time.Time
	waits   []wait
	changed *sync.Cond // signalled when a wait is added
}

type wait struct {
	at time.Time
	ch chan time.Time
}

var _ Clock = (*Test)(nil)

// NewTest returns a test clock reading start.
func NewTest(start time.Time) *Test {
	c := &Test{now: start}
	c.changed = sync.NewCond(&c.mu)
	return c
}

// Now returns the clock's time.
func (c *Test) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After returns a channel that receives the clock's time once it has been
// moved d past now. A wait of d <= 0 fires at once.
func (c *Test) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waits = append(c.waits, wait{at: c.now.Add(d), ch: ch})
	c.changed.Broadcast()
	return ch
}

// Advance moves the clock d forward and fires the waits that come due.
func (c *Test) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setLocked(c.now.Add(d))
}

// SetTime moves the clock to t (never backwards) and fires the waits that
// come due.
func (c *Test) SetTime(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.setLocked(t)
	}
}

func (c *Test) setLocked(t time.Time) {
	c.now = t
	sort.SliceStable(c.waits, func(i, j int) bool { return c.waits[i].at.Before(c.waits[j].at) })
	n := 0
	for _, w := range c.waits {
		if w.at.After(t) {
			c.waits[n] = w
			n++
			continue
		}
		w.ch <- t
	}
	c.waits = c.waits[:n]
}

// Waiters returns how many waits are pending.
func (c *Test) Waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waits)
}

// BlockUntil waits until at least n waits are pending, so that a test
// moves the clock only once the code under test is waiting on it. It gives
// up after timeout of real time and reports whether n were reached.
func (c *Test) BlockUntil(n int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	// A real timer wakes the wait below at the deadline.
	stop := time.AfterFunc(timeout, func() {
		c.mu.Lock()
		c.changed.Broadcast()
		c.mu.Unlock()
	})
	defer stop.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.waits) < n {
		if !time.Now().Before(deadline) {
			return false
		}
		c.changed.Wait()
	}
	return true
}
