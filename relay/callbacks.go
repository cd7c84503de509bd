package relay

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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

// CallbackQueueConfig configures a coin's callback queue (NewCallbackQueue).
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

// NewCallbackQueue returns the queue of cfg's coin's merchant callbacks, as
// the notifier delivers them: each deposit's callback is sent once per
// block, with the deposit's confirmations, until the merchant answers *ok*
// or the confirmation limit passes (after at least one attempt); a
// callback whose deposit a reorg took away vanishes.
func NewCallbackQueue(cfg CallbackQueueConfig) *notify.BlockQueue {
	cfg.Metrics = orNop(cfg.Metrics)
	id := cfg.Coin.ID()
	return notify.NewBlockQueue(notify.BlockQueueConfig{
		Name:  id,
		Store: cfg.Store,
		Tip: func(context.Context) (int64, bool, error) {
			cur, err := cfg.Store.Cursor(id)
			if errors.Is(err, store.ErrNotFound) {
				return 0, false, nil
			}
			return cur.Height, err == nil, err
		},
		Callbacks: &depositCallbacks{cfg: cfg, id: id},
		Message:   "callback",
		Log:       cfg.Log,
	})
}

// depositCallbacks are the deposits' callbacks of one coin: what each
// sends, and when it ends.
type depositCallbacks struct {
	cfg CallbackQueueConfig
	id  string
}

var _ notify.Callbacks = (*depositCallbacks)(nil)

// Request makes a callback's request: the merchant's URL, its own query
// kept as it is, with the deposit's parameters appended, signed. A
// callback whose deposit is gone (a reorg took it away) vanishes; one past
// the confirmation limit that has been sent at least once is given up.
func (q *depositCallbacks) Request(_ context.Context, ref []byte, c *store.Callback, tip int64) (*notify.Request, error) {
	op, err := store.RefOutPoint(ref)
	if err != nil {
		return nil, err
	}
	dep, err := q.cfg.Store.Deposit(q.id, op)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &notify.End{State: ferry.DeliveryVanished, Reason: "callback dropped: a reorg took its deposit away"}
	}
	if err != nil {
		return nil, err
	}
	confs := tip - dep.Height + 1
	if confs > q.cfg.MaxConfirmations && c.Attempts > 0 {
		return nil, &notify.End{State: ferry.DeliveryGaveUp, Reason: "callback abandoned: no *ok* by the confirmation limit"}
	}
	addr, err := q.cfg.Store.Address(q.id, dep.AddrIndex)
	if err != nil {
		return nil, err
	}
	f, err := q.cfg.Store.Forward(q.id, op)
	if err != nil {
		return nil, err
	}
	u, err := notify.CallbackURL(addr.Callback, url.Values{
		"value":                    {strconv.FormatInt(int64(dep.Value), 10)},
		"value_forwarded":          {strconv.FormatInt(int64(f.Forwarded), 10)},
		"input_address":            {addr.Address},
		"destination_address":      {addr.Destination},
		"transaction_hash":         {op.Hash.String()},
		"input_transaction_hash":   {op.Hash.String()},
		"vout":                     {strconv.FormatUint(uint64(op.Index), 10)},
		"deposit_id":               {dep.ID()},
		"forward_transaction_hash": {f.TxID.String()},
		"confirmations":            {strconv.FormatInt(confs, 10)},
		"coin":                     {q.id},
	})
	if err != nil {
		return nil, err
	}
	req := &notify.Request{Method: "GET", URL: u, Ack: notify.AckOK, Header: map[string][]string{}}
	req.Header.Set(SignatureHeader, Sign(q.cfg.Key, q.cfg.Clock.Now(), u.String()))
	return req, nil
}

// Attempted reports an acknowledged callback to the metrics, with its
// delay from its deposit's block, and returns the deposit's confirmations
// at tip.
func (q *depositCallbacks) Attempted(_ context.Context, ref []byte, tip int64, res notify.Result) int64 {
	op, err := store.RefOutPoint(ref)
	if err != nil {
		return 0
	}
	dep, err := q.cfg.Store.Deposit(q.id, op)
	if err != nil {
		return 0
	}
	if res.Delivered() {
		delay := time.Duration(-1)
		if t, err := q.cfg.Store.BlockTime(q.id, dep.Height); err == nil {
			delay = max(0, res.Time.Sub(t)) // a block stamped ahead of this clock counts as now
		}
		q.cfg.Metrics.CallbackAcked(q.id, delay)
	}
	return tip - dep.Height + 1
}

// Describe names a deposit's callback in the log: its coin and outpoint.
func (q *depositCallbacks) Describe(ev *zerolog.Event, ref []byte) *zerolog.Event {
	ev = ev.Str("coin", q.id)
	if op, err := store.RefOutPoint(ref); err == nil {
		ev = ev.Str("outpoint", op.String())
	}
	return ev
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
