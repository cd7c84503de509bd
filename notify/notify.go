// Package notify delivers ferry's outbound HTTP notifications: merchant
// callbacks and webhooks, read from durable queues.
//
// A Notifier reads the deliveries that are due from its queues, at most a
// bounded number at a time, and makes them with a fixed pool of workers,
// at most PerHost at a time to one host, so that a slow or dead endpoint
// never holds back another's. A host that does not answer (connection
// refused, timeout) is paused for a backoff that doubles with each failure.
// The queues are the durable part: they say what is due and record each
// outcome; the notifier holds in memory only what is in flight and a small
// buffer, whatever the length of the queues.
//
// Every kind of callback sent once per block until the merchant answers
// *ok* (a deposit's, an invoice's) is a BlockQueue over the store's
// delivery queue of its name, with the kind's Callbacks saying what each
// sends and when it ends; CallbackURL builds every callback's URL.
package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry/clock"
)

// Item is a delivery a queue says is due: enough to decide whether it can
// be made now, without building it.
type Item struct {
	// Key names what the item delivers (one deposit's callback, one
	// event): at most one delivery per key is in flight.
	Key string
	// Host is the endpoint's host and port, as the per-host limits count.
	Host string
	// Pos is the item's place in its queue: reading its host resumes
	// after it.
	Pos []byte
	// Ref is the queue's own reference to the item.
	Ref any
}

// Request is one HTTP request a queue builds for an item.
type Request struct {
	Method string
	URL    *url.URL
	Header http.Header
	Body   []byte
	// Ack says which answers count as delivered.
	Ack Ack
}

// Ack is a rule for answers that count as delivered.
type Ack int

const (
	// AckOK takes a 2xx answer whose body, trimmed, is "*ok*"
	// (LitePay's callbacks).
	AckOK Ack = iota
	// Ack2xx takes any 2xx answer (webhooks).
	Ack2xx
)

// Result is how one delivery went.
type Result struct {
	Time time.Time
	// Status is the HTTP status, or 0 without an answer.
	Status int
	// Err says why the delivery failed, in full (for the log: it may
	// name the endpoint's address or quote its answer); empty when it was
	// delivered.
	Err string
	// Class is the kind of failure (ClassTimeout, ClassRefused, …), all
	// that may be shown of it to anyone; empty when it was delivered.
	Class string
	// NoAnswer is set when the endpoint did not answer at all (refused,
	// timed out, unreachable): its host is backed off.
	NoAnswer bool
	Duration time.Duration
}

// Delivered reports whether the endpoint acknowledged the delivery.
func (r Result) Delivered() bool { return r.Err == "" }

// ErrDropped is returned by Queue.Build for an item that is no longer to
// be delivered (the queue has settled it otherwise).
var ErrDropped = errors.New("delivery dropped")

// Queue is a durable queue of deliveries, grouped by host and ordered by
// when they came due within a host. Its methods are called from several
// goroutines.
type Queue interface {
	// Due returns up to limit items due now, host by host, starting
	// after the position after (nil: the start), and the position to
	// resume from, or nil once it has read its last host. want says how
	// many of a host's items the notifier can take now, and the item's
	// Pos to take them after (nil: the host's first); a queue passes over
	// a host it wants none of without reading its backlog, and reads a
	// host from its first again once nothing due is left after the Pos.
	Due(ctx context.Context, after []byte, limit int, want func(host string) (n int, from []byte)) (items []Item, next []byte, err error)
	// Build makes the request of an item, or returns ErrDropped.
	Build(ctx context.Context, it Item) (*Request, error)
	// Done records how the delivery of an item went, durably, and
	// schedules what comes next for it.
	Done(ctx context.Context, it Item, res Result) error
}

// Timed is implemented by a queue whose items also come due with time
// (retries on a schedule), not only when the notifier is woken.
type Timed interface {
	// NextDue returns when the next item not yet due comes due, and
	// false if none is waiting for a time.
	NextDue(ctx context.Context) (time.Time, bool, error)
}

// Outbound is how deliveries reach endpoints; *torproxy.Dialer implements
// it, checking every address it dials.
type Outbound interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// Config configures a Notifier.
type Config struct {
	Queues   []Queue
	Outbound Outbound
	Clock    clock.Clock
	// Timeout bounds one request.
	Timeout time.Duration
	// Workers bounds the requests in flight; PerHost those to one host.
	Workers, PerHost int
	// MinBackoff and MaxBackoff bound the pause of a host that did not
	// answer: MinBackoff after one failure, doubling up to MaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// UserAgent is sent with every request.
	UserAgent string
	// Metrics is told of every delivery tried; nil: nothing is.
	Metrics Metrics
	Log     zerolog.Logger
}

// Metrics is what the notifier reports. *metrics.Metrics implements it.
type Metrics interface {
	// Attempt is one delivery of queue: outcome is "delivered",
	// "refused" (answered, not acknowledged) or "no_answer".
	Attempt(queue, outcome string)
}

// Named is implemented by a queue with a name for the metrics ("ltc",
// "inv-ltc", "wh"); others are "queue".
type Named interface {
	Name() string
}

// DefaultConfig returns the defaults: 32 workers, 2 per host, a 10 s
// timeout, host backoff from 5 s to 5 min.
func DefaultConfig() Config {
	return Config{
		Timeout:    10 * time.Second,
		Workers:    32,
		PerHost:    2,
		MinBackoff: 5 * time.Second,
		MaxBackoff: 5 * time.Minute,
		UserAgent:  "ferry/1",
		Clock:      clock.System{},
		Log:        zerolog.Nop(),
	}
}

// Validate reports the first field that is missing or out of range.
func (c Config) Validate() error {
	switch {
	case c.Outbound == nil:
		return errors.New("Outbound: required")
	case c.Clock == nil:
		return errors.New("Clock: required")
	case c.Timeout <= 0:
		return fmt.Errorf("Timeout: must be positive, not %v", c.Timeout)
	case c.Workers < 1:
		return fmt.Errorf("Workers: must be at least 1, not %d", c.Workers)
	case c.PerHost < 1 || c.PerHost > c.Workers:
		return fmt.Errorf("PerHost: must be from 1 to Workers (%d), not %d", c.Workers, c.PerHost)
	case c.MinBackoff <= 0 || c.MaxBackoff < c.MinBackoff:
		return fmt.Errorf("MinBackoff, MaxBackoff: want 0 < %v <= %v", c.MinBackoff, c.MaxBackoff)
	}
	return nil
}
