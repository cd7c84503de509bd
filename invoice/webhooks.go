package invoice

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/notify"
	"github.com/ferry-relay/ferry/store"
	"github.com/ferry-relay/ferry/webhook"
)

// Announcer turns an invoice's status change into the webhook events of
// its dialect. The dialects that send webhooks implement it; the engine
// finds an invoice's by its Dialect.
type Announcer interface {
	// Announce returns the events of v's change from status from, in the
	// order they are to be delivered; none if the dialect does not tell
	// of this change. A change is a new status, the end of an underpaid
	// invoice at its expiry, or a payment seen or counting (from is then
	// v's status): a dialect that tells only of statuses checks.
	Announce(v *View, from ferry.InvoiceStatus) []Event
}

// Event is one webhook event about an invoice.
type Event struct {
	// Type names what happened ("order.successful").
	Type string
	// URL is where it goes; "" sends it to every endpoint the vendor
	// registered.
	URL  string
	Body []byte
	// ContentType is the body's type; "" is application/json.
	ContentType string
}

// WebhookStore is what webhooks keep. *store.DB implements it.
type WebhookStore interface {
	StartMessage(m *store.Message, host string, due int64) (bool, error)
	Message(queue string, ref []byte) (*store.Message, error)
	InvoiceMessages(invoice string) ([]*store.Message, error)
	NextDue(queue string, from, until int64) (int64, bool, error)
	Reschedule(queue string, ref []byte, due int64) error
	Attempts(queue string, ref []byte) ([]store.Attempt, error)
	Endpoints(vendor string) ([]*store.Endpoint, error)
}

// webhookQueue is the delivery queue of webhooks: due at unix seconds.
const webhookQueue = "wh"

// blocked is the due of a message waiting for the one before it to the
// same endpoint about the same invoice: never, until that one is done.
const blocked = int64(1) << 62

// retryAfter is how long after its nth failed attempt a message is tried
// again: quickly at first, then twice a day; GiveUpAfter ends it.
var retryAfter = []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 12 * time.Hour}

// GiveUpAfter is how long a webhook is retried: an attempt that fails this
// long after the event is the last.
const GiveUpAfter = 72 * time.Hour

// WebhookQueue delivers the engine's webhooks: signed POSTs of JSON, each
// retried on a schedule until a 2xx answer or GiveUpAfter, and in order
// for each endpoint and invoice (an event waits for the one before it).
// Give it to the notifier with the engine's other queues. It is safe for
// concurrent use.
type WebhookQueue struct {
	e *Engine
	// mu orders the enqueueing of a message and the end of the one before
	// it, so that a message never waits for one that has ended.
	mu sync.Mutex
}

// Name is the queue's name, for the notifier's metrics.
func (q *WebhookQueue) Name() string { return webhookQueue }

// Due implements notify.Queue.
func (q *WebhookQueue) Due(_ context.Context, after []byte, limit int, want func(string) (int, []byte)) ([]notify.Item, []byte, error) {
	now := q.e.cfg.Clock.Now().Unix()
	cs, next, err := q.e.cfg.Store.DueCallbacks(webhookQueue, now, after, limit, want)
	if err != nil {
		return nil, nil, err
	}
	items := make([]notify.Item, len(cs))
	for i, c := range cs {
		items[i] = notify.Item{Key: webhookQueue + "/" + string(c.Ref), Host: c.Host, Pos: c.Pos, Ref: c.Ref}
	}
	return items, next, nil
}

// NextDue implements notify.Timed: the next retry.
func (q *WebhookQueue) NextDue(context.Context) (time.Time, bool, error) {
	due, ok, err := q.e.cfg.Store.NextDue(webhookQueue, q.e.cfg.Clock.Now().Unix()+1, blocked)
	if err != nil || !ok {
		return time.Time{}, false, err
	}
	return time.Unix(due, 0), true, nil
}

// Build implements notify.Queue: the message, signed now with its vendor's
// secret.
func (q *WebhookQueue) Build(_ context.Context, it notify.Item) (*notify.Request, error) {
	ref := it.Ref.([]byte)
	c, err := q.e.cfg.Store.Callback(webhookQueue, ref)
	if err != nil {
		return nil, err
	}
	if c.State != ferry.DeliveryPending {
		return nil, notify.ErrDropped
	}
	m, err := q.e.cfg.Store.Message(webhookQueue, ref)
	if err != nil {
		return nil, err
	}
	v, err := q.e.cfg.Store.Vendor(m.Vendor)
	if errors.Is(err, store.ErrNotFound) {
		q.e.log.Warn().Str("webhook", m.ID).Str("vendor", m.Vendor).Msg("webhook dropped: its vendor was removed")
		return nil, q.end(ref, ferry.DeliveryGaveUp)
	}
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(m.URL)
	if err != nil {
		return nil, q.end(ref, ferry.DeliveryGaveUp)
	}
	h, err := webhook.Headers(v.WebhookSecret, m.ID, q.e.cfg.Clock.Now(), m.Body)
	if err != nil {
		return nil, fmt.Errorf("sign webhook %s: %w", m.ID, err)
	}
	h.Set("Content-Type", "application/json")
	if m.ContentType != "" {
		h.Set("Content-Type", m.ContentType)
	}
	return &notify.Request{Method: "POST", URL: u, Header: h, Body: m.Body, Ack: notify.Ack2xx}, nil
}

// Done implements notify.Queue: the attempt recorded; the message retried
// on the schedule, or ended, and then the next one to its endpoint about
// its invoice let go.
func (q *WebhookQueue) Done(_ context.Context, it notify.Item, res notify.Result) error {
	ref := it.Ref.([]byte)
	m, err := q.e.cfg.Store.Message(webhookQueue, ref)
	if err != nil {
		return err
	}
	c, err := q.e.cfg.Store.Callback(webhookQueue, ref)
	if err != nil {
		return err
	}
	state, next := ferry.DeliveryPending, int64(0)
	switch {
	case res.Delivered():
		state = ferry.DeliveryAcked
	case res.Time.Sub(m.Created) >= GiveUpAfter:
		state = ferry.DeliveryGaveUp
	default:
		wait := retryAfter[min(int(c.Attempts), len(retryAfter)-1)]
		next = res.Time.Add(wait).Unix()
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	a := store.Attempt{Time: res.Time, Status: res.Status, Error: res.Err, Duration: res.Duration}
	if c, err = q.e.cfg.Store.RecordAttempt(webhookQueue, ref, a, state, next); err != nil {
		return err
	}
	ev := q.e.log.Info()
	if !res.Delivered() {
		ev = q.e.log.Warn().Str("error", res.Err)
	}
	ev.Str("webhook", m.ID).Str("type", m.Type).Str("host", it.Host).Int("status", res.Status).Int64("attempt", c.Attempts).
		Str("state", state.String()).Msg("webhook")
	if state == ferry.DeliveryPending {
		return nil
	}
	return q.releaseNext(m)
}

// end ends a message that can no longer be sent, and lets the next go.
func (q *WebhookQueue) end(ref []byte, state ferry.DeliveryState) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.e.cfg.Store.EndCallback(webhookQueue, ref, state); err != nil {
		return err
	}
	m, err := q.e.cfg.Store.Message(webhookQueue, ref)
	if err != nil {
		return err
	}
	if err := q.releaseNext(m); err != nil {
		return err
	}
	return notify.ErrDropped
}

// releaseNext makes the next message after m to its endpoint about its
// invoice due now, if it was waiting. The caller holds mu.
func (q *WebhookQueue) releaseNext(m *store.Message) error {
	next, err := q.following(m)
	if err != nil || next == nil {
		return err
	}
	if err := q.e.cfg.Store.Reschedule(webhookQueue, next.Ref, q.e.cfg.Clock.Now().Unix()); err != nil {
		return err
	}
	q.e.cfg.Waker.Wake()
	return nil
}

// following returns the first message after m to the same endpoint about
// the same invoice, or nil.
func (q *WebhookQueue) following(m *store.Message) (*store.Message, error) {
	ms, err := q.e.cfg.Store.InvoiceMessages(m.Invoice)
	if err != nil {
		return nil, err
	}
	target := refTarget(m.Ref)
	var best *store.Message
	for _, o := range ms {
		if o.Queue == webhookQueue && refTarget(o.Ref) == target && bytes.Compare(o.Ref, m.Ref) > 0 &&
			(best == nil || bytes.Compare(o.Ref, best.Ref) < 0) {
			best = o
		}
	}
	return best, nil
}

// pendingBefore reports whether a message before ref to its endpoint about
// invoice is still pending. The caller holds mu.
func (q *WebhookQueue) pendingBefore(invoice string, ref []byte) (bool, error) {
	ms, err := q.e.cfg.Store.InvoiceMessages(invoice)
	if err != nil {
		return false, err
	}
	target := refTarget(ref)
	for _, o := range ms {
		if o.Queue != webhookQueue || refTarget(o.Ref) != target || bytes.Compare(o.Ref, ref) >= 0 {
			continue
		}
		c, err := q.e.cfg.Store.Callback(webhookQueue, o.Ref)
		if err != nil {
			return false, err
		}
		if c.State == ferry.DeliveryPending {
			return true, nil
		}
	}
	return false, nil
}

// refTarget is the endpoint part of a message's reference.
func refTarget(ref []byte) string {
	t, _, _ := strings.Cut(string(ref), "/")
	return t
}

// announce records the webhook events of v's nth status change, from
// from, durably: each event once per endpoint, due now or, if one before
// it to the same endpoint about v is still pending, once that one is done.
// Recording an event again (after a crash before the change was recorded)
// changes nothing.
func (q *WebhookQueue) announce(_ context.Context, v *View, from ferry.InvoiceStatus, n int64) error {
	a := q.e.cfg.Announcers[v.Dialect]
	if a == nil || v.Vendor == nil {
		return nil
	}
	evs := a.Announce(v, from)
	if len(evs) == 0 {
		return nil
	}
	endpoints, err := q.e.cfg.Store.Endpoints(v.Vendor.ID)
	if err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.e.cfg.Clock.Now()
	started := false
	for i, ev := range evs {
		type target struct{ id, url string }
		targets := []target{{"p", ev.URL}}
		if ev.URL == "" {
			targets = targets[:0]
			for _, ep := range endpoints {
				targets = append(targets, target{"e" + ep.ID, ep.URL})
			}
		}
		id := fmt.Sprintf("evt_%s_%d_%d", v.ID, n, i)
		for _, t := range targets {
			u, err := url.Parse(t.url)
			if err != nil {
				q.e.log.Warn().Str("webhook", id).Msg("webhook URL unreadable: not sent")
				continue
			}
			ref := []byte(fmt.Sprintf("%s/%s/%010d.%02d", t.id, v.ID, n, i))
			due := now.Unix()
			if wait, err := q.pendingBefore(v.ID, ref); err != nil {
				return err
			} else if wait {
				due = blocked
			}
			m := &store.Message{Queue: webhookQueue, Ref: ref, ID: id, Type: ev.Type, Vendor: v.Vendor.ID, Invoice: v.ID,
				URL: t.url, Body: ev.Body, Created: now.UTC(), ContentType: ev.ContentType}
			ok, err := q.e.cfg.Store.StartMessage(m, strings.ToLower(u.Host), due)
			if err != nil {
				return err
			}
			started = started || ok
		}
	}
	if started {
		q.e.cfg.Waker.Wake()
	}
	return nil
}

// Delivery is one webhook message and every attempt to deliver it.
type Delivery struct {
	ID       string          `json:"id"`
	Type     string          `json:"type"`
	URL      string          `json:"url"`
	State    string          `json:"state"`
	Created  time.Time       `json:"created"`
	Attempts []store.Attempt `json:"attempts"`
}

// Deliveries returns the webhooks of a vendor's invoice, oldest first,
// with their attempts.
func (e *Engine) Deliveries(_ context.Context, vendor, id string) ([]Delivery, error) {
	inv, err := e.cfg.Store.Invoice(id)
	if errors.Is(err, store.ErrNotFound) || err == nil && inv.Vendor != vendor {
		return nil, &ferry.Error{Kind: ferry.KindNotFound, Message: "no invoice " + clip(id)}
	}
	if err != nil {
		return nil, err
	}
	ms, err := e.cfg.Store.InvoiceMessages(id)
	if err != nil {
		return nil, err
	}
	out := []Delivery{}
	for _, m := range ms {
		if m.Queue != webhookQueue {
			continue
		}
		c, err := e.cfg.Store.Callback(m.Queue, m.Ref)
		if err != nil {
			return nil, err
		}
		as, err := e.cfg.Store.Attempts(m.Queue, m.Ref)
		if err != nil {
			return nil, err
		}
		if as == nil {
			as = []store.Attempt{}
		}
		out = append(out, Delivery{ID: m.ID, Type: m.Type, URL: m.URL, State: c.State.String(), Created: m.Created, Attempts: as})
	}
	return out, nil
}
