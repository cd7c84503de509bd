package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/rates"
	"github.com/ferry-relay/ferry/relay"
)

// Coinremitter's invoices: create-invoice, get-invoice, and ferry's own
// accept-payment and refund-payment for what an invoice holds; its
// notify_url gets the invoice, as get-invoice shows it, at each payment
// and each change of status.

// crDateFormat is how Coinremitter writes dates, in UTC.
const crDateFormat = time.DateTime

// crDate writes t as Coinremitter does ("" for the zero time).
func crDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(crDateFormat)
}

// The fields of an invoice that ferry keeps for Coinremitter.
const (
	crFieldName    = "name"
	crFieldFail    = "fail_url"
	crFieldCustom1 = "custom_data1"
	crFieldCustom2 = "custom_data2"
	// crFieldUSD is the coin's USD price at creation, when the invoice is
	// priced in another currency.
	crFieldUSD = "usd_rate"
)

// crCreateInvoice is create-invoice: amount (of currency, a fiat code, or
// of the coin if none), name, expire_time (minutes), notify_url,
// suceess_url (sic), fail_url, description, custom_data1, custom_data2.
func crCreateInvoice(c *crCall) (any, string, error) {
	f := c.form
	if err := c.required("amount"); err != nil {
		return nil, "", err
	}
	if !crNumber(strings.TrimSpace(f.Get("amount"))) {
		return nil, "", crInvalidf("The amount must be a number.")
	}
	currency := strings.ToUpper(strings.TrimSpace(f.Get("currency")))
	if currency == "" {
		currency = strings.ToUpper(c.coin)
	}
	places := 8
	if currency != strings.ToUpper(c.coin) {
		if _, err := rates.CheckCurrency(currency); err != nil {
			return nil, "", crInvalidf("The selected currency is invalid.")
		}
		places = rates.MinorUnits(currency)
	}
	amount, err := c.decimal("amount", places, currency)
	if err != nil {
		return nil, "", err
	}
	var expiry time.Duration
	if raw := strings.TrimSpace(f.Get("expire_time")); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 {
			return nil, "", crInvalidf("The expire time must be an integer of at least 1.")
		}
		if limit := int(c.cr.expiry / time.Minute); n > limit {
			return nil, "", crInvalidf("The expire time may not be greater than %d.", limit)
		}
		expiry = time.Duration(n) * time.Minute
	}
	for _, k := range []string{"notify_url", "suceess_url", "fail_url"} {
		if raw := f.Get(k); raw != "" {
			if _, err := relay.ParseCallback(raw); err != nil {
				return nil, "", crInvalidf("The %s format is invalid.", crName(k))
			}
		}
	}
	fields := map[string]string{}
	for _, k := range []string{crFieldName, crFieldFail, crFieldCustom1, crFieldCustom2} {
		if v := f.Get(k); v != "" {
			fields[k] = v
		}
	}
	if len(fields[crFieldName]) > 100 {
		return nil, "", crInvalidf("The name may not be greater than 100 characters.")
	}
	ctx := c.req.Context()
	if currency != "USD" {
		// Its worth in USD, as Coinremitter shows it; none if the source
		// has no USD price.
		if q, err := c.cr.quotes.Quote(ctx, "1", "USD", c.coin); err == nil {
			fields[crFieldUSD] = q.Coin.Rate
		}
	}
	v, err := c.cr.invoices.Create(ctx, invoice.Request{Vendor: c.vendor, Dialect: coinremitterDialect, Amount: amount, Currency: currency,
		Coins: []string{c.coin}, Hold: true, WebhookURL: f.Get("notify_url"), ReturnURL: f.Get("suceess_url"),
		Description: f.Get("description"), Expiry: expiry, NumberPrefix: strings.ToUpper(c.coin), Fields: fields})
	if err != nil {
		return nil, "", err
	}
	data, err := crInvoice(ctx, v, c.cr.links.base(c.req))
	return data, "success", err
}

// invoice returns the vendor's Coinremitter invoice of the call's coin
// named by the form's invoice_id: its display number ("LTC12"), or its id.
func (c *crCall) invoice() (*invoice.View, error) {
	if err := c.required("invoice_id"); err != nil {
		return nil, err
	}
	v, err := c.cr.invoices.Find(c.req.Context(), c.vendor.ID, coinremitterDialect, c.form.Get("invoice_id"))
	if k, _ := ferry.Explain(err); err != nil && k != ferry.KindNotFound {
		return nil, err
	}
	if err != nil || v.Coins[0].Coin != c.coin {
		return nil, crFailf("Invoice not found.")
	}
	return v, nil
}

// crGetInvoice is get-invoice.
func crGetInvoice(c *crCall) (any, string, error) {
	v, err := c.invoice()
	if err != nil {
		return nil, "", err
	}
	data, err := crInvoice(c.req.Context(), v, c.cr.links.base(c.req))
	return data, "success", err
}

// crAccept is ferry's accept-payment: invoice_id, and amount, what the
// invoice holds (held_amount): forwarded to the vendor, less the service
// fee, as the invoice's payment.
func crAccept(c *crCall) (any, string, error) {
	v, err := c.invoice()
	if err != nil {
		return nil, "", err
	}
	sat, err := c.amount("amount")
	if err != nil {
		return nil, "", err
	}
	if v, err = c.cr.holds.Accept(c.req.Context(), v.ID, sat); err != nil {
		return nil, "", err
	}
	data, err := crInvoice(c.req.Context(), v, c.cr.links.base(c.req))
	return data, "Payment accepted: it is forwarded to your address.", err
}

// crRefund is ferry's refund-payment: invoice_id, address (of the coin,
// the payer's) and amount, what the invoice holds: sent back, less the
// network fee only.
func crRefund(c *crCall) (any, string, error) {
	v, err := c.invoice()
	if err != nil {
		return nil, "", err
	}
	if err := c.required("address"); err != nil {
		return nil, "", err
	}
	sat, err := c.amount("amount")
	if err != nil {
		return nil, "", err
	}
	if _, err := c.cr.destination(c.coin, c.form.Get("address")); err != nil {
		return nil, "", crInvalidf("The address must be a %s address of this server's network.", strings.ToUpper(c.coin))
	}
	if v, err = c.cr.holds.Refund(c.req.Context(), v.ID, c.coin, c.form.Get("address"), sat); err != nil {
		return nil, "", err
	}
	data, err := crInvoice(c.req.Context(), v, c.cr.links.base(c.req))
	return data, "Payment refunded: it is sent to the address, less the network fee.", err
}

// crStatus is an invoice's status and status_code in Coinremitter's
// words. An invoice refunded (its held payments sent back) is cancelled.
func crStatus(s ferry.InvoiceStatus) (string, int) {
	switch s {
	case ferry.InvoicePaid:
		return "Paid", 1
	case ferry.InvoiceUnderpaid:
		return "Under Paid", 2
	case ferry.InvoiceOverpaid:
		return "Over Paid", 3
	case ferry.InvoiceExpired:
		return "Expired", 4
	case ferry.InvoiceCancelled, ferry.InvoiceRefunded:
		return "Cancelled", 5
	}
	return "Pending", 0
}

// crInvoiceData is an invoice as get-invoice shows it, in its order;
// held_amount and refunded_amount are ferry's own.
type crInvoiceData struct {
	ID              string            `json:"id"`
	InvoiceID       string            `json:"invoice_id"`
	MerchantID      string            `json:"merchant_id"`
	URL             string            `json:"url"`
	TotalAmount     map[string]string `json:"total_amount"`
	PaidAmount      any               `json:"paid_amount"`
	UsdAmount       string            `json:"usd_amount"`
	ConversionRate  map[string]string `json:"conversion_rate"`
	BaseCurrency    string            `json:"base_currency"`
	Coin            string            `json:"coin"`
	Name            string            `json:"name"`
	Description     string            `json:"description"`
	WalletName      string            `json:"wallet_name"`
	Address         string            `json:"address"`
	PaymentHistory  []crPayment       `json:"payment_history"`
	Status          string            `json:"status"`
	StatusCode      int               `json:"status_code"`
	NotifyURL       string            `json:"notify_url"`
	SuceessURL      string            `json:"suceess_url"`
	FailURL         string            `json:"fail_url"`
	ExpireOn        string            `json:"expire_on"`
	InvoiceDate     string            `json:"invoice_date"`
	LastUpdatedDate string            `json:"last_updated_date"`
	CustomData1     string            `json:"custom_data1"`
	CustomData2     string            `json:"custom_data2"`
	HeldAmount      string            `json:"held_amount"`
	RefundedAmount  string            `json:"refunded_amount"`
}

// crPayment is one payment of an invoice's payment_history.
type crPayment struct {
	TxID         string      `json:"txid"`
	ExplorerURL  string      `json:"explorer_url"`
	Amount       json.Number `json:"amount"`
	Date         string      `json:"date"`
	Confirmation int64       `json:"confirmation"`
}

// crInvoiceID is an invoice's invoice_id: its vendor's display number
// ("LTC12"), or its id in stores written before invoices had one (when
// ids were that number).
func crInvoiceID(v *invoice.View) string {
	if v.Number != "" {
		return v.Number
	}
	return v.ID
}

// crInvoice is v as get-invoice shows it, its links on base: id is its
// random id, as its page's URL has it; invoice_id the vendor's display
// number.
func crInvoice(ctx context.Context, v *invoice.View, base string) (*crInvoiceData, error) {
	c := v.Coins[0]
	ticker := strings.ToUpper(c.Coin)
	d := &crInvoiceData{ID: v.ID, InvoiceID: crInvoiceID(v), MerchantID: v.Invoice.Vendor, URL: pageURL(base, v.ID),
		TotalAmount: map[string]string{ticker: ferry.Amount(c.Due).Short()}, PaidAmount: crNone, ConversionRate: map[string]string{},
		BaseCurrency: v.Currency, Coin: ticker, Name: v.Fields[crFieldName], Description: v.Description, Address: c.Address,
		PaymentHistory: []crPayment{}, NotifyURL: v.WebhookURL, SuceessURL: v.ReturnURL, FailURL: v.Fields[crFieldFail],
		ExpireOn: crDate(v.Expires), InvoiceDate: crDate(v.Created), LastUpdatedDate: crDate(v.Created),
		CustomData1: v.Fields[crFieldCustom1], CustomData2: v.Fields[crFieldCustom2],
		HeldAmount: ferry.Amount(c.Held).Short(), RefundedAmount: ferry.Amount(c.Refunded).Short()}
	if !v.StatusChanged.IsZero() {
		d.LastUpdatedDate = crDate(v.StatusChanged)
	}
	if v.Vendor != nil {
		d.WalletName = v.Vendor.Name
	}
	d.Status, d.StatusCode = crStatus(v.Status)

	// The amount in each currency: the coin, the invoice's own (at its
	// quote), and USD.
	prices := map[string]rates.Decimal{}
	if r, err := rates.ParseDecimal(c.Rate); err == nil && c.Rate != "" {
		prices[v.Currency] = r
		d.TotalAmount[v.Currency] = v.Amount
	}
	if r, err := rates.ParseDecimal(v.Fields[crFieldUSD]); err == nil && v.Fields[crFieldUSD] != "" {
		prices["USD"] = r
	}
	for fiat, p := range prices {
		price := rates.Price{Pair: rates.Pair{Coin: c.Coin, Fiat: fiat}, Value: p}
		if fiat != v.Currency {
			d.TotalAmount[fiat] = rates.Fiat(c.Due, price).Fixed(8)
		}
		d.ConversionRate[ticker+"_"+fiat] = p.String()
		if per, err := rates.Satoshis(mustDecimal("1"), price); err == nil {
			d.ConversionRate[fiat+"_"+ticker] = ferry.Amount(per).String()
		}
	}
	d.UsdAmount = d.TotalAmount["USD"]
	if c.Seen > 0 {
		paid := map[string]string{ticker: ferry.Amount(c.Seen).Short()}
		for fiat, p := range prices {
			paid[fiat] = rates.Fiat(c.Seen, rates.Price{Pair: rates.Pair{Coin: c.Coin, Fiat: fiat}, Value: p}).Fixed(8)
		}
		d.PaidAmount = paid
	}

	// Every payment, from the ledger: its block's time.
	ts, err := v.PaymentTransactions(ctx, c.Coin)
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		if t.Kind != invoice.KindDeposit || t.Deposit.State == ferry.DepositDonated || t.Deposit.State == ferry.DepositVanished {
			continue
		}
		d.PaymentHistory = append(d.PaymentHistory, crPayment{TxID: t.TxID().String(), Amount: json.Number(t.Amount().Short()),
			Date: crDate(t.Time), Confirmation: t.Confirmations})
	}
	return d, nil
}

// mustDecimal is a decimal constant.
func mustDecimal(s string) rates.Decimal {
	d, err := rates.ParseDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}

// CoinremitterEvents tells a Coinremitter invoice's notify_url of each
// payment and each change of its status: a POST of the invoice as
// get-invoice shows it, as a form (nested fields in PHP's brackets:
// total_amount[LTC]), signed as every webhook is.
type CoinremitterEvents struct {
	// Base is the base of the links the invoice shows (OwnBase of the
	// API's configuration).
	Base string
}

// Announce implements invoice.Announcer.
func (e CoinremitterEvents) Announce(v *invoice.View, _ ferry.InvoiceStatus) []invoice.Event {
	if v.WebhookURL == "" {
		return nil
	}
	d, err := crInvoice(context.Background(), v, e.Base)
	if err != nil {
		return nil
	}
	form, err := phpForm(d)
	if err != nil {
		return nil
	}
	status, _ := crStatus(v.Status)
	return []invoice.Event{{Type: "invoice." + strings.ToLower(strings.ReplaceAll(status, " ", "_")), URL: v.WebhookURL,
		Body: []byte(form.Encode()), ContentType: "application/x-www-form-urlencoded"}}
}

// phpForm writes v, as its JSON, as the fields of a form in PHP's
// notation: an object's fields as name[key], an array's as name[0]; an
// empty object or array, which a form cannot carry, is left out.
func phpForm(v any) (url.Values, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var tree any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		return nil, err
	}
	obj, ok := tree.(map[string]any)
	if !ok {
		return nil, errors.New("php form: not an object")
	}
	out := url.Values{}
	var walk func(name string, x any)
	walk = func(name string, x any) {
		switch y := x.(type) {
		case map[string]any:
			keys := make([]string, 0, len(y))
			for k := range y {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(name+"["+k+"]", y[k])
			}
		case []any:
			for i, z := range y {
				walk(fmt.Sprintf("%s[%d]", name, i), z)
			}
		case nil:
			out.Add(name, "")
		default:
			out.Add(name, fmt.Sprint(y))
		}
	}
	for k, x := range obj {
		walk(k, x)
	}
	return out, nil
}
