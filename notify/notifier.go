package notify

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"
)

// Notifier makes the deliveries its queues say are due. Create it with
// New and call Run; Wake tells it that something may have come due. Wake
// is safe for concurrent use.
type Notifier struct {
	cfg    Config
	client *http.Client
	wake   chan struct{}
	done   chan finished

	// The dispatcher's state, touched by Run's goroutine only.
	queues   []*queueState
	buffer   []buffered
	known    map[string]bool // keys buffered or in flight
	hosts    map[string]*hostState
	inflight int
}

type queueState struct {
	q   Queue
	pos []byte
}

// buffered is an item read from a queue and not yet dispatched.
type buffered struct {
	qs *queueState
	it Item
}

// hostState counts one host's items, says when it may be tried again, and
// where its reading resumes in each queue (so that the deliveries already
// made are never read past again).
type hostState struct {
	inflight, buffered int
	failures           int
	pausedUntil        time.Time
	pos                map[*queueState][]byte
}

// finished is a worker's report on one item.
type finished struct {
	host, key string
	noAnswer  bool
	answered  bool
}

// bufferPerHost bounds the items of one host waiting to be dispatched: a
// host's backlog stays in its queue.
const bufferPerHost = 4

// New returns a notifier for cfg.
func New(cfg Config) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := &Notifier{
		cfg:    cfg,
		client: newClient(cfg),
		wake:   make(chan struct{}, 1),
		done:   make(chan finished, cfg.Workers),
		known:  map[string]bool{},
		hosts:  map[string]*hostState{},
	}
	for _, q := range cfg.Queues {
		n.queues = append(n.queues, &queueState{q: q})
	}
	return n, nil
}

// Add adds a queue to read deliveries from. It must be called before Run.
func (n *Notifier) Add(qs ...Queue) {
	for _, q := range qs {
		n.queues = append(n.queues, &queueState{q: q})
	}
}

// Wake tells the notifier that deliveries may have come due (a new block,
// a new event). It never blocks.
func (n *Notifier) Wake() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// Run makes deliveries until ctx is done, then waits for the requests in
// flight to end (they end with ctx) and returns nil.
func (n *Notifier) Run(ctx context.Context) error {
	work := make(chan buffered)
	var workers sync.WaitGroup
	for range n.cfg.Workers {
		workers.Go(func() {
			for b := range work {
				n.done <- n.deliver(ctx, b)
			}
		})
	}
	defer func() {
		close(work)
		go func() { workers.Wait(); close(n.done) }()
		for range n.done { // drain, so that no worker blocks on its report
		}
		n.client.CloseIdleConnections()
	}()

	for ctx.Err() == nil {
		// Read what is due, dispatch what may go; again while that makes
		// progress and workers are free.
		added := n.fill(ctx)
		sent, err := n.dispatch(ctx, work)
		if err != nil {
			return nil
		}
		if (added || sent) && n.inflight < n.cfg.Workers {
			continue
		}

		// Wait for a worker, a wake-up, a host's pause to end, or a
		// timed queue's next item.
		var timer <-chan time.Time
		if d, ok := n.nextWait(ctx); ok {
			timer = n.cfg.Clock.After(d)
		}
		select {
		case <-ctx.Done():
		case <-n.wake:
		case <-timer:
		case f := <-n.done:
			n.finish(f)
		}
		for more := true; more; { // and whatever else finished meanwhile
			select {
			case f := <-n.done:
				n.finish(f)
			default:
				more = false
			}
		}
	}
	return nil
}

// capacity bounds the buffer.
func (n *Notifier) capacity() int { return 4 * n.cfg.Workers }

// fill reads due items into the buffer until it is full or each queue has
// been read through once. It reports whether it buffered anything.
func (n *Notifier) fill(ctx context.Context) bool {
	now := n.cfg.Clock.Now()
	added := false
	for _, qs := range n.queues {
		want := func(host string) (int, []byte) {
			if len(n.buffer) >= n.capacity() {
				return 0, nil
			}
			h := n.hosts[host]
			if h == nil {
				return bufferPerHost, nil
			}
			if h.pausedUntil.After(now) || h.buffered >= bufferPerHost {
				return 0, nil
			}
			return bufferPerHost - h.buffered, h.pos[qs]
		}
		start, wrapped := qs.pos, false
		for len(n.buffer) < n.capacity() {
			items, next, err := qs.q.Due(ctx, qs.pos, n.capacity(), want)
			if err != nil {
				if ctx.Err() == nil {
					n.cfg.Log.Error().Err(err).Msg("read queue")
				}
				break
			}
			for _, it := range items {
				if n.known[it.Key] {
					continue
				}
				h := n.hosts[it.Host]
				if h == nil {
					h = &hostState{pos: map[*queueState][]byte{}}
					n.hosts[it.Host] = h
				}
				h.pos[qs] = it.Pos
				if h.buffered >= bufferPerHost || len(n.buffer) >= n.capacity() {
					continue
				}
				h.buffered++
				n.known[it.Key] = true
				n.buffer = append(n.buffer, buffered{qs: qs, it: it})
				added = true
			}
			qs.pos = next
			if next != nil {
				continue
			}
			if start == nil || wrapped {
				break
			}
			wrapped = true // and on from the first host
		}
	}
	return added
}

// dispatch hands the buffered items whose hosts are ready to the workers,
// in order. It reports whether it sent any, and ctx's error if it ended.
func (n *Notifier) dispatch(ctx context.Context, work chan<- buffered) (bool, error) {
	now := n.cfg.Clock.Now()
	sent := false
	for i := 0; i < len(n.buffer) && n.inflight < n.cfg.Workers; {
		b := n.buffer[i]
		h := n.hosts[b.it.Host]
		if h.inflight >= n.cfg.PerHost || h.pausedUntil.After(now) {
			i++
			continue
		}
		n.buffer = append(n.buffer[:i], n.buffer[i+1:]...)
		h.buffered--
		h.inflight++
		n.inflight++
		sent = true
		select {
		case work <- b:
		case <-ctx.Done():
			return sent, ctx.Err()
		}
	}
	return sent, nil
}

// nextWait returns how long until a paused host may be tried again or a
// timed queue's next item comes due, and false if nothing is waiting for a
// time.
func (n *Notifier) nextWait(ctx context.Context) (time.Duration, bool) {
	now := n.cfg.Clock.Now()
	var next time.Time
	earlier := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	for name, h := range n.hosts {
		if h.pausedUntil.After(now) {
			earlier(h.pausedUntil)
		}
		n.forget(name, h)
	}
	for _, qs := range n.queues {
		if tq, ok := qs.q.(Timed); ok {
			if t, ok, err := tq.NextDue(ctx); err == nil && ok {
				earlier(t)
			}
		}
	}
	if next.IsZero() {
		return 0, false
	}
	return max(next.Sub(now), 0), true
}

// finish accounts for a worker's report: a host that did not answer is
// paused for a backoff that doubles with each failure; one that answered
// is trusted again.
func (n *Notifier) finish(f finished) {
	n.inflight--
	delete(n.known, f.key)
	h := n.hosts[f.host]
	h.inflight--
	switch {
	case f.noAnswer:
		h.failures++
		backoff := n.cfg.MinBackoff << min(h.failures-1, 20)
		h.pausedUntil = n.cfg.Clock.Now().Add(min(backoff, n.cfg.MaxBackoff))
	case f.answered:
		h.failures, h.pausedUntil = 0, time.Time{}
	}
	n.forget(f.host, h)
}

// forget drops a host's state once nothing of it is buffered or in flight
// and it is not paused: a failing host is remembered through its pause, so
// that its backoff keeps doubling while its items wait in the queue.
func (n *Notifier) forget(name string, h *hostState) {
	if h.inflight == 0 && h.buffered == 0 && !h.pausedUntil.Add(n.cfg.MaxBackoff).After(n.cfg.Clock.Now()) {
		delete(n.hosts, name)
	}
}

// deliver builds and makes one request and hands its result to its queue.
func (n *Notifier) deliver(ctx context.Context, b buffered) finished {
	f := finished{host: b.it.Host, key: b.it.Key}
	req, err := b.qs.q.Build(ctx, b.it)
	if errors.Is(err, ErrDropped) {
		return f
	}
	if err != nil {
		if ctx.Err() == nil {
			n.cfg.Log.Error().Err(err).Str("key", b.it.Key).Msg("build delivery")
		}
		return f
	}
	res := n.request(ctx, req)
	if ctx.Err() != nil {
		return f // shutting down: not the endpoint's failure
	}
	f.noAnswer, f.answered = res.NoAnswer, res.Status != 0
	if n.cfg.Metrics != nil {
		name, outcome := "queue", "refused"
		if q, ok := b.qs.q.(Named); ok {
			name = q.Name()
		}
		switch {
		case res.Delivered():
			outcome = "delivered"
		case res.Status == 0:
			outcome = "no_answer"
		}
		n.cfg.Metrics.Attempt(name, outcome)
	}
	if err := b.qs.q.Done(ctx, b.it, res); err != nil {
		n.cfg.Log.Error().Err(err).Str("key", b.it.Key).Msg("record delivery")
	}
	return f
}
