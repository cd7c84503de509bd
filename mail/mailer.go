package mail

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/store"
)

// OutboxStore is the durable outbox a Mailer keeps; *store.DB implements
// it.
type OutboxStore interface {
	// PutMail records a new message, synced; a message with an ID already
	// recorded is left as it is (idempotent enqueue).
	PutMail(m *store.Mail) error
	// DueMail returns up to limit pending messages due at now, the longest
	// due first, reading only the due ones.
	DueMail(now time.Time, limit int) ([]*store.Mail, error)
	// NextMailDue returns when the next pending message comes due, and
	// false if none is pending.
	NextMailDue() (time.Time, bool, error)
	// RecordMail records an attempt, synced: a.Error "" means sent (the
	// message leaves the queue); otherwise it is due again at next, or
	// given up if next is zero.
	RecordMail(id string, a store.MailAttempt, next time.Time) (*store.Mail, error)
	// Mails returns up to limit of the latest messages with their state,
	// for operators.
	Mails(limit int) ([]*store.Mail, error)
}

var _ OutboxStore = (*store.DB)(nil)

// The default retry schedule.
const (
	DefaultFirstRetry    = time.Minute
	DefaultMaxRetry      = time.Hour
	DefaultGiveUpAfter   = 72 * time.Hour
	DefaultMaxRejections = 3
)

// MailerConfig configures a Mailer.
type MailerConfig struct {
	// Sender delivers the messages: a *Sender, or a wrapper of one.
	// Required.
	Sender Transport
	// Store keeps the outbox. Required.
	Store OutboxStore
	// Clock tells the time and waits (clock.System{} when nil).
	Clock clock.Clock
	// Log receives a line for each attempt, with "component":"mail": the
	// message ID and its recipients' domains, never the body or the SMTP
	// password.
	Log zerolog.Logger

	// The retry schedule: the first retry FirstRetry after a failed
	// attempt, the wait doubling with each attempt to at most MaxRetry;
	// no attempt later than GiveUpAfter after the message was queued.
	// A permanent rejection (ErrRejected) is retried too, at most
	// MaxRejections times. Zero values take the defaults (1 minute,
	// 1 hour, 3 days, 3).
	FirstRetry    time.Duration
	MaxRetry      time.Duration
	GiveUpAfter   time.Duration
	MaxRejections int
}

// Mailer sends queued messages in the background. Enqueue records a
// message durably and wakes the loop, and returns without waiting for
// SMTP. Run sends what is due, one at a time, until its context ends. A
// store holds one Mailer's outbox: run one Mailer per store. Enqueue is
// safe for concurrent use.
type Mailer struct {
	cfg  MailerConfig
	log  zerolog.Logger
	wake chan struct{}
}

// dueBatch is how many due messages Run reads at a time.
const dueBatch = 16

// storeRetry is how long Run waits after the store failed.
const storeRetry = time.Minute

// NewMailer returns a Mailer for cfg.
func NewMailer(cfg MailerConfig) (*Mailer, error) {
	switch {
	case cfg.Sender == nil:
		return nil, errors.New("mailer: no sender")
	case cfg.Store == nil:
		return nil, errors.New("mailer: no store")
	case cfg.FirstRetry < 0 || cfg.MaxRetry < 0 || cfg.GiveUpAfter < 0 || cfg.MaxRejections < 0:
		return nil, errors.New("mailer: negative retry schedule")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.FirstRetry == 0 {
		cfg.FirstRetry = DefaultFirstRetry
	}
	if cfg.MaxRetry == 0 {
		cfg.MaxRetry = DefaultMaxRetry
	}
	if cfg.GiveUpAfter == 0 {
		cfg.GiveUpAfter = DefaultGiveUpAfter
	}
	if cfg.MaxRejections == 0 {
		cfg.MaxRejections = DefaultMaxRejections
	}
	return &Mailer{
		cfg:  cfg,
		log:  cfg.Log.With().Str("component", "mail").Logger(),
		wake: make(chan struct{}, 1),
	}, nil
}

// Enqueue records msg in the outbox, synced, due now, and wakes Run; it
// does not wait for SMTP. A message whose ID is already in the outbox is
// left as it is, so that enqueuing one message twice sends it once. It
// returns an error wrapping ErrInvalidMessage for a message that could
// never be sent.
func (m *Mailer) Enqueue(msg Message) error {
	if err := msg.Validate(); err != nil {
		return fmt.Errorf("enqueue mail %s: %w", msg.ID, err)
	}
	now := m.cfg.Clock.Now()
	rec := &store.Mail{
		ID: msg.ID, To: append([]string(nil), msg.To...), Subject: msg.Subject, Body: msg.Body,
		Queued: now, Due: now, State: store.MailPending,
	}
	if err := m.cfg.Store.PutMail(rec); err != nil {
		return fmt.Errorf("enqueue mail %s: %w", msg.ID, err)
	}
	select {
	case m.wake <- struct{}{}:
	default: // a wake-up is pending already
	}
	return nil
}

// Run sends the messages that are due, one at a time, until ctx ends,
// waiting on the clock for the next due time or for Enqueue. A store
// failure is logged and retried. It returns nil when ctx ends; a delivery
// cut short by ctx is not counted as an attempt.
func (m *Mailer) Run(ctx context.Context) error {
	// One timer at a time: a clock wait cannot be cancelled, so it is
	// kept while it would fire no later than needed.
	var timer <-chan time.Time
	var timerAt time.Time
	for ctx.Err() == nil {
		wait, ok := m.sendDue(ctx)
		if ctx.Err() != nil {
			break
		}
		if ok && (timer == nil || wait.Before(timerAt)) {
			timer, timerAt = m.cfg.Clock.After(wait.Sub(m.cfg.Clock.Now())), wait
		}
		select {
		case <-ctx.Done():
		case <-m.wake:
		case <-timer:
			timer = nil
		}
	}
	return nil
}

// sendDue sends what is due now, at most a bounded number of batches, and
// returns when Run should look again (false: only when woken).
func (m *Mailer) sendDue(ctx context.Context) (time.Time, bool) {
	for range 64 {
		due, err := m.cfg.Store.DueMail(m.cfg.Clock.Now(), dueBatch)
		if err != nil {
			m.log.Error().Err(err).Msg("read the mail queue")
			return m.cfg.Clock.Now().Add(storeRetry), true
		}
		for _, rec := range due {
			if ctx.Err() != nil {
				return time.Time{}, false
			}
			if err := m.attempt(ctx, rec); err != nil {
				m.log.Error().Err(err).Str("id", rec.ID).Msg("record a mail attempt")
				return m.cfg.Clock.Now().Add(storeRetry), true
			}
		}
		if len(due) < dueBatch {
			break
		}
	}
	next, ok, err := m.cfg.Store.NextMailDue()
	if err != nil {
		m.log.Error().Err(err).Msg("read the mail queue")
		return m.cfg.Clock.Now().Add(storeRetry), true
	}
	return next, ok
}

// attempt sends rec once and records the outcome with the next try.
func (m *Mailer) attempt(ctx context.Context, rec *store.Mail) error {
	msg := Message{ID: rec.ID, To: rec.To, Subject: rec.Subject, Body: rec.Body}
	sendErr := m.cfg.Sender.Send(ctx, msg)
	if sendErr != nil && ctx.Err() != nil {
		return nil // shutting down: due again at the next start
	}
	now := m.cfg.Clock.Now()
	a := store.MailAttempt{Time: now}
	var next time.Time
	if sendErr != nil {
		a.Error = sendErr.Error()
		a.Permanent = errors.Is(sendErr, ErrRejected)
		next = m.nextTry(rec, a.Permanent, errors.Is(sendErr, ErrInvalidMessage), now)
	}
	got, err := m.cfg.Store.RecordMail(rec.ID, a, next)
	if err != nil {
		return err
	}

	ev := m.log.Info()
	switch {
	case sendErr == nil:
		ev = ev.Str("state", got.State.String())
	case got.State == store.MailPending:
		ev = m.log.Warn().Str("error", a.Error).Time("next", next)
	default:
		ev = m.log.Error().Str("error", a.Error).Str("state", got.State.String())
	}
	ev.Str("id", rec.ID).Strs("to_domains", domains(rec.To)).Int("attempts", got.Attempts).
		Bool("permanent", a.Permanent).Msg(outcome(sendErr, got.State))
	return nil
}

func outcome(err error, s store.MailState) string {
	switch {
	case err == nil:
		return "mail sent"
	case s == store.MailPending:
		return "mail not sent, will retry"
	}
	return "mail not sent, given up"
}

// nextTry returns when rec, whose attempt at now just failed, is tried
// again, or zero to give up: the wait doubles from FirstRetry with each
// attempt, to MaxRetry; no later than GiveUpAfter after it was queued; a
// permanent rejection at most MaxRejections times more.
func (m *Mailer) nextTry(rec *store.Mail, permanent, invalid bool, now time.Time) time.Time {
	rejections := rec.Rejections
	if permanent {
		rejections++
	}
	end := rec.Queued.Add(m.cfg.GiveUpAfter)
	if invalid || rejections > m.cfg.MaxRejections || !now.Before(end) {
		return time.Time{}
	}
	wait := m.cfg.FirstRetry
	for i := 0; i < rec.Attempts && wait < m.cfg.MaxRetry; i++ {
		wait *= 2
	}
	wait = min(wait, m.cfg.MaxRetry)
	next := now.Add(wait)
	if next.After(end) {
		next = end
	}
	return next
}

// domains returns the domains of addrs, for logs.
func domains(addrs []string) []string {
	ds := make([]string, len(addrs))
	for i, a := range addrs {
		ds[i] = domain(a)
	}
	return ds
}
