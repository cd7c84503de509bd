package invoice

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/mail"
	"github.com/ferry-relay/ferry/notify"
	"github.com/ferry-relay/ferry/rates"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/store"
	"github.com/ferry-relay/ferry/webhook"
	"github.com/rs/zerolog"
)

// CallbackStore is what invoice callbacks keep. *store.DB implements it.
type CallbackStore interface {
	Callback(queue string, ref []byte) (*store.Callback, error)
	StartCallback(queue string, ref []byte, host string, due int64) error
	DueCallbacks(queue string, upTo int64, afterHost []byte, limit int, want func(string) (int, []byte)) ([]store.QueuedCallback, []byte, error)
	RecordAttempt(queue string, ref []byte, a store.Attempt, state ferry.DeliveryState, nextDue int64) (*store.Callback, error)
	EndCallback(queue string, ref []byte, state ferry.DeliveryState) error
}

// event is a change of an invoice the vendor is told of: it is paid
// (overpaid), or it ended underpaid or unpaid.
func event(s ferry.InvoiceStatus, expired bool) bool {
	switch s {
	case ferry.InvoicePaid, ferry.InvoiceOverpaid, ferry.InvoiceExpired:
		return true
	case ferry.InvoiceUnderpaid:
		return expired
	}
	return false
}

// settle records a view's status if it changed, and tells the vendor of a
// change that is an event: a callback queued and an email, both durable
// before the status is; and a change its dialect announces, in webhooks,
// also durable first. It closes an invoice whose status can no longer
// change. The caller holds the Holds lock.
func (e *Engine) settle(ctx context.Context, v *View) error {
	if err := e.cfg.Holds.markExpired(v.Invoice, e.tip); err != nil {
		return err
	}
	now := e.cfg.Clock.Now().UTC()
	expired := !now.Before(v.Expires)
	tell := event(v.Status, expired) && v.Told != v.Status
	from := v.Invoice.Status
	// An underpaid invoice that expires keeps its status but ends: a
	// change the dialects tell of (Told marks it done). A payment seen or
	// counting is one too, for the dialects that tell of each payment.
	ends := v.Status == ferry.InvoiceUnderpaid && tell
	seen, counted := v.paymentCounts()
	paid := seen != v.PaymentsSeen || counted != v.PaymentsCounted
	if from != v.Status || tell || paid {
		if from != v.Status || ends || paid {
			if err := e.webhooks.announce(ctx, v, from, v.Changes+1); err != nil {
				return err
			}
			v.Changes++
			v.PaymentsSeen, v.PaymentsCounted = seen, counted
		}
		if tell {
			if err := e.tell(ctx, v); err != nil {
				return err
			}
			v.Told = v.Status
		}
		if from != v.Status {
			e.log.Info().Str("invoice", v.ID).Str("from", string(v.Invoice.Status)).Str("to", string(v.Status)).Msg("invoice status")
			v.Invoice.Status, v.StatusChanged = v.Status, now
		}
		if err := e.cfg.Store.UpdateInvoice(v.Invoice); err != nil {
			return err
		}
	}
	// Watched until it expires, so that a paid invoice overpaid later is
	// seen; then closed once its status is final.
	if expired && (v.Status.Final() || v.Status == ferry.InvoiceUnderpaid) {
		return e.cfg.Store.CloseInvoice(v.ID)
	}
	return nil
}

// paymentCounts returns how many payments v has, and how many of them
// count.
func (v *View) paymentCounts() (seen, counted int64) {
	for _, c := range v.Coins {
		for _, p := range c.Payments {
			seen++
			if p.Counts {
				counted++
			}
		}
	}
	return seen, counted
}

// tip returns coin's scanned height, as the relay has it.
func (e *Engine) tip(coin string) (int64, error) { return e.cfg.Relay.Height(coin), nil }

// tell queues the vendor's callback and email for v's status.
func (e *Engine) tell(ctx context.Context, v *View) error {
	paying := v.Paying()
	if v.CallbackURL != "" {
		u, _ := url.Parse(v.CallbackURL)
		ref := []byte(v.ID + "/" + string(v.Status))
		if err := e.cfg.Store.StartCallback(queueName(paying.Coin), ref, strings.ToLower(u.Host), e.cfg.Relay.Height(paying.Coin)); err != nil {
			return err
		}
		e.cfg.Waker.Wake()
	}
	if e.cfg.Mailer != nil && v.Vendor != nil {
		if err := e.cfg.Mailer.Enqueue(e.email(v, paying)); err != nil {
			return fmt.Errorf("queue email of %s: %w", v.ID, err)
		}
	}
	return nil
}

// queueName is the delivery queue of invoice callbacks paid in coin: due at
// that coin's block heights.
func queueName(coin string) string { return "inv-" + coin }

// email is the vendor's email about v's status, as LitePay's: the invoice,
// the address, the amount in coin and fiat, the transaction, its time and
// confirmations.
func (e *Engine) email(v *View, c CoinView) mail.Message {
	number := v.Number
	if number == "" {
		number = v.ID
	}
	var subject, what string
	switch v.Status {
	case ferry.InvoicePaid, ferry.InvoiceOverpaid:
		subject, what = "has been paid!", "has been paid"
		if v.Status == ferry.InvoiceOverpaid {
			what = "has been paid, more than its amount"
		}
	case ferry.InvoiceUnderpaid:
		subject, what = "has ended underpaid", "has ended with less paid than its amount"
	default:
		subject, what = "has expired unpaid", "has expired without being paid"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Hello, %s\n\nInvoice number #%s %s.\n\nPayment information:\n", v.Vendor.Name, number, what)
	ticker := strings.ToUpper(c.Coin)
	fmt.Fprintf(&b, "Used %s address : %s\n", ticker, c.Address)
	amount := ferry.Amount(c.Confirmed).Short() + " " + ticker
	if c.Rate != "" {
		if rate, err := rates.ParseDecimal(c.Rate); err == nil {
			fiat := rates.Fiat(c.Confirmed, rates.Price{Pair: rates.Pair{Coin: c.Coin, Fiat: v.Currency}, Value: rate})
			amount += " / ~" + fiat.Fixed(2) + " " + v.Currency
		}
	}
	fmt.Fprintf(&b, "Amount:  %s (asked: %s %s)\n", amount, v.Amount, v.Currency)
	for _, p := range c.Payments {
		fmt.Fprintf(&b, "TxID: %s\n", p.OutPoint.Hash)
	}
	fmt.Fprintf(&b, "TxTime: %s\n", e.cfg.Clock.Now().UTC().Format(time.DateTime))
	if len(c.Payments) > 0 {
		fmt.Fprintf(&b, "Status: Payment has %d confirmations\n", minConfirmations(c.Payments))
	}
	if v.Status == ferry.InvoicePaid || v.Status == ferry.InvoiceOverpaid {
		b.WriteString("\nThis payment is forwarded to your own wallet address, less the service fee and the network fee, by itself.\n")
	}
	fmt.Fprintf(&b, "\nBest regards,\n%s\n", e.cfg.Name)
	return mail.Message{
		ID:      v.ID + "-" + string(v.Status),
		To:      []string{v.Vendor.Email},
		Subject: fmt.Sprintf("%s Merchant | Invoice %s %s", e.cfg.Name, number, subject),
		Body:    b.String(),
	}
}

func minConfirmations(ps []Payment) int64 {
	m := ps[0].Confirmations
	for _, p := range ps[1:] {
		m = min(m, p.Confirmations)
	}
	return m
}

// newCallbackQueue returns the queue of the invoice callbacks paid in
// coin, as the notifier delivers them: a GET of the invoice's callback
// URL, its own query kept, with the invoice's parameters, signed in the
// deposit callbacks' format (X-Ferry-Signature) but keyed with the
// vendor's webhook secret, sent once per block until the vendor answers
// *ok*, for MaxCallbackBlocks blocks at most.
func newCallbackQueue(e *Engine, coin string) *notify.BlockQueue {
	return notify.NewBlockQueue(notify.BlockQueueConfig{
		Name:  queueName(coin),
		Store: e.cfg.Store,
		Tip: func(context.Context) (int64, bool, error) {
			return e.cfg.Relay.Height(coin), true, nil
		},
		Callbacks: &invoiceCallbacks{e: e, coin: coin},
		Message:   "invoice callback",
		Log:       e.log,
	})
}

// invoiceCallbacks are the invoice callbacks paid in one coin: what each
// sends, and when it ends. A callback's reference is "<invoice id>/<status>".
type invoiceCallbacks struct {
	e    *Engine
	coin string
}

var _ notify.Callbacks = (*invoiceCallbacks)(nil)

// Request makes an invoice callback's request, or gives it up after
// MaxCallbackBlocks attempts, or once its vendor is gone.
func (q *invoiceCallbacks) Request(ctx context.Context, ref []byte, c *store.Callback, _ int64) (*notify.Request, error) {
	if c.Attempts >= q.e.cfg.MaxCallbackBlocks {
		return nil, &notify.End{State: ferry.DeliveryGaveUp, Reason: "invoice callback abandoned: no *ok*"}
	}
	id, status, _ := strings.Cut(string(ref), "/")
	v, err := q.e.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if v.Vendor == nil {
		// No vendor, no key to sign with: nobody is left to tell.
		return nil, &notify.End{State: ferry.DeliveryGaveUp, Reason: "invoice callback dropped: its vendor was removed"}
	}
	key, err := q.e.signingKey(ctx, v.Vendor)
	if err != nil {
		return nil, fmt.Errorf("sign invoice callback %s: %w", ref, err)
	}
	p := url.Values{
		"invoice":  {v.Number},
		"id":       {v.ID},
		"status":   {status},
		"price":    {v.Amount},
		"currency": {v.Currency},
	}
	if v.Number == "" {
		p.Set("invoice", v.ID)
	}
	if cv, ok := v.Coin(q.coin); ok {
		p.Set("coin", q.coin)
		p.Set("value", strconv.FormatInt(int64(cv.Confirmed), 10))
		p.Set("input_address", cv.Address)
		if n := len(cv.Payments); n > 0 {
			last := cv.Payments[n-1] // the least confirmed: the one that made the change
			p.Set("transaction_hash", last.OutPoint.Hash.String())
			p.Set("vout", strconv.FormatUint(uint64(last.OutPoint.Index), 10))
			p.Set("deposit_id", last.ID())
			p.Set("confirmations", strconv.FormatInt(minConfirmations(cv.Payments), 10))
		} else {
			p.Set("confirmations", "0")
		}
		if paid(status) {
			a, err := q.e.cfg.Store.Address(q.coin, cv.Index)
			if err != nil {
				return nil, fmt.Errorf("invoice callback %s: %w", ref, err)
			}
			p.Set("destination_address", a.Destination)
		}
	}
	u, err := notify.CallbackURL(v.CallbackURL, p)
	if err != nil {
		return nil, err
	}
	req := &notify.Request{Method: "GET", URL: u, Ack: notify.AckOK, Header: map[string][]string{}}
	req.Header.Set(relay.SignatureHeader, relay.Sign(key, q.e.cfg.Clock.Now(), u.String()))
	return req, nil
}

// paid reports whether a callback's status is that of a paid invoice.
// Only such a callback names the destination_address: LitePay's
// WooCommerce plugin (v0.2) marks its order paid on any callback with
// value, input_address, destination_address, transaction_hash and
// confirmations, whatever its status or amount, so an underpaid or
// expired invoice's callback, which it must refuse, never has them all.
// destination_address is where the input address forwards to: the
// vendor's payout address it was minted for.
func paid(status string) bool {
	return status == string(ferry.InvoicePaid) || status == string(ferry.InvoiceOverpaid)
}

// Attempted records no confirmations: an invoice callback tells of the
// invoice, not of one deposit.
func (q *invoiceCallbacks) Attempted(context.Context, []byte, int64, notify.Result) int64 { return 0 }

// Describe names an invoice callback in the log: "<invoice id>/<status>".
func (q *invoiceCallbacks) Describe(ev *zerolog.Event, ref []byte) *zerolog.Event {
	return ev.Str("callback", string(ref))
}

// signingKey returns the key that signs the invoice callbacks of vendor v:
// the bytes of its webhook secret, made first for a vendor that has none
// (one added before webhook secrets were; `ferry vendor webhook secret`
// shows it). Never the relay's callback key: a deposit callback, which
// anyone can have sent to any URL, must never pass for an invoice's, and
// no vendor may sign for another.
func (e *Engine) signingKey(ctx context.Context, v *store.Vendor) ([]byte, error) {
	secret := v.WebhookSecret
	if secret == "" {
		// One secret made, whatever callbacks of the vendor are built at
		// once: WebhookSecret reads the vendor again under the lock.
		e.keyMu.Lock()
		var err error
		secret, err = e.vendors.WebhookSecret(ctx, v.ID, false)
		e.keyMu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	return webhook.ParseSecret(secret)
}
