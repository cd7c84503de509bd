package invoice

import (
	"context"
	"errors"
	"net/mail"
	"net/url"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/store"
)

// Payment is a deposit to an invoice's input address, as the invoice
// counts it.
type Payment struct {
	ferry.Deposit
	// Counts reports whether it has the confirmations that make it
	// count.
	Counts bool
	// Late marks a payment in a block after the invoice expired, to an
	// invoice that holds what it does not take: it pays nothing of it.
	Late bool
	// Forwarded and Refunded say where it went (Refunded: once the
	// vendor decided to refund it); Held marks one kept at the input
	// address, waiting to be accepted or refunded.
	Forwarded, Refunded, Held bool
	// decision is what the vendor decided about it, for an invoice that
	// holds (0: nothing).
	decision ferry.Decision
}

// CoinView is an invoice's side in one coin, with what it was paid.
type CoinView struct {
	store.InvoiceCoin
	// Seen is every payment seen, unconfirmed ones included; Confirmed
	// those that count.
	Seen, Confirmed ferry.Amount
	Payments        []Payment
	// MinPayment is the smallest payment the relay forwards: a smaller one
	// is a donation to the operator, and is not among Payments.
	MinPayment ferry.Amount
	// Ignored counts the payments below MinPayment.
	Ignored int
	// Held is the sum of the payments held, Refunded of those refunded.
	Held, Refunded ferry.Amount
}

// View is an invoice as its dialects show it: its record, and what its
// payments make of it now.
type View struct {
	*store.Invoice
	Status ferry.InvoiceStatus
	// Expired is set once the invoice is past its expiry: an underpaid
	// invoice is then final.
	Expired bool
	Coins   []CoinView
	// Vendor is the vendor's record, nil if it was removed.
	Vendor *store.Vendor
	// Tolerance is how many satoshis from the amount still count as the
	// amount, by coin.
	Tolerance map[string]ferry.Amount
	// e is the engine that made the view.
	e *Engine
}

// PaymentTransactions returns the transactions of the invoice's payments
// in coin ("" for every coin), read now by the engine that made the view:
// each deposit, and what paid it out.
func (v *View) PaymentTransactions(ctx context.Context, coin string) ([]Transaction, error) {
	if v.e == nil {
		return nil, errors.New("invoice: a view no engine made has no ledger")
	}
	return v.e.PaymentTransactions(ctx, v, coin)
}

// Coin returns the invoice's side in coin, and false if it has none.
func (v *View) Coin(coin string) (CoinView, bool) {
	for _, c := range v.Coins {
		if c.Coin == coin {
			return c, true
		}
	}
	return CoinView{}, false
}

// Paying returns the side the customer paid in most (by share of its
// amount), or the first side when nothing was paid.
func (v *View) Paying() CoinView {
	best := v.Coins[0]
	for _, c := range v.Coins[1:] {
		if c.Seen*best.Due > best.Seen*c.Due {
			best = c
		}
	}
	return best
}

// Get returns an invoice's view, its status worked out now.
func (e *Engine) Get(ctx context.Context, id string) (*View, error) {
	inv, err := e.cfg.Store.Invoice(id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &ferry.Error{Kind: ferry.KindNotFound, Message: "no invoice " + clip(id)}
	}
	if err != nil {
		return nil, err
	}
	return e.view(ctx, inv)
}

// Find returns the vendor's invoice of dialect that ref names: its own
// number in the dialect (a display number, or the vendor's number for
// it), or else its id. Another vendor's or dialect's invoice is not found
// (ferry.KindNotFound), as is one ref does not name.
func (e *Engine) Find(ctx context.Context, vendor, dialect, ref string) (*View, error) {
	inv, err := e.cfg.Store.InvoiceByNumber(vendor, dialect, ref)
	if errors.Is(err, store.ErrNotFound) {
		inv, err = e.cfg.Store.Invoice(ref)
	}
	if err == nil && (inv.Vendor != vendor || inv.Dialect != dialect) {
		err = store.ErrNotFound
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, &ferry.Error{Kind: ferry.KindNotFound, Message: "no invoice " + clip(ref)}
	}
	if err != nil {
		return nil, err
	}
	return e.view(ctx, inv)
}

// Show returns an invoice's view for its page: an invoice not paid at all
// whose quote has expired is first quoted again. The new prices are
// fetched before the engine's lock is taken, so that a slow or failing
// price source holds back only the pages waiting for it, never a vendor's
// call or the forwarder; if the source fails, the old quote is shown,
// marked as run out.
func (e *Engine) Show(ctx context.Context, id string) (*View, error) {
	v, err := e.Get(ctx, id)
	if err != nil || v.Status != ferry.InvoicePending || v.paidAny() {
		return v, err
	}
	quotes, err := e.requotes(ctx, v.Invoice)
	if err != nil {
		e.log.Warn().Err(err).Str("invoice", id).Msg("requote")
		return v, nil
	}
	if len(quotes) == 0 {
		return v, nil
	}

	e.cfg.Holds.mu.Lock()
	defer e.cfg.Holds.mu.Unlock()
	inv, err := e.cfg.Store.Invoice(id) // as it is now, under the lock
	if err != nil {
		return nil, err
	}
	if v, err = e.view(ctx, inv); err != nil || v.Status != ferry.InvoicePending || v.paidAny() {
		return v, err // paid or cancelled meanwhile: its quote stays
	}
	if !e.requote(inv, quotes) {
		return v, nil
	}
	if err := e.cfg.Store.UpdateInvoice(inv); err != nil {
		return nil, err
	}
	e.log.Info().Str("invoice", inv.ID).Msg("quote renewed")
	return e.view(ctx, inv)
}

// paidAny reports whether any payment was seen.
func (v *View) paidAny() bool {
	for _, c := range v.Coins {
		if c.Seen > 0 {
			return true
		}
	}
	return false
}

// view works out an invoice's status from its payments.
func (e *Engine) view(ctx context.Context, inv *store.Invoice) (*View, error) {
	v := &View{Invoice: inv, Tolerance: map[string]ferry.Amount{}, e: e}
	if vendor, err := e.cfg.Store.Vendor(inv.Vendor); err == nil {
		v.Vendor = vendor
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	for _, c := range inv.Coins {
		rep, err := e.cfg.Relay.Report(ctx, c.Coin, c.Address)
		if err != nil {
			return nil, err
		}
		cv, err := e.cfg.Holds.coinView(inv, c, rep.Deposits, e.cfg.Relay.MinDeposit(c.Coin))
		if err != nil {
			return nil, err
		}
		v.Tolerance[c.Coin] = e.cfg.Holds.cfg.Tolerance.Of(c.Due)
		v.Coins = append(v.Coins, cv)
	}
	v.Status = e.status(v)
	v.Expired = !e.cfg.Clock.Now().Before(v.Expires)
	if inv.Hold {
		if err := e.markHeld(v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// status works out where an invoice stands: payments that count decide
// first (paid, overpaid); then, for an invoice that holds, the vendor's
// decision (accepted: paid; refunded); then cancellation; then expiry
// (underpaid, or expired); then what is seen (unconfirmed, underpaid);
// then pending.
func (e *Engine) status(v *View) ferry.InvoiceStatus {
	// An invoice that holds pays nothing once cancelled: what comes
	// after is held.
	payable := !v.Hold || !v.Cancelled
	var confirmed, seenEnough bool
	for _, c := range v.Coins {
		tol := v.Tolerance[c.Coin]
		if c.Confirmed > 0 {
			confirmed = true
		}
		if payable && c.Confirmed >= c.Due-tol {
			if c.Confirmed > c.Due+tol {
				return ferry.InvoiceOverpaid
			}
			return ferry.InvoicePaid
		}
		if c.Seen >= c.Due-tol {
			seenEnough = true
		}
	}
	switch {
	case v.Hold && v.Accepted:
		return ferry.InvoicePaid
	case v.Hold && v.Refunded:
		return ferry.InvoiceRefunded
	case v.Cancelled:
		return ferry.InvoiceCancelled
	case !e.cfg.Clock.Now().Before(v.Expires) && confirmed:
		return ferry.InvoiceUnderpaid
	case !e.cfg.Clock.Now().Before(v.Expires):
		return ferry.InvoiceExpired
	case seenEnough:
		return ferry.InvoiceUnconfirmed
	case confirmed:
		return ferry.InvoiceUnderpaid
	}
	return ferry.InvoicePending
}

// Cancel cancels an invoice nothing was paid to: it is expired at once.
// One with payments seen, or already final, is a conflict.
func (e *Engine) Cancel(ctx context.Context, id string) (*View, error) {
	e.cfg.Holds.mu.Lock()
	defer e.cfg.Holds.mu.Unlock()
	v, err := e.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if v.Status == ferry.InvoiceCancelled {
		return v, nil
	}
	if v.paidAny() || v.Status.Final() {
		return nil, &ferry.Error{Kind: ferry.KindConflict, Message: "invoice " + id + " is " + string(v.Status) + ": it can no longer be cancelled"}
	}
	v.Cancelled = true
	if err := e.cfg.Store.UpdateInvoice(v.Invoice); err != nil {
		return nil, err
	}
	v, err = e.view(ctx, v.Invoice)
	if err != nil {
		return nil, err
	}
	return v, e.settle(ctx, v)
}

// checkURL checks a URL given with an invoice: http or https, of the
// form callbacks have; a callback URL's host must also be one callbacks
// may reach.
func checkURL(ctx context.Context, e *Engine, field, raw string, callback bool) error {
	if raw == "" {
		return nil
	}
	if _, err := relay.ParseCallback(raw); err != nil {
		_, msg := ferry.Explain(err)
		return invalid(field + ": " + msg)
	}
	if !callback {
		return nil
	}
	if u, _ := url.Parse(raw); u != nil {
		if err := e.cfg.Relay.CheckHost(ctx, u.Hostname()); err != nil {
			return invalid(field + ": callback host refused: " + err.Error())
		}
	}
	return nil
}

// checkEmail checks a buyer's email address.
func checkEmail(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || len(s) > 254 {
		return invalid("email: not an email address")
	}
	return nil
}
