package notify

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/store"
)

// BlockStore is what a BlockQueue keeps its callbacks in, in the store's
// delivery queue of its name. *store.DB implements it.
type BlockStore interface {
	Callback(queue string, ref []byte) (*store.Callback, error)
	DueCallbacks(queue string, upTo int64, afterHost []byte, limit int, want func(string) (int, []byte)) ([]store.QueuedCallback, []byte, error)
	RecordAttempt(queue string, ref []byte, a store.Attempt, state ferry.DeliveryState, nextDue int64) (*store.Callback, error)
	EndCallback(queue string, ref []byte, state ferry.DeliveryState) error
}

var _ BlockStore = (*store.DB)(nil)

// Callbacks is what a kind of per-block callback says of its own (a
// deposit's, an invoice's): the request of one callback, when it ends
// without an acknowledgement, and what its attempts record.
type Callbacks interface {
	// Request returns the request of the callback ref at height tip, c
	// being its record (pending). An *End error ends the callback in its
	// state instead, and nothing is sent.
	Request(ctx context.Context, ref []byte, c *store.Callback, tip int64) (*Request, error)
	// Attempted is told how an attempt at tip went, before it is
	// recorded, and returns the confirmations the attempt reported.
	Attempted(ctx context.Context, ref []byte, tip int64, res Result) (confirmations int64)
	// Describe adds what names the callback ref to a log event.
	Describe(ev *zerolog.Event, ref []byte) *zerolog.Event
}

// End is a Callbacks' answer for a callback that is no longer sent: it
// ends in State (gave up, vanished), for Reason, which is logged.
type End struct {
	State  ferry.DeliveryState
	Reason string
}

// Error implements error.
func (e *End) Error() string { return fmt.Sprintf("callback ends %s: %s", e.State, e.Reason) }

// BlockQueueConfig configures a BlockQueue.
type BlockQueueConfig struct {
	// Name is the store's delivery queue ("ltc", "inv-ltc"), and the
	// queue's name in the notifier's metrics.
	Name  string
	Store BlockStore
	// Tip returns the height callbacks are due at now: the coin's scanned
	// height; false while there is none yet.
	Tip       func(ctx context.Context) (int64, bool, error)
	Callbacks Callbacks
	// Message is the log message of an attempt ("callback").
	Message string
	Log     zerolog.Logger
}

// BlockQueue is a Queue of callbacks due once per block of a coin: each is
// sent at a block, and again at the next one, until its endpoint answers
// *ok* or its Callbacks end it. The callbacks wait in the store, not in
// memory. It is safe for concurrent use.
type BlockQueue struct{ cfg BlockQueueConfig }

var _ Queue = (*BlockQueue)(nil)

// NewBlockQueue returns the queue of cfg.
func NewBlockQueue(cfg BlockQueueConfig) *BlockQueue { return &BlockQueue{cfg: cfg} }

// Name returns the queue's name.
func (q *BlockQueue) Name() string { return q.cfg.Name }

// blockItem is a queue item: a callback, read at a height.
type blockItem struct {
	ref []byte
	tip int64
}

// Due returns the callbacks due at the tip.
func (q *BlockQueue) Due(ctx context.Context, after []byte, limit int, want func(string) (int, []byte)) ([]Item, []byte, error) {
	tip, ok, err := q.cfg.Tip(ctx)
	if err != nil || !ok {
		return nil, nil, err
	}
	cs, next, err := q.cfg.Store.DueCallbacks(q.cfg.Name, tip, after, limit, want)
	if err != nil {
		return nil, nil, err
	}
	items := make([]Item, len(cs))
	for i, c := range cs {
		items[i] = Item{Key: q.cfg.Name + "/" + refText(c.Ref), Host: c.Host, Pos: c.Pos, Ref: blockItem{ref: c.Ref, tip: tip}}
	}
	return items, next, nil
}

// refText is a reference as a key's text: itself if it is printable ASCII
// (an invoice's "<id>/<status>"), hex otherwise (an outpoint).
func refText(ref []byte) string {
	for _, c := range ref {
		if c < 0x20 || c > 0x7e {
			return hex.EncodeToString(ref)
		}
	}
	return string(ref)
}

// Build makes a callback's request, or ends it as its Callbacks say.
func (q *BlockQueue) Build(ctx context.Context, it Item) (*Request, error) {
	ref := it.Ref.(blockItem)
	c, err := q.cfg.Store.Callback(q.cfg.Name, ref.ref)
	if err != nil {
		return nil, err
	}
	if c.State != ferry.DeliveryPending {
		return nil, ErrDropped
	}
	req, err := q.cfg.Callbacks.Request(ctx, ref.ref, c, ref.tip)
	var end *End
	if errors.As(err, &end) {
		if err := q.cfg.Store.EndCallback(q.cfg.Name, ref.ref, end.State); err != nil {
			return nil, err
		}
		q.cfg.Callbacks.Describe(q.cfg.Log.Warn(), ref.ref).Int64("attempts", c.Attempts).Msg(end.Reason)
		return nil, ErrDropped
	}
	return req, err
}

// Done records an attempt: an *ok* retires the callback, anything else
// makes it due again at the next block. The failure's class is recorded;
// its full text goes to the log only.
func (q *BlockQueue) Done(ctx context.Context, it Item, res Result) error {
	ref := it.Ref.(blockItem)
	a := store.Attempt{Time: res.Time, Status: res.Status, Error: res.Class, Duration: res.Duration}
	a.Confirmations = q.cfg.Callbacks.Attempted(ctx, ref.ref, ref.tip, res)
	state := ferry.DeliveryPending
	if res.Delivered() {
		state = ferry.DeliveryAcked
	}
	c, err := q.cfg.Store.RecordAttempt(q.cfg.Name, ref.ref, a, state, ref.tip+1)
	if errors.Is(err, store.ErrNotFound) {
		return nil // ended meanwhile
	}
	if err != nil {
		return fmt.Errorf("record callback %s: %w", q.cfg.Name, err)
	}
	ev := q.cfg.Log.Info()
	if !res.Delivered() {
		ev = q.cfg.Log.Warn().Str("error", res.Err)
	}
	q.cfg.Callbacks.Describe(ev, ref.ref).Str("host", it.Host).Int64("confirmations", a.Confirmations).Int("status", res.Status).
		Int64("attempt", c.Attempts).Dur("took", res.Duration).Str("state", c.State.String()).Msg(q.cfg.Message)
	return nil
}

// CallbackURL returns a callback's URL: the endpoint's own, its query
// kept as it is, with p appended, its fragment dropped, and "/" for an
// empty path (the request line says "/": so must the signed URL). It is
// the one way every kind of callback builds its URL.
func CallbackURL(endpoint string, p url.Values) (*url.URL, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, err
	}
	u.Fragment, u.RawFragment = "", ""
	if u.Path == "" {
		u.Path, u.RawPath = "/", ""
	}
	if u.RawQuery != "" {
		u.RawQuery += "&"
	}
	u.RawQuery += p.Encode()
	return u, nil
}
