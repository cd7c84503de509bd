package clock_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ferry-relay/ferry/clock"
)

func TestTestClock(t *testing.T) {
	start := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	c := clock.NewTest(start)
	late := c.After(2 * time.Second)
	early := c.After(time.Second)
	now := c.After(0)
	select {
	case got := <-now:
		if !got.Equal(start) {
			t.Errorf("a zero wait fired at %v", got)
		}
	default:
		t.Fatal("a zero wait did not fire at once")
	}
	if c.Waiters() != 2 {
		t.Fatalf("%d waiters, want 2", c.Waiters())
	}

	c.Advance(1500 * time.Millisecond)
	select {
	case got := <-early:
		if !got.Equal(start.Add(1500 * time.Millisecond)) {
			t.Errorf("early fired at %v", got)
		}
	default:
		t.Fatal("early did not fire")
	}
	select {
	case <-late:
		t.Fatal("late fired early")
	default:
	}
	c.SetTime(start) // backwards: ignored
	if !c.Now().Equal(start.Add(1500 * time.Millisecond)) {
		t.Errorf("clock went back to %v", c.Now())
	}
	c.SetTime(start.Add(time.Hour))
	if got := <-late; !got.Equal(start.Add(time.Hour)) {
		t.Errorf("late fired at %v", got)
	}
	if c.Waiters() != 0 {
		t.Errorf("%d waiters left", c.Waiters())
	}
}

func TestBlockUntil(t *testing.T) {
	c := clock.NewTest(time.Unix(0, 0))
	go func() { <-c.After(time.Minute) }()
	if !c.BlockUntil(1, 10*time.Second) {
		t.Fatal("the waiting goroutine was never seen")
	}
	if c.BlockUntil(2, 10*time.Millisecond) {
		t.Fatal("BlockUntil(2) returned true with one waiter")
	}
	c.Advance(time.Minute)
}

// ExampleTest shows a retry loop tested without sleeping: the test moves
// the clock once the loop waits on it.
func ExampleTest() {
	c := clock.NewTest(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	done := make(chan time.Time)
	go func() { done <- <-c.After(30 * time.Second) }()
	c.BlockUntil(1, time.Second)
	c.Advance(30 * time.Second)
	fmt.Println((<-done).Format(time.TimeOnly))
	// Output: 00:00:30
}
