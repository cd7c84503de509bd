package api

import (
	"strings"
	"sync"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/store"
)

// The Open API's prices: GetRate (a quote kept for StartPayment under its
// payment_id), GetRates (several coins at once, kept for nothing) and
// GetCurrencyList (the coins, and the price of one in a currency).

// quotesMax bounds the quotes GetRate keeps.
const quotesMax = 10_000

// quoteHold is how long a quote of an amount in a coin (which has no
// expiry of its own) is kept for StartPayment.
const quoteHold = 15 * time.Minute

// reserved is a quote GetRate handed out, kept for StartPayment: nothing
// is minted or recorded until then.
type reserved struct {
	vendor  string
	quote   *invoice.Quote
	expires time.Time
}

// quotes keeps the quotes GetRate handed out, by payment_id, until they
// run out: the oldest go first past quotesMax. A restart forgets them
// (StartPayment then quotes again). Safe for concurrent use.
type quotes struct {
	mu    sync.Mutex
	m     map[string]reserved
	order []string
}

// put keeps r under id.
func (qs *quotes) put(id string, r reserved) {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	if qs.m == nil {
		qs.m = map[string]reserved{}
	}
	for len(qs.order) >= quotesMax {
		delete(qs.m, qs.order[0])
		qs.order = qs.order[1:]
	}
	qs.m[id] = r
	qs.order = append(qs.order, id)
}

// take returns the quote kept under id and forgets it; false if there is
// none, or it ran out at now.
func (qs *quotes) take(id string, now time.Time) (reserved, bool) {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	r, ok := qs.m[id]
	delete(qs.m, id)
	return r, ok && now.Before(r.expires)
}

// oaRate is GetRate's answer, a coin of GetRates', and the start of
// StartPayment's. sid (ForumPay's session) is always null.
type oaRate struct {
	InvoiceAmount              string  `json:"invoice_amount,omitempty"`
	InvoiceCurrency            string  `json:"invoice_currency,omitempty"`
	Currency                   string  `json:"currency"`
	Rate                       string  `json:"rate"`
	AmountExchange             string  `json:"amount_exchange"`
	NetworkProcessingFee       string  `json:"network_processing_fee"`
	Amount                     string  `json:"amount"`
	FastTransactionFee         string  `json:"fast_transaction_fee"`
	FastTransactionFeeCurrency string  `json:"fast_transaction_fee_currency"`
	WaitTime                   string  `json:"wait_time"`
	Sid                        *string `json:"sid"`
	PaymentID                  string  `json:"payment_id,omitempty"`
}

// rate is what a payment of coin quoted q shows: the customer pays the
// amount exchanged and nothing more (the network fee of the forward comes
// out of the vendor's side); fast_transaction_fee is the fee rate ferry's
// own forwards pay now, per byte, as a hint to the payer's wallet.
func (c *oaCall) rate(coin string, invoiceAmount, invoiceCurrency string, due ferry.Amount, rate, id string) oaRate {
	if rate == "" {
		rate = "1" // an amount in the coin
	}
	r := oaRate{InvoiceAmount: invoiceAmount, InvoiceCurrency: invoiceCurrency, Currency: strings.ToUpper(coin), Rate: rate,
		AmountExchange: oaAmount(due), NetworkProcessingFee: oaAmount(0), Amount: oaAmount(due),
		FastTransactionFeeCurrency: strings.ToUpper(coin) + "/Byte", WaitTime: oaWait, PaymentID: id}
	if fr, err := c.oa.relay.FeeRate(c.req.Context(), coin); err == nil {
		r.FastTransactionFee = oaAmount(ferry.Amount((fr + 999) / 1000))
	}
	return r
}

// priceParams reads pos_id, invoice_amount, invoice_currency and the
// flags of GetRate, GetRates and StartPayment.
func (c *oaCall) priceParams() (amount, currency string, err error) {
	if _, err = c.required("pos_id"); err != nil {
		return
	}
	if amount, err = c.required("invoice_amount"); err != nil {
		return
	}
	if currency, err = c.required("invoice_currency"); err != nil {
		return
	}
	if kyt, ferr := c.flag("require_kyt_for_confirmation"); ferr != nil || kyt {
		err = ferr
		if kyt {
			err = invalidf("require_kyt_for_confirmation: ferry runs no KYT check")
		}
		return
	}
	_, err = c.flag("accept_zero_confirmations")
	return strings.TrimSpace(amount), strings.ToUpper(currency), err
}

// invoiceParams reads GetRate's and StartPayment's invoice_amount,
// invoice_currency (a fiat code, or the coin's ticker) and currency.
func (c *oaCall) invoiceParams() (amount, currency, coin string, err error) {
	if amount, currency, err = c.priceParams(); err != nil {
		return
	}
	if coin, err = c.coin(); err != nil {
		return
	}
	err = paidIn(currency, coin)
	return
}

// paidIn checks that an amount in currency may be paid in coin: a fiat
// currency, or the coin itself.
func paidIn(currency, coin string) error {
	if tk := strings.ToLower(currency); chain.CoinName(tk) != "" && tk != coin {
		return invalidf("invoice_currency must be a fiat currency or %s itself, not %s", strings.ToUpper(coin), currency)
	}
	return nil
}

// quote prices amount of currency in coin, at or above the smallest
// payment forwarded.
func (c *oaCall) quote(amount, currency, coin string) (*invoice.Quote, error) {
	q, err := c.oa.quotes.Quote(c.req.Context(), amount, currency, coin)
	if err != nil {
		return nil, err
	}
	return q, c.forwarded(q, coin)
}

// forwarded checks that q is at least the smallest payment forwarded.
func (c *oaCall) forwarded(q *invoice.Quote, coin string) error {
	if minimum := c.oa.relay.MinDeposit(coin); q.Coin.Due < minimum {
		return invalidf("the amount is below the smallest payment this server forwards (%s %s)", ferry.Amount(minimum).Short(), strings.ToUpper(coin))
	}
	return nil
}

// oaGetRate is GetRate: the amount to pay, at the price a payment started
// now would get, and a payment_id keeping that quote for StartPayment
// while it holds (--quote-validity).
func oaGetRate(c *oaCall) (any, error) {
	amount, currency, coin, err := c.invoiceParams()
	if err != nil {
		return nil, err
	}
	q, err := c.quote(amount, currency, coin)
	if err != nil {
		return nil, err
	}
	id := store.NewUUID()
	expires := q.Coin.QuoteExpires
	if expires.IsZero() {
		expires = c.oa.clock.Now().Add(quoteHold)
	}
	c.oa.reserved.put(id, reserved{vendor: c.vendor.ID, quote: q, expires: expires})
	return c.rate(coin, q.Amount, q.Currency, q.Coin.Due, q.Coin.Rate, id), nil
}

// maxOACurrencies bounds the currencies GetRates prices at once.
const maxOACurrencies = 20

// oaRates is GetRates' answer: each currency asked, by its code, priced
// (an oaRate) or refused ({"err":…}).
type oaRates struct {
	PaymentID       string         `json:"payment_id"`
	InvoiceAmount   string         `json:"invoice_amount"`
	InvoiceCurrency string         `json:"invoice_currency"`
	Sid             *string        `json:"sid"`
	Currencies      map[string]any `json:"currencies"`
}

// oaGetRates is GetRates: GetRate for each of currencies (codes separated
// by commas), keyed by code; a coin the server does not relay, or the
// vendor does not take, or that cannot be priced now, answers {"err":…}
// in its place. Its payment_id keeps no quote.
func oaGetRates(c *oaCall) (any, error) {
	amount, currency, err := c.priceParams()
	if err != nil {
		return nil, err
	}
	raw, err := c.required("currencies")
	if err != nil {
		return nil, err
	}
	codes := strings.Split(raw, ",")
	if len(codes) > maxOACurrencies {
		return nil, invalidf("currencies: at most %d at once", maxOACurrencies)
	}
	out := oaRates{PaymentID: store.NewUUID(), InvoiceAmount: amount, InvoiceCurrency: currency, Currencies: map[string]any{}}
	for _, code := range codes {
		code = strings.ToUpper(strings.TrimSpace(code))
		if _, done := out.Currencies[code]; done || code == "" {
			continue
		}
		r, whole, err := c.rateIn(amount, currency, code)
		if whole {
			return nil, err // the amount or its currency, whatever the coin
		} else if err != nil {
			_, msg := ferry.Explain(err)
			out.Currencies[code] = openAPIErr{Err: msg}
			continue
		}
		out.InvoiceAmount, out.InvoiceCurrency = r.InvoiceAmount, r.InvoiceCurrency
		r.InvoiceAmount, r.InvoiceCurrency = "", ""
		out.Currencies[code] = r
	}
	return out, nil
}

// rateIn prices amount of currency in the coin of code, for GetRates;
// whole reports an error of the amount or its currency, whatever the
// coin.
func (c *oaCall) rateIn(amount, currency, code string) (r oaRate, whole bool, err error) {
	coin, err := c.coinOf(code)
	if err != nil {
		return oaRate{}, false, err
	}
	if _, ok := c.vendor.Payout[coin]; !ok {
		return oaRate{}, false, &ferry.Error{Kind: ferry.KindUnsupported, Message: "currency " + code + " is not accepted by this vendor"}
	}
	if err := paidIn(currency, coin); err != nil {
		return oaRate{}, false, err
	}
	q, err := c.oa.quotes.Quote(c.req.Context(), amount, currency, coin)
	if k, _ := ferry.Explain(err); err != nil {
		return oaRate{}, k == ferry.KindInvalid, err
	}
	if err := c.forwarded(q, coin); err != nil {
		return oaRate{}, false, err
	}
	return c.rate(coin, q.Amount, q.Currency, q.Coin.Due, q.Coin.Rate, ""), false, nil
}

// oaCurrency is one of GetCurrencyList's currencies, as ForumPay's client
// reads it: the coins are sold (paid in) only, never bought.
type oaCurrency struct {
	Currency    string `json:"currency"`
	Description string `json:"description"`
	Status      string `json:"status"`
	// ZeroConfirmationsEnabled is "1" if accept_zero_confirmations can
	// confirm a payment in the coin unconfirmed.
	ZeroConfirmationsEnabled string `json:"zero_confirmations_enabled"`
	// CurrencyFiat is invoice_currency, and Rate (SellRate) the price of
	// one coin in it (null without one, or while prices are unavailable).
	CurrencyFiat             string  `json:"currency_fiat"`
	IconURL                  string  `json:"icon_url"`
	Rate                     *string `json:"rate"`
	SellStatus               string  `json:"sell_status"`
	SellRate                 *string `json:"sell_rate"`
	SellMinInvoiceAmount     *string `json:"sell_min_invoice_amount"`
	SellMaxInvoiceAmount     *string `json:"sell_max_invoice_amount"`
	SellNetworkProcessingFee string  `json:"sell_network_processing_fee"`
	BuyStatus                string  `json:"buy_status"`
	BuyRate                  *string `json:"buy_rate"`
	BuyMinInvoiceAmount      *string `json:"buy_min_invoice_amount"`
	BuyMaxInvoiceAmount      *string `json:"buy_max_invoice_amount"`
	BuyNetworkProcessingFee  *string `json:"buy_network_processing_fee"`
	// Name, MinAmount, ZeroConfirmationsMax and Confirmations are
	// ferry's: MinAmount is the smallest payment forwarded (smaller ones
	// are the operator's); ZeroConfirmationsMax the largest payment
	// accept_zero_confirmations confirms unconfirmed; Confirmations those
	// a payment needs otherwise.
	Name                 string `json:"name"`
	MinAmount            string `json:"min_amount"`
	ZeroConfirmationsMax string `json:"zero_confirmations_max"`
	Confirmations        int64  `json:"confirmations"`
}

// oaCurrencyList is GetCurrencyList: the coins the vendor can be paid in
// here, priced in invoice_currency if given and known.
func oaCurrencyList(c *oaCall) (any, error) {
	fiat := strings.ToUpper(strings.TrimSpace(c.q.Get("invoice_currency")))
	out := []oaCurrency{}
	for _, coin := range c.oa.relay.Coins() {
		if _, ok := c.vendor.Payout[coin]; !ok {
			continue
		}
		cur := oaCurrency{Currency: strings.ToUpper(coin), Description: crCoinName(coin), Status: "OK",
			ZeroConfirmationsEnabled: "0", CurrencyFiat: fiat, IconURL: c.oa.links.base(c.req) + "/assets/coins/" + coin + ".svg",
			SellStatus: "OK", SellNetworkProcessingFee: oaAmount(0), BuyStatus: "DISABLED",
			Name: crCoinName(coin), MinAmount: oaAmount(c.oa.relay.MinDeposit(coin)), ZeroConfirmationsMax: oaAmount(c.oa.zeroConf[coin]),
			Confirmations: c.oa.confirmations}
		if c.oa.zeroConf[coin] > 0 {
			cur.ZeroConfirmationsEnabled = "1"
		}
		if fiat != "" {
			cur.Rate = c.price(fiat, coin)
			cur.SellRate = cur.Rate
		}
		out = append(out, cur)
	}
	return out, nil
}

// price is the price of one coin in currency: nil if it has none here (a
// currency the price source does not know, another coin) or prices are
// unavailable now: the list stands without it.
func (c *oaCall) price(currency, coin string) *string {
	if strings.EqualFold(currency, coin) {
		return oaText("1")
	}
	if paidIn(currency, coin) != nil {
		return nil
	}
	q, err := c.oa.quotes.Quote(c.req.Context(), "1", currency, coin)
	if err != nil {
		return nil
	}
	return oaText(q.Coin.Rate)
}
