package api

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/rates"
	"github.com/ferry-relay/ferry/store"
)

// The Open API's payments: an invoice in one coin, payable for
// --session-expiry, that holds what it does not take.

// The fields of a payment that ferry keeps for the Open API.
const (
	oaFieldPOS       = "pos_id"
	oaFieldReference = "reference_no"
	oaFieldZeroConf  = "accept_zero_confirmations"
	oaFieldPayerIP   = "payer_ip_address"
	oaFieldPayerUA   = "payer_user_agent"
)

// oaStart is StartPayment's answer.
type oaStart struct {
	oaRate
	Address  string `json:"address"`
	QR       string `json:"qr"`
	QRAlt    string `json:"qr_alt"`
	QRImg    string `json:"qr_img"`
	QRAltImg string `json:"qr_alt_img"`
}

// oaStartPayment is StartPayment: the payment, at the quote GetRate gave
// under its payment_id while it holds (a new quote otherwise), with its
// address and the payment URI as text and as QR code images. The same
// payment_id again is the same payment.
func oaStartPayment(c *oaCall) (any, error) {
	amount, currency, coin, err := c.invoiceParams()
	if err != nil {
		return nil, err
	}
	id := c.q.Get("payment_id")
	var quote *invoice.Quote
	switch {
	case id == "":
		id = store.NewUUID()
	case !uuidForm.MatchString(id):
		return nil, invalidf("payment_id must be the UUID GetRate gave, not %.40q", id)
	default:
		id = strings.ToLower(id)
		if r, ok := c.oa.reserved.take(id, c.oa.clock.Now()); ok && r.vendor == c.vendor.ID {
			quote = r.quote
		}
	}
	fields := map[string]string{oaFieldPOS: c.q.Get("pos_id")}
	for _, k := range []string{oaFieldReference, oaFieldPayerIP, oaFieldPayerUA} {
		if v := c.q.Get(k); v != "" {
			fields[k] = v
		}
	}
	if zc, _ := c.flag(oaFieldZeroConf); zc {
		fields[oaFieldZeroConf] = "true"
	}
	// The payment_id is the vendor's name for the payment (GetRate's, or
	// one it made), for its authenticated calls; the payment's own id,
	// for anything public, is the store's random one.
	v, err := c.oa.invoices.Create(c.req.Context(), invoice.Request{Vendor: c.vendor, Dialect: openAPIDialect, Number: id,
		Amount: amount, Currency: currency, Coins: []string{coin}, Hold: true, Expiry: c.oa.sessionExpiry, Fields: fields, Quote: quote})
	if errors.Is(err, invoice.ErrExists) {
		if !samePayment(v, amount, currency, coin) {
			return nil, invalidf("payment_id %s names a payment of %s %s in %s", id, v.Amount, v.Currency, strings.ToUpper(v.Coins[0].Coin))
		}
	} else if err != nil {
		return nil, err
	}
	pc := v.Coins[0]
	uri := chain.CoinName(pc.Coin) + ":" + pc.Address + "?amount=" + ferry.Amount(pc.Due).Short()
	base := c.oa.links.base(c.req)
	return oaStart{oaRate: c.rate(coin, v.Amount, v.Currency, pc.Due, pc.Rate, oaPaymentID(v)), Address: pc.Address, QR: uri, QRAlt: pc.Address,
		QRImg: qrLink(base, uri), QRAltImg: qrLink(base, pc.Address)}, nil
}

// oaPaymentID is a payment's payment_id: the vendor's name for it (its
// Number), which is its id in stores written before the two were apart.
func oaPaymentID(v *invoice.View) string {
	if v.Number != "" {
		return v.Number
	}
	return v.ID
}

// samePayment reports whether v asks amount of currency in coin.
func samePayment(v *invoice.View, amount, currency, coin string) bool {
	a, err1 := rates.ParseDecimal(amount)
	b, err2 := rates.ParseDecimal(v.Amount)
	return err1 == nil && err2 == nil && a.Cmp(b) == 0 && strings.EqualFold(v.Currency, currency) && v.Coins[0].Coin == coin
}

// payment returns the vendor's Open API payment named by payment_id,
// checked against currency and address if they are given.
func (c *oaCall) payment() (*invoice.View, error) {
	id, err := c.required("payment_id")
	if err != nil {
		return nil, err
	}
	v, err := c.oa.invoices.Find(c.req.Context(), c.vendor.ID, openAPIDialect, strings.ToLower(id))
	if k, _ := ferry.Explain(err); err != nil && k != ferry.KindNotFound {
		return nil, err
	}
	if err != nil {
		return nil, &ferry.Error{Kind: ferry.KindNotFound, Message: "payment " + clipText(id) + " not found"}
	}
	pc := v.Coins[0]
	if cur := c.q.Get("currency"); cur != "" && !strings.EqualFold(cur, pc.Coin) {
		return nil, invalidf("currency: payment %s is in %s", oaPaymentID(v), strings.ToUpper(pc.Coin))
	}
	if a := c.q.Get("address"); a != "" && a != pc.Address {
		return nil, invalidf("address: payment %s is paid to %s", oaPaymentID(v), pc.Address)
	}
	return v, nil
}

// oaState is where a payment stands, in the Open API's words: the state
// and its status text.
type oaState struct{ state, text string }

// The states of a payment.
var (
	oaWaiting     = oaState{"waiting", "Waiting for transaction."}
	oaUnconfirmed = oaState{"unconfirmed", "Transaction seen, waiting for confirmations."}
	oaConfirmed   = oaState{"confirmed", "Payment confirmed."}
	oaUnderpaid   = oaState{"underpaid", "Payment received but amount is less than expected."}
	oaExpired     = oaState{"expired", "Payment expired."}
	oaCancelled   = oaState{"cancelled", "Payment cancelled."}
	oaRefunded    = oaState{"refunded", "Payment refunded."}
)

// zeroConf reports whether v is confirmed as soon as its amount is seen:
// asked so, and small enough.
func zeroConf(v *invoice.View, bounds map[string]ferry.Amount) bool {
	c := v.Coins[0]
	return v.Fields[oaFieldZeroConf] == "true" && c.Due <= bounds[c.Coin]
}

// oaStateOf is where a payment of status s stands; v decides whether an
// amount seen unconfirmed is confirmed.
func oaStateOf(v *invoice.View, s ferry.InvoiceStatus, bounds map[string]ferry.Amount) oaState {
	switch s {
	case ferry.InvoicePaid, ferry.InvoiceOverpaid:
		return oaConfirmed
	case ferry.InvoiceUnconfirmed:
		if zeroConf(v, bounds) {
			return oaConfirmed
		}
		return oaUnconfirmed
	case ferry.InvoiceUnderpaid:
		return oaUnderpaid
	case ferry.InvoiceExpired:
		return oaExpired
	case ferry.InvoiceCancelled:
		return oaCancelled
	case ferry.InvoiceRefunded:
		return oaRefunded
	}
	if v.Coins[0].Seen > 0 {
		return oaUnconfirmed
	}
	return oaWaiting
}

// oaCheck is CheckPayment's answer; payment_id, address and
// refund_amount_opened (what the payment holds: AcceptPayment's and
// RefundPayment's amount) are ferry's.
type oaCheck struct {
	PaymentID          string `json:"payment_id"`
	ReferenceNo        string `json:"reference_no"`
	InvoiceAmount      string `json:"invoice_amount"`
	InvoiceCurrency    string `json:"invoice_currency"`
	Currency           string `json:"currency"`
	Address            string `json:"address"`
	Amount             string `json:"amount"`
	Payment            string `json:"payment"`
	Confirmations      int64  `json:"confirmations"`
	MinConfirmations   int64  `json:"min_confirmations"`
	Confirmed          bool   `json:"confirmed"`
	State              string `json:"state"`
	Status             string `json:"status"`
	WaitTime           string `json:"wait_time"`
	RefundAmountOpened string `json:"refund_amount_opened"`
}

// oaCheckPayment is CheckPayment.
func oaCheckPayment(c *oaCall) (any, error) {
	v, err := c.payment()
	if err != nil {
		return nil, err
	}
	pc := v.Coins[0]
	st := oaStateOf(v, v.Status, c.oa.zeroConf)
	r := oaCheck{PaymentID: oaPaymentID(v), ReferenceNo: v.Fields[oaFieldReference], InvoiceAmount: v.Amount, InvoiceCurrency: v.Currency,
		Currency: strings.ToUpper(pc.Coin), Address: pc.Address, Amount: oaAmount(pc.Due), Payment: oaAmount(received(pc)),
		Confirmations: minConfs(pc.Payments), MinConfirmations: c.oa.confirmations, Confirmed: st == oaConfirmed,
		State: st.state, Status: st.text, WaitTime: oaWait, RefundAmountOpened: oaAmount(pc.Held)}
	if zeroConf(v, c.oa.zeroConf) {
		r.MinConfirmations = 0
	}
	return r, nil
}

// received is what a payment received and was not sent back: every
// payment seen, those it holds included.
func received(c invoice.CoinView) ferry.Amount {
	var sum ferry.Amount
	for _, p := range c.Payments {
		if !p.Refunded {
			sum += p.Value
		}
	}
	return sum
}

// oaCancelPayment is CancelPayment: a payment nothing was paid to.
func oaCancelPayment(c *oaCall) (any, error) {
	v, err := c.payment()
	if err != nil {
		return nil, err
	}
	if _, err := c.oa.invoices.Cancel(c.req.Context(), v.ID); err != nil {
		return nil, err
	}
	return struct {
		Cancelled bool `json:"cancelled"`
	}{true}, nil
}

// oaAcceptPayment is AcceptPayment: accepted_amount, what the payment
// holds (refund_amount_opened), is forwarded to the vendor as its
// payment.
func oaAcceptPayment(c *oaCall) (any, error) {
	v, err := c.payment()
	if err != nil {
		return nil, err
	}
	sat, err := c.amount("accepted_amount")
	if err != nil {
		return nil, err
	}
	if raw := c.q.Get("accepted_invoice_amount"); raw != "" {
		if _, err := rates.ParseDecimal(raw); err != nil {
			return nil, invalidf("accepted_invoice_amount must be a decimal, not %.30q", raw)
		}
	}
	if _, err := c.oa.holds.Accept(c.req.Context(), v.ID, sat); err != nil {
		return nil, err
	}
	return struct {
		Success bool `json:"success"`
	}{true}, nil
}

// oaRefundPayment is RefundPayment: refund_amount, what the payment holds
// (refund_amount_opened), is sent to address_out less the network fee.
func oaRefundPayment(c *oaCall) (any, error) {
	v, err := c.payment()
	if err != nil {
		return nil, err
	}
	to, err := c.required("address_out")
	if err != nil {
		return nil, err
	}
	sat, err := c.amount("refund_amount")
	if err != nil {
		return nil, err
	}
	coin := v.Coins[0].Coin
	if _, err := c.oa.holds.Refund(c.req.Context(), v.ID, coin, to, sat); err != nil {
		return nil, err
	}
	return struct {
		WaitTime string `json:"wait_time"`
	}{oaRefundWait[coin]}, nil
}

// oaRefundWait is how long a refund takes to confirm: it is broadcast at
// once, and mined in a block or two.
var oaRefundWait = map[string]string{"ltc": "5 minutes", "btc": "20 minutes"}

// oaTransaction is one of GetTransactions' payments, with every
// transaction of it (each deposit, and its forward or refund: ferry's).
type oaTransaction struct {
	Status                  string    `json:"status"`
	POSID                   string    `json:"pos_id"`
	PaymentID               string    `json:"payment_id"`
	InvoiceCurrency         string    `json:"invoice_currency"`
	InvoiceAmount           string    `json:"invoice_amount"`
	Currency                string    `json:"currency"`
	Amount                  string    `json:"amount"`
	Address                 string    `json:"address"`
	Type                    string    `json:"type"`
	Payment                 string    `json:"payment"`
	Refund                  string    `json:"refund"`
	RefundAmountOpened      string    `json:"refund_amount_opened"`
	RefundStatus            *string   `json:"refund_status"`
	Inserted                string    `json:"inserted"`
	Confirmed               *string   `json:"confirmed"`
	Cancelled               *string   `json:"cancelled"`
	DoubleSpendingAlert     *string   `json:"double_spending_alert"`
	AcceptZeroConfirmations bool      `json:"accept_zero_confirmations"`
	ItemName                string    `json:"item_name"`
	AccessToken             string    `json:"access_token"`
	Transactions            []oaMoney `json:"transactions"`
}

// oaMoney is one movement of a payment's money.
type oaMoney struct {
	Type          string `json:"type"` // deposit, forward, refund
	TxID          string `json:"txid"`
	Address       string `json:"address"`
	Amount        string `json:"amount"`
	NetworkFee    string `json:"network_fee"`
	ServiceFee    string `json:"service_fee"`
	Confirmations int64  `json:"confirmations"`
	Status        string `json:"status"`
	Time          string `json:"time"`
}

// transaction is v as GetTransactions lists it.
func (c *oaCall) transaction(v *invoice.View) (oaTransaction, error) {
	pc := v.Coins[0]
	st := oaStateOf(v, v.Status, c.oa.zeroConf)
	t := oaTransaction{Status: strings.ToUpper(st.state[:1]) + st.state[1:], POSID: v.Fields[oaFieldPOS], PaymentID: oaPaymentID(v),
		InvoiceCurrency: v.Currency, InvoiceAmount: v.Amount, Currency: strings.ToUpper(pc.Coin), Amount: oaAmount(pc.Due),
		Address: pc.Address, Type: "Sell", Payment: oaAmount(received(pc)), Inserted: oaDate(v.Created),
		AcceptZeroConfirmations: v.Fields[oaFieldZeroConf] == "true", Transactions: []oaMoney{}}
	at := func() *string { d := oaDate(v.StatusChanged); return &d }
	switch st {
	case oaConfirmed:
		t.Confirmed = at()
	case oaCancelled:
		t.Cancelled = at()
	}
	if pc.Held > 0 {
		t.RefundAmountOpened = oaAmount(pc.Held)
	}
	ts, err := v.PaymentTransactions(c.req.Context(), pc.Coin)
	if err != nil {
		return t, err
	}
	var refunded ferry.Amount
	refund := ""
	for _, m := range ts {
		if m.Kind == invoice.KindRefund {
			refunded += m.Amount()
			refund = m.Status()
		}
		t.Transactions = append(t.Transactions, oaMoney{Type: m.Kind, TxID: m.TxID().String(), Address: m.To, Amount: oaAmount(m.Amount()),
			NetworkFee: oaAmount(m.NetworkFee()), ServiceFee: oaAmount(m.ServiceFee()), Confirmations: m.Confirmations, Status: m.Status(),
			Time: oaTime(m.Time)})
	}
	if refund != "" {
		t.Refund, t.RefundStatus = oaAmount(refunded), &refund
	} else if pc.Refunded > 0 {
		pending := "pending"
		t.RefundStatus = &pending
	}
	return t, nil
}

// oaTime writes a time, or "" for none.
func oaTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return oaDate(t)
}

// OpenAPIEvents announces the Open API's payments to every endpoint of
// the vendor: payment.confirmed (a payment small enough with
// accept_zero_confirmations is confirmed once its amount is seen),
// payment.underpaid, payment.cancelled and payment.refunded, each
// {"event","payment_id","pos_id","status","amount","currency","timestamp"}.
type OpenAPIEvents struct {
	// ZeroConf is Config.ZeroConf.
	ZeroConf map[string]ferry.Amount
	Clock    clock.Clock
}

// Announce implements invoice.Announcer.
func (e OpenAPIEvents) Announce(v *invoice.View, from ferry.InvoiceStatus) []invoice.Event {
	to := oaStateOf(v, v.Status, e.ZeroConf)
	if to == oaStateOf(v, from, e.ZeroConf) {
		return nil
	}
	switch to {
	case oaConfirmed, oaUnderpaid, oaCancelled, oaRefunded:
	default:
		return nil
	}
	pc := v.Coins[0]
	body, _ := json.Marshal(struct {
		Event     string `json:"event"`
		PaymentID string `json:"payment_id"`
		POSID     string `json:"pos_id"`
		Status    string `json:"status"`
		Amount    string `json:"amount"`
		Currency  string `json:"currency"`
		Timestamp string `json:"timestamp"`
	}{"payment." + to.state, oaPaymentID(v), v.Fields[oaFieldPOS], to.state, oaAmount(pc.Due), strings.ToUpper(pc.Coin),
		e.Clock.Now().UTC().Format(time.RFC3339)})
	return []invoice.Event{{Type: "payment." + to.state, Body: body}}
}
