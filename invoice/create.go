package invoice

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/rates"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/store"
)

// Request asks for a new invoice.
type Request struct {
	Vendor *store.Vendor
	// Dialect names the API asking ("litepay", "fluxcord", "payscrypt"):
	// the invoice's changes are announced by the Announcer of that name.
	Dialect string
	// ID is the invoice's id, if the dialect makes its own (a UUID); ""
	// has the engine make one from Prefix and a counter.
	ID string
	// Number is the vendor's own number for it; "" for none. The same
	// vendor, dialect and number always name the same invoice.
	Number string
	// Amount is a decimal; Currency a fiat code ("USD": the invoice is
	// quoted in each coin) or a coin's ticker ("LTC": that amount of that
	// coin).
	Amount   string
	Currency string
	// Coins limits the coins offered; nil offers every coin the vendor
	// has a payout address for and ferry runs.
	Coins []string
	Email string
	// CallbackURL is called when the invoice is paid or ends ("" for
	// none); ReturnURL is where the buyer goes back to.
	CallbackURL string
	ReturnURL   string
	// Hold keeps the payments the invoice does not take for the vendor to
	// accept or refund (see Release); otherwise every payment is
	// forwarded.
	Hold bool
	// WebhookURL receives the invoice's own webhooks ("" for none);
	// Description is the vendor's text about it.
	WebhookURL  string
	Description string
	// Expiry overrides the engine's (0: the engine's).
	Expiry time.Duration
	// Prefix starts the invoice's id ("LTPP-").
	Prefix string
}

// ErrExists reports an invoice the vendor already created with that
// number; Create returns it with that invoice.
var ErrExists = errors.New("invoice exists")

// Create validates req, quotes it, mints an input address per coin, and
// records the invoice. A request the vendor made before, with its number,
// returns that invoice and an error wrapping ErrExists. A refused request
// (bad amount, currency, URL; rates unavailable) creates nothing, and its
// error has a relay.Kind.
func (e *Engine) Create(ctx context.Context, req Request) (*View, error) {
	if req.Number != "" {
		if len(req.Number) > 100 || !printable(req.Number) {
			return nil, invalid("the invoice number must be printable text of at most 100 characters")
		}
		if existing, err := e.cfg.Store.InvoiceByNumber(req.Vendor.ID, req.Dialect, req.Number); err == nil {
			v, err := e.view(ctx, existing)
			if err != nil {
				return nil, err
			}
			return v, fmt.Errorf("invoice %s: %w", existing.ID, ErrExists)
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	if err := checkURL(ctx, e, "callbackUrl", req.CallbackURL, true); err != nil {
		return nil, err
	}
	if err := checkURL(ctx, e, "returnUrl", req.ReturnURL, false); err != nil {
		return nil, err
	}
	if err := checkURL(ctx, e, "webhookUrl", req.WebhookURL, true); err != nil {
		return nil, err
	}
	if len(req.Description) > 1000 || !printable(strings.ReplaceAll(req.Description, "\n", " ")) {
		return nil, invalid("the description must be printable text of at most 1,000 bytes")
	}
	if req.Email != "" {
		if err := checkEmail(req.Email); err != nil {
			return nil, err
		}
	}
	coins, err := e.coinsFor(req)
	if err != nil {
		return nil, err
	}

	// The quote first: a rate source that fails creates nothing.
	now := e.cfg.Clock.Now().UTC()
	inv := &store.Invoice{ID: req.ID, Vendor: req.Vendor.ID, Dialect: req.Dialect, Number: req.Number, Email: req.Email,
		CallbackURL: req.CallbackURL, ReturnURL: req.ReturnURL, WebhookURL: req.WebhookURL, Description: req.Description, Hold: req.Hold,
		Created: now, Expires: now.Add(e.cfg.Expiry)}
	if req.Expiry > 0 {
		inv.Expires = now.Add(req.Expiry)
	}
	if inv.Amount, inv.Currency, inv.Coins, err = e.quote(ctx, req.Amount, req.Currency, coins); err != nil {
		return nil, err
	}
	if inv.Coins, err = e.payable(inv.Coins); err != nil {
		return nil, err
	}

	// Then an input address per coin, and the record.
	for i := range inv.Coins {
		c := &inv.Coins[i]
		a, err := e.cfg.Relay.Mint(ctx, relay.MintRequest{Coin: c.Coin, Destination: req.Vendor.Payout[c.Coin]})
		if err != nil {
			return nil, err
		}
		c.Index, c.Address = a.Index, a.Address
	}
	inv.Status, inv.StatusChanged = string(StatusPending), now
	if err := e.cfg.Store.PutInvoice(inv, req.Prefix); errors.Is(err, store.ErrExists) && inv.ID != req.ID {
		// The same number, created meanwhile: that one stands.
		v, err := e.Show(ctx, inv.ID)
		if err != nil {
			return nil, err
		}
		return v, fmt.Errorf("invoice %s: %w", inv.ID, ErrExists)
	} else if errors.Is(err, store.ErrExists) {
		return nil, &relay.Error{Kind: relay.KindConflict, Message: "invoice " + clip(req.ID) + " exists"}
	} else if err != nil {
		return nil, &relay.Error{Kind: relay.KindInternal, Message: "record invoice", Err: err}
	}
	e.log.Info().Str("invoice", inv.ID).Str("vendor", inv.Vendor).Str("amount", inv.Amount).Str("currency", inv.Currency).Msg("invoice created")
	return e.view(ctx, inv)
}

// payable keeps the sides of an invoice whose amount the relay forwards: a
// payment below a coin's minimum deposit would be a donation to the
// operator, not a payment to the vendor. With none left, the error says
// what the smallest amount is.
func (e *Engine) payable(cs []store.InvoiceCoin) ([]store.InvoiceCoin, error) {
	var keep []store.InvoiceCoin
	var mins []string
	for _, c := range cs {
		minimum := e.cfg.Relay.MinDeposit(c.Coin)
		if c.Due >= minimum {
			keep = append(keep, c)
			continue
		}
		mins = append(mins, chain.FormatAmountShort(minimum)+" "+strings.ToUpper(c.Coin))
	}
	if len(keep) == 0 {
		return nil, invalid("the price is below the smallest payment this server forwards (" + strings.Join(mins, ", ") + ")")
	}
	return keep, nil
}

// coinsFor returns the coins an invoice is offered in.
func (e *Engine) coinsFor(req Request) ([]string, error) {
	want := req.Coins
	if tk := strings.ToLower(req.Currency); chain.CoinName(tk) != "" {
		want = []string{tk} // an amount in a coin is paid in that coin
	}
	var coins []string
	for _, c := range e.cfg.Relay.Coins() {
		if _, ok := req.Vendor.Payout[c]; !ok {
			continue
		}
		if want == nil || contains(want, c) {
			coins = append(coins, c)
		}
	}
	if len(coins) == 0 {
		return nil, invalid("the vendor has no payout address for a coin this invoice can be paid in")
	}
	return coins, nil
}

// quote returns an invoice's amount and currency, normalized, and its
// side in each coin: the amount itself for an amount in a coin, or the
// fiat amount at the price each coin has now, rounded up to the satoshi.
func (e *Engine) quote(ctx context.Context, amount, currency string, coins []string) (string, string, []store.InvoiceCoin, error) {
	now := e.cfg.Clock.Now().UTC()
	if tk := strings.ToLower(currency); chain.CoinName(tk) != "" {
		sat, err := chain.ParseAmount(amount)
		if err != nil || sat <= 0 {
			return "", "", nil, invalid(fmt.Sprintf("the amount must be a positive number of %s with at most 8 decimals, not %q", strings.ToUpper(tk), clip(amount)))
		}
		return chain.FormatAmountShort(sat), strings.ToUpper(tk), []store.InvoiceCoin{{Coin: tk, Due: sat, Quoted: now}}, nil
	}
	fiat, err := rates.CheckCurrency(currency)
	if err != nil {
		return "", "", nil, invalid(fmt.Sprintf("unknown currency %q: use one of %s, or LTC or BTC", clip(currency), strings.Join(rates.Currencies(), ", ")))
	}
	value, err := rates.ParseFiatAmount(amount, fiat)
	if err != nil {
		return "", "", nil, &relay.Error{Kind: relay.KindInvalid, Message: "the price must be a positive amount of " + fiat + ": " + err.Error()}
	}
	out := make([]store.InvoiceCoin, 0, len(coins))
	for _, coin := range coins {
		c, err := e.quoteCoin(ctx, coin, value, fiat)
		if err != nil {
			return "", "", nil, err
		}
		out = append(out, c)
	}
	return value.String(), fiat, out, nil
}

// quoteCoin prices value of fiat in coin at the price it has now.
func (e *Engine) quoteCoin(ctx context.Context, coin string, value rates.Decimal, fiat string) (store.InvoiceCoin, error) {
	p, err := e.cfg.Quoter.Price(ctx, rates.Pair{Coin: coin, Fiat: fiat})
	if err != nil {
		return store.InvoiceCoin{}, &relay.Error{Kind: relay.KindUnavailable, Message: "the " + strings.ToUpper(coin) + "/" + fiat + " rate is unavailable", Err: err}
	}
	sat, err := rates.Satoshis(value, p)
	if err != nil {
		return store.InvoiceCoin{}, &relay.Error{Kind: relay.KindInvalid, Message: "the price is out of range: " + err.Error()}
	}
	now := e.cfg.Clock.Now().UTC()
	return store.InvoiceCoin{Coin: coin, Due: sat, Rate: p.Value.String(), Quoted: now, QuoteExpires: now.Add(e.cfg.QuoteValidity)}, nil
}

// requote gives an unpaid invoice whose quote has expired a new one, when
// its page is shown: the price of a coin moves.
func (e *Engine) requote(ctx context.Context, inv *store.Invoice) error {
	if _, err := rates.CheckCurrency(inv.Currency); err != nil {
		return nil // an amount in a coin is never requoted
	}
	value, err := rates.ParseFiatAmount(inv.Amount, inv.Currency)
	if err != nil {
		return err
	}
	now := e.cfg.Clock.Now()
	changed := false
	for i := range inv.Coins {
		c := &inv.Coins[i]
		if now.Before(c.QuoteExpires) {
			continue
		}
		q, err := e.quoteCoin(ctx, c.Coin, value, inv.Currency)
		if err != nil {
			return err
		}
		c.Due, c.Rate, c.Quoted, c.QuoteExpires = q.Due, q.Rate, q.Quoted, q.QuoteExpires
		// A coin dearer than at creation may bring the amount below what
		// the relay forwards: ask for that much rather than for a donation.
		c.Due = max(c.Due, e.cfg.Relay.MinDeposit(c.Coin))
		changed = true
	}
	if !changed {
		return nil
	}
	e.log.Info().Str("invoice", inv.ID).Msg("quote renewed")
	return e.cfg.Store.UpdateInvoice(inv)
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
