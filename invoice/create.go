package invoice

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ferry-relay/ferry"
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
	// ID is the invoice's id, if the dialect makes its own: a
	// store.NewUUID, since an id is public and must carry at least 96
	// random bits. "" has the store make one (store.NewInvoiceID of
	// Prefix).
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
	// Prefix starts the invoice's id ("LTPP-"), before its random part.
	Prefix string
	// NumberPrefix, with no Number, numbers the invoice among the
	// vendor's in the dialect: NumberPrefix and 1, 2, … (Coinremitter's
	// invoice_id "LTC12"), a display number for its authenticated calls.
	NumberPrefix string
	// Fields are the dialect's own fields, kept with the invoice and shown
	// back: at most MaxFields, each value printable and at most
	// MaxFieldLen bytes.
	Fields map[string]string
	// Reference groups the vendor's invoices ("" for none): the
	// Open API's reference_no, a shop's order that may have several
	// payments. Engine.InvoicesByReference lists them. Printable, at most
	// MaxFieldLen bytes.
	Reference string
	// Quote is a quote the dialect handed out before (Quote's): the
	// invoice keeps it if it is of the same amount, currency and coin and
	// has not run out; otherwise the invoice is quoted now.
	Quote *Quote
}

// Limits of Request.Fields.
const (
	MaxFields   = 16
	MaxFieldLen = 1000
)

// Quote is an amount priced in one coin, as an invoice would be now.
type Quote struct {
	// Amount and Currency are the amount asked, normalized ("10",
	// "USD"), as the invoice would keep them.
	Amount, Currency string
	// Coin is the price in the coin: Due satoshis, at Rate (the coin's
	// price in Currency; "" for an amount in the coin), until
	// QuoteExpires (zero for an amount in the coin: it does not run out).
	Coin store.InvoiceCoin
}

// Quote prices amount of currency (a fiat code, or coin's ticker) in coin
// as Create would now, without creating anything. Its errors are
// Create's.
func (e *Engine) Quote(ctx context.Context, amount, currency, coin string) (*Quote, error) {
	if _, err := e.coin(coin); err != nil {
		return nil, err
	}
	if tk := strings.ToLower(currency); chain.CoinName(tk) != "" && tk != coin {
		return nil, invalid(fmt.Sprintf("an amount in %s is paid in %s, not %s", strings.ToUpper(tk), strings.ToUpper(tk), strings.ToUpper(coin)))
	}
	a, cur, cs, err := e.quote(ctx, amount, currency, []string{coin})
	if err != nil {
		return nil, err
	}
	return &Quote{Amount: a, Currency: cur, Coin: cs[0]}, nil
}

// holds reports whether q prices req, offered in coins, at now.
func (q *Quote) holds(req Request, coins []string, now time.Time) bool {
	amount, currency, err := normalize(req.Amount, req.Currency)
	return err == nil && amount == q.Amount && currency == q.Currency && len(coins) == 1 && coins[0] == q.Coin.Coin &&
		(q.Coin.QuoteExpires.IsZero() || now.Before(q.Coin.QuoteExpires))
}

// coin checks that coin is one ferry runs.
func (e *Engine) coin(coin string) (string, error) {
	if !contains(e.cfg.Relay.Coins(), coin) {
		return "", &ferry.Error{Kind: ferry.KindUnsupported, Message: fmt.Sprintf("coin %.20q is not relayed by this server", coin)}
	}
	return coin, nil
}

// checkFields checks a request's dialect fields.
func checkFields(fs map[string]string) error {
	if len(fs) > MaxFields {
		return invalid(fmt.Sprintf("at most %d fields", MaxFields))
	}
	for k, v := range fs {
		if k == "" || len(k) > 40 || !printable(k) {
			return invalid("a field's name must be printable text of 1 to 40 bytes")
		}
		if len(v) > MaxFieldLen || !printable(strings.ReplaceAll(v, "\n", " ")) {
			return invalid(fmt.Sprintf("%s must be printable text of at most %d bytes", clip(k), MaxFieldLen))
		}
	}
	return nil
}

// ErrExists reports an invoice the vendor already created with that
// number; Create returns it with that invoice.
var ErrExists = errors.New("invoice exists")

// Create validates req, quotes it, mints an input address per coin, and
// records the invoice. A request the vendor made before, with its number,
// returns that invoice and an error wrapping ErrExists. A refused request
// (bad amount, currency, URL; rates unavailable; a vendor with MaxOpen open
// invoices, ferry.KindLimit) creates nothing, and its error has a
// ferry.Kind.
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
	if err := checkFields(req.Fields); err != nil {
		return nil, err
	}
	if len(req.Reference) > MaxFieldLen || !printable(req.Reference) {
		return nil, invalid(fmt.Sprintf("the reference must be printable text of at most %d bytes", MaxFieldLen))
	}
	coins, err := e.coinsFor(req)
	if err != nil {
		return nil, err
	}
	// The vendor's room for one more, before an address is minted for it;
	// PutInvoice checks again as it records.
	if e.cfg.MaxOpen > 0 {
		if n, err := e.cfg.Store.OpenInvoicesOf(req.Vendor.ID); err != nil {
			return nil, &ferry.Error{Kind: ferry.KindInternal, Message: "count open invoices", Err: err}
		} else if n >= e.cfg.MaxOpen {
			return nil, e.tooManyOpen()
		}
	}

	// The quote first: a rate source that fails creates nothing.
	now := e.cfg.Clock.Now().UTC()
	inv := &store.Invoice{ID: req.ID, Vendor: req.Vendor.ID, Dialect: req.Dialect, Number: req.Number, Email: req.Email,
		CallbackURL: req.CallbackURL, ReturnURL: req.ReturnURL, WebhookURL: req.WebhookURL, Description: req.Description, Hold: req.Hold,
		Created: now, Expires: now.Add(e.cfg.Expiry), Fields: req.Fields, Reference: req.Reference}
	if req.Expiry > 0 {
		inv.Expires = now.Add(req.Expiry)
	}
	if q := req.Quote; q != nil && q.holds(req, coins, now) {
		// The price the customer was shown, while it holds.
		inv.Amount, inv.Currency, inv.Coins = q.Amount, q.Currency, []store.InvoiceCoin{q.Coin}
	} else if inv.Amount, inv.Currency, inv.Coins, err = e.quote(ctx, req.Amount, req.Currency, coins); err != nil {
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
	inv.Status, inv.StatusChanged = ferry.InvoicePending, now
	err = e.cfg.Store.PutInvoice(inv, store.IDs{Prefix: req.Prefix, NumberPrefix: req.NumberPrefix}, e.cfg.MaxOpen)
	if errors.Is(err, store.ErrIDTaken) {
		return nil, &ferry.Error{Kind: ferry.KindConflict, Message: "invoice " + clip(req.ID) + " exists"}
	} else if errors.Is(err, store.ErrTooManyOpen) {
		return nil, e.tooManyOpen()
	} else if errors.Is(err, store.ErrExists) {
		// The same number, created meanwhile: that one stands.
		v, err := e.Show(ctx, inv.ID)
		if err != nil {
			return nil, err
		}
		return v, fmt.Errorf("invoice %s: %w", inv.ID, ErrExists)
	} else if err != nil {
		return nil, &ferry.Error{Kind: ferry.KindInternal, Message: "record invoice", Err: err}
	}
	e.log.Info().Str("invoice", inv.ID).Str("vendor", inv.Vendor).Str("amount", inv.Amount).Str("currency", inv.Currency).Msg("invoice created")
	return e.view(ctx, inv)
}

// tooManyOpen is Create's error for a vendor with MaxOpen open invoices.
func (e *Engine) tooManyOpen() error {
	return &ferry.Error{Kind: ferry.KindLimit, Message: fmt.Sprintf(
		"too many open invoices: this vendor has %d, the most this server allows at once; an invoice stays open until it expires", e.cfg.MaxOpen)}
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
		mins = append(mins, ferry.Amount(minimum).Short()+" "+strings.ToUpper(c.Coin))
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
	amount, currency, err := normalize(amount, currency)
	if err != nil {
		return "", "", nil, err
	}
	if tk := strings.ToLower(currency); chain.CoinName(tk) != "" {
		sat, _ := ferry.ParseAmount(amount)
		return amount, currency, []store.InvoiceCoin{{Coin: tk, Due: sat, Quoted: now}}, nil
	}
	value, _ := rates.ParseFiatAmount(amount, currency)
	fiat := currency
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

// normalize checks an amount and its currency (a fiat code or a coin's
// ticker) and returns them as an invoice keeps them ("10", "USD"; "0.5",
// "LTC").
func normalize(amount, currency string) (string, string, error) {
	if tk := strings.ToLower(currency); chain.CoinName(tk) != "" {
		sat, err := ferry.ParseAmount(amount)
		if err != nil || sat <= 0 {
			return "", "", invalid(fmt.Sprintf("the amount must be a positive number of %s with at most 8 decimals, not %q", strings.ToUpper(tk), clip(amount)))
		}
		return ferry.Amount(sat).Short(), strings.ToUpper(tk), nil
	}
	fiat, err := rates.CheckCurrency(currency)
	if err != nil {
		return "", "", invalid(fmt.Sprintf("unknown currency %q: use one of %s, or LTC or BTC", clip(currency), strings.Join(rates.Currencies(), ", ")))
	}
	value, err := rates.ParseFiatAmount(amount, fiat)
	if err != nil {
		return "", "", &ferry.Error{Kind: ferry.KindInvalid, Message: "the price must be a positive amount of " + fiat + ": " + err.Error()}
	}
	return value.String(), fiat, nil
}

// quoteCoin prices value of fiat in coin at the price it has now.
func (e *Engine) quoteCoin(ctx context.Context, coin string, value rates.Decimal, fiat string) (store.InvoiceCoin, error) {
	p, err := e.cfg.Quoter.Price(ctx, rates.Pair{Coin: coin, Fiat: fiat})
	if err != nil {
		return store.InvoiceCoin{}, &ferry.Error{Kind: ferry.KindUnavailable, Message: "the " + strings.ToUpper(coin) + "/" + fiat + " rate is unavailable", Err: err}
	}
	sat, err := rates.Satoshis(value, p)
	if err != nil {
		return store.InvoiceCoin{}, &ferry.Error{Kind: ferry.KindInvalid, Message: "the price is out of range: " + err.Error()}
	}
	now := e.cfg.Clock.Now().UTC()
	return store.InvoiceCoin{Coin: coin, Due: sat, Rate: p.Value.String(), Quoted: now, QuoteExpires: now.Add(e.cfg.QuoteValidity)}, nil
}

// requotes prices anew each side of an invoice in fiat whose quote has
// run out, by coin, without changing it: the prices are fetched without
// the engine's lock.
func (e *Engine) requotes(ctx context.Context, inv *store.Invoice) (map[string]store.InvoiceCoin, error) {
	if _, err := rates.CheckCurrency(inv.Currency); err != nil {
		return nil, nil // an amount in a coin is never requoted
	}
	value, err := rates.ParseFiatAmount(inv.Amount, inv.Currency)
	if err != nil {
		return nil, err
	}
	now := e.cfg.Clock.Now()
	quotes := map[string]store.InvoiceCoin{}
	for _, c := range inv.Coins {
		if now.Before(c.QuoteExpires) {
			continue
		}
		q, err := e.quoteCoin(ctx, c.Coin, value, inv.Currency)
		if err != nil {
			return nil, err
		}
		// A coin dearer than at creation may bring the amount below what
		// the relay forwards: ask for that much rather than for a donation.
		q.Due = max(q.Due, e.cfg.Relay.MinDeposit(c.Coin))
		quotes[c.Coin] = q
	}
	return quotes, nil
}

// requote gives each side of inv whose quote has run out its new quote
// from quotes, and reports whether any changed. The caller holds the Holds lock and
// records inv.
func (e *Engine) requote(inv *store.Invoice, quotes map[string]store.InvoiceCoin) bool {
	now := e.cfg.Clock.Now()
	changed := false
	for i := range inv.Coins {
		c := &inv.Coins[i]
		q, ok := quotes[c.Coin]
		if !ok || now.Before(c.QuoteExpires) {
			continue
		}
		c.Due, c.Rate, c.Quoted, c.QuoteExpires = q.Due, q.Rate, q.Quoted, q.QuoteExpires
		changed = true
	}
	return changed
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
