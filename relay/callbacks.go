package relay

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/notify"
	"github.com/ferry-relay/ferry/store"
)

// SignatureHeader carries a callback's signature:
// "t=<unix seconds>,v1=<hex HMAC-SHA256(key, t + "." + URL)>".
const SignatureHeader = "X-Ferry-Signature"

// Sign returns the X-Ferry-Signature value for a request of rawURL at t.
func Sign(key []byte, t time.Time, rawURL string) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(ts + "." + rawURL))
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// CallbackStore is what the callbacks read and record. *store.DB
// implements it.
type CallbackStore interface {
	Cursor(coin string) (store.Cursor, error)
	Deposit(coin string, op ferry.OutPoint) (*ferry.Deposit, error)
	Address(coin string, index uint32) (*store.Address, error)
	Forward(coin string, op ferry.OutPoint) (*store.Forward, error)
	Callback(queue string, ref []byte) (*store.Callback, error)
	StartCallback(queue string, ref []byte, host string, due int64) error
	DueCallbacks(queue string, upTo int64, afterHost []byte, limit int, want func(string) (int, []byte)) ([]store.QueuedCallback, []byte, error)
	RecordAttempt(queue string, ref []byte, a store.Attempt, state ferry.DeliveryState, nextDue int64) (*store.Callback, error)
	EndCallback(queue string, ref []byte, state ferry.DeliveryState) error
	BlockTime(coin string, height int64) (time.Time, error)
}

var _ CallbackStore = (*store.DB)(nil)

// Waker is told when deliveries may have come due. *notify.Notifier
// implements it.
type Waker interface{ Wake() }

// CallbackQueueConfig configures a coin's CallbackQueue.
type CallbackQueueConfig struct {
	Coin  *chain.Coin
	Store CallbackStore
	// Key signs every callback (see Sign).
	Key []byte
	// MaxConfirmations: a callback sent at least once is not sent past
	// this many confirmations of its deposit.
	MaxConfirmations int64
	Clock            clock.Clock
	// Metrics is told of callbacks acknowledged; nil: nothing is.
	Metrics Metrics
	Log     zerolog.Logger
}

// CallbackQueue is one coin's merchant callbacks as the notifier delivers
// them: each deposit's callback is sent once per block, with the deposit's
// confirmations, until the merchant answers *ok* or the confirmation limit
// passes. It is safe for concurrent use.
type CallbackQueue struct {
	cfg CallbackQueueConfig
	id  string
}

var _ notify.Queue = (*CallbackQueue)(nil)

// NewCallbackQueue returns the callback queue of cfg's coin.
func NewCallbackQueue(cfg CallbackQueueConfig) *CallbackQueue {
	cfg.Metrics = orNop(cfg.Metrics)
	return &CallbackQueue{cfg: cfg, id: cfg.Coin.ID()}
}

// queuedRef is a queue item: a deposit's callback, read at a block height.
type queuedRef struct {
	op  ferry.OutPoint
	tip int64
}

// Due returns the callbacks due at the scan cursor's height.
func (q *CallbackQueue) Due(_ context.Context, after []byte, limit int, want func(string) (int, []byte)) ([]notify.Item, []byte, error) {
	cur, err := q.cfg.Store.Cursor(q.id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	cs, next, err := q.cfg.Store.DueCallbacks(q.id, cur.Height, after, limit, want)
	if err != nil {
		return nil, nil, err
	}
	items := make([]notify.Item, len(cs))
	for i, c := range cs {
		op, err := store.RefOutPoint(c.Ref)
		if err != nil {
			return nil, nil, err
		}
		items[i] = notify.Item{Key: q.id + "/" + op.String(), Host: c.Host, Pos: c.Pos, Ref: queuedRef{op: op, tip: cur.Height}}
	}
	return items, next, nil
}

// Build makes a callback's request: the merchant's URL, its own query kept
// as it is, with the deposit's parameters appended, signed. A callback
// whose deposit is gone (a reorg took it away) vanishes; one past the
// confirmation limit that has been sent at least once is given up.
func (q *CallbackQueue) Build(_ context.Context, it notify.Item) (*notify.Request, error) {
	ref := it.Ref.(queuedRef)
	c, err := q.cfg.Store.Callback(q.id, store.OutPointRef(ref.op))
	if err != nil {
		return nil, err
	}
	if c.State != ferry.DeliveryPending {
		return nil, notify.ErrDropped
	}
	dep, err := q.cfg.Store.Deposit(q.id, ref.op)
	if errors.Is(err, store.ErrNotFound) {
		if err := q.cfg.Store.EndCallback(q.id, store.OutPointRef(ref.op), ferry.DeliveryVanished); err != nil {
			return nil, err
		}
		q.cfg.Log.Warn().Str("outpoint", ref.op.String()).Msg("callback dropped: a reorg took its deposit away")
		return nil, notify.ErrDropped
	}
	if err != nil {
		return nil, err
	}
	confs := ref.tip - dep.Height + 1
	if confs > q.cfg.MaxConfirmations && c.Attempts > 0 {
		if err := q.cfg.Store.EndCallback(q.id, store.OutPointRef(ref.op), ferry.DeliveryGaveUp); err != nil {
			return nil, err
		}
		q.cfg.Log.Warn().Str("outpoint", ref.op.String()).Int64("attempts", c.Attempts).Int64("confirmations", confs).
			Msg("callback abandoned: no *ok* by the confirmation limit")
		return nil, notify.ErrDropped
	}
	addr, err := q.cfg.Store.Address(q.id, dep.AddrIndex)
	if err != nil {
		return nil, err
	}
	f, err := q.cfg.Store.Forward(q.id, ref.op)
	if err != nil {
		return nil, err
	}
	u, err := callbackURL(addr.Callback, url.Values{
		"value":                    {strconv.FormatInt(int64(dep.Value), 10)},
		"value_forwarded":          {strconv.FormatInt(int64(f.Forwarded), 10)},
		"input_address":            {addr.Address},
		"destination_address":      {addr.Destination},
		"transaction_hash":         {ref.op.Hash.String()},
		"input_transaction_hash":   {ref.op.Hash.String()},
		"vout":                     {strconv.FormatUint(uint64(ref.op.Index), 10)},
		"deposit_id":               {dep.ID()},
		"forward_transaction_hash": {f.TxID.String()},
		"confirmations":            {strconv.FormatInt(confs, 10)},
		"coin":                     {q.id},
	})
	if err != nil {
		return nil, err
	}
	raw := u.String()
	req := &notify.Request{Method: "GET", URL: u, Ack: notify.AckOK, Header: map[string][]string{}}
	req.Header.Set(SignatureHeader, Sign(q.cfg.Key, q.cfg.Clock.Now(), raw))
	return req, nil
}

// Done records an attempt: an *ok* retires the callback, anything else
// makes it due again at the next block.
func (q *CallbackQueue) Done(_ context.Context, it notify.Item, res notify.Result) error {
	ref := it.Ref.(queuedRef)
	dep, err := q.cfg.Store.Deposit(q.id, ref.op)
	confs := int64(0)
	if err == nil {
		confs = ref.tip - dep.Height + 1
	}
	// The store keeps the failure's class, which /api/check shows anyone;
	// its full text (the merchant's address, its answer) goes to the log.
	a := store.Attempt{Time: res.Time, Confirmations: confs, Status: res.Status, Error: res.Class, Duration: res.Duration}
	state := ferry.DeliveryPending
	if res.Delivered() {
		state = ferry.DeliveryAcked
	}
	c, err := q.cfg.Store.RecordAttempt(q.id, store.OutPointRef(ref.op), a, state, ref.tip+1)
	if err != nil {
		return fmt.Errorf("record callback %s: %w", ref.op, err)
	}
	if state == ferry.DeliveryAcked && dep != nil {
		delay := time.Duration(-1)
		if t, err := q.cfg.Store.BlockTime(q.id, dep.Height); err == nil {
			delay = max(0, res.Time.Sub(t)) // a block stamped ahead of this clock counts as now
		}
		q.cfg.Metrics.CallbackAcked(q.id, delay)
	}
	ev := q.cfg.Log.Info()
	if !res.Delivered() {
		ev = q.cfg.Log.Warn().Str("error", res.Err)
	}
	ev.Str("coin", q.id).Str("outpoint", ref.op.String()).Str("host", it.Host).Int64("confirmations", confs).
		Int("status", res.Status).Int64("attempt", c.Attempts).Dur("took", res.Duration).Str("state", c.State.String()).Msg("callback")
	return nil
}

// Name is the queue's name, the coin's id, for the notifier's metrics.
func (q *CallbackQueue) Name() string { return q.id }

// callbackURL returns the merchant's URL with the callback parameters
// appended to its own query, which is kept as it is.
func callbackURL(merchant string, p url.Values) (*url.URL, error) {
	u, err := url.Parse(merchant)
	if err != nil {
		return nil, err
	}
	u.Fragment, u.RawFragment = "", ""
	if u.Path == "" {
		// The request line says "/": so must the signed URL.
		u.Path, u.RawPath = "/", ""
	}
	if u.RawQuery != "" {
		u.RawQuery += "&"
	}
	u.RawQuery += p.Encode()
	return u, nil
}

// callbackHost is the host and port a callback URL is delivered to, as the
// notifier's per-host limits count them.
func callbackHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Host)
}

// callbackStarter starts a deposit's callback when its forward is accepted,
// if its address asked for callbacks, and wakes the notifier.
type callbackStarter struct {
	id    string
	store CallbackStore
	tip   func() int64
	waker Waker
	log   zerolog.Logger
}

var _ ForwardListener = (*callbackStarter)(nil)

// Accepted starts f's callback, due at the current height.
func (s *callbackStarter) Accepted(_ context.Context, f *store.Forward) {
	if f.Donation {
		return
	}
	d, err := s.store.Deposit(s.id, f.OutPoint)
	if err != nil {
		s.log.Error().Err(err).Msg("start callback")
		return
	}
	addr, err := s.store.Address(s.id, d.AddrIndex)
	if err != nil {
		s.log.Error().Err(err).Msg("start callback")
		return
	}
	if !addr.CallbackReq || addr.Callback == "" {
		return
	}
	if err := s.store.StartCallback(s.id, store.OutPointRef(f.OutPoint), callbackHost(addr.Callback), s.tip()); err != nil {
		s.log.Error().Err(err).Msg("start callback")
		return
	}
	s.waker.Wake()
}
