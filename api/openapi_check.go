package api

import (
	"strconv"
	"strings"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/invoice"
)

// Where an Open API payment stands: CheckPayment, and CancelPayment, in
// the words of ForumPay's client and WooCommerce plugin, which compare
// status to "Confirmed" and "Cancelled" and choose their view by state.

// oaState is where a payment stands, in the Open API's words: its state,
// its status text, and the name of its webhook event (the seed's:
// payment.<event>; "" for none).
type oaState struct{ state, text, event string }

// The states of a payment. An expired payment is cancelled, as ForumPay
// says (its reason: "expired").
var (
	oaWaiting     = oaState{"waiting", "Waiting for transaction.", ""}
	oaProcessing  = oaState{"processing", "Transaction seen, waiting for confirmations.", ""}
	oaConfirmed   = oaState{"confirmed", "Confirmed", "confirmed"}
	oaUnderpaid   = oaState{"underpayment", "Payment received but amount is less than expected.", "underpaid"}
	oaCancelled   = oaState{"cancelled", "Cancelled", "cancelled"}
	oaRefunded    = oaState{"refunded", "Refunded", "refunded"}
	oaReasonTimed = "expired"
)

// listed is the state as GetTransactions writes it in status: "Waiting",
// "Processing", "Confirmed", "Underpayment", "Cancelled", "Refunded".
func (s oaState) listed() string { return strings.ToUpper(s.state[:1]) + s.state[1:] }

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
		return oaProcessing
	case ferry.InvoiceUnderpaid:
		return oaUnderpaid
	case ferry.InvoiceExpired, ferry.InvoiceCancelled:
		return oaCancelled
	case ferry.InvoiceRefunded:
		return oaRefunded
	}
	if v.Coins[0].Seen > 0 {
		return oaProcessing
	}
	return oaWaiting
}

// oaCheck is CheckPayment's answer: every field ForumPay's client reads.
// payment_id, address and refund_amount_opened (what the payment holds:
// AcceptPayment's and RefundPayment's amount) are ferry's.
type oaCheck struct {
	PaymentID                string  `json:"payment_id"`
	ReferenceNo              string  `json:"reference_no"`
	Inserted                 string  `json:"inserted"`
	InvoiceAmount            string  `json:"invoice_amount"`
	Type                     string  `json:"type"`
	InvoiceCurrency          string  `json:"invoice_currency"`
	Currency                 string  `json:"currency"`
	Address                  string  `json:"address"`
	Amount                   string  `json:"amount"`
	OriginalAmount           *string `json:"original_amount"`
	Payment                  string  `json:"payment"`
	UnconfirmedAmount        *string `json:"unconfirmed_amount"`
	UnconfirmedInvoiceAmount *string `json:"unconfirmed_invoice_amount"`
	Confirmations            string  `json:"confirmations"`
	MinConfirmations         int64   `json:"min_confirmations"`
	AcceptZeroConfirmations  bool    `json:"accept_zero_confirmations"`
	RequireKYT               bool    `json:"require_kyt_for_confirmation"`
	Confirmed                bool    `json:"confirmed"`
	ConfirmedTime            *string `json:"confirmed_time"`
	Cancelled                bool    `json:"cancelled"`
	CancelledTime            *string `json:"cancelled_time"`
	Reason                   *string `json:"reason"`
	State                    string  `json:"state"`
	Status                   string  `json:"status"`
	// Underpayment is what is missing, while underpaid.
	Underpayment       *oaUnderpayment `json:"underpayment"`
	WaitTime           string          `json:"wait_time"`
	Sid                *string         `json:"sid"`
	AccessToken        string          `json:"access_token"`
	AccessURL          string          `json:"access_url"`
	RefundAmountOpened string          `json:"refund_amount_opened"`
	oaNone
}

// oaUnderpayment is what an underpaid payment still misses, and how to
// pay it: to the same address.
type oaUnderpayment struct {
	Address       string `json:"address"`
	MissingAmount string `json:"missing_amount"`
	QR            string `json:"qr"`
	QRAlt         string `json:"qr_alt"`
	QRImg         string `json:"qr_img"`
	QRAltImg      string `json:"qr_alt_img"`
}

// oaCheckPayment is CheckPayment: where the payment stands, and what it
// received. confirmations is a string, as ForumPay's client reads it.
func oaCheckPayment(c *oaCall) (any, error) {
	v, err := c.payment()
	if err != nil {
		return nil, err
	}
	pc := v.Coins[0]
	st := oaStateOf(v, v.Status, c.oa.zeroConf)
	base := c.oa.links.base(c.req)
	r := oaCheck{PaymentID: oaPaymentID(v), ReferenceNo: v.Fields[oaFieldReference], Inserted: oaDate(v.Created), InvoiceAmount: v.Amount,
		Type: "Sell", InvoiceCurrency: v.Currency, Currency: strings.ToUpper(pc.Coin), Address: pc.Address, Amount: oaAmount(pc.Due),
		Payment: oaAmount(received(pc)), Confirmations: strconv.FormatInt(minConfs(pc.Payments), 10), MinConfirmations: c.minConfirmations(v),
		AcceptZeroConfirmations: v.Fields[oaFieldZeroConf] == "true", Confirmed: st == oaConfirmed, State: st.state, Status: st.text,
		WaitTime: oaWait, AccessURL: pageURL(base, v.ID), RefundAmountOpened: oaAmount(pc.Held)}
	if pc.Seen > pc.Confirmed {
		r.UnconfirmedAmount = oaText(oaAmount(pc.Seen - pc.Confirmed))
	}
	switch st {
	case oaConfirmed:
		r.ConfirmedTime = oaDateOf(v.StatusChanged)
	case oaCancelled:
		r.Cancelled, r.CancelledTime = true, oaDateOf(v.StatusChanged)
		if v.Status == ferry.InvoiceExpired {
			r.CancelledTime, r.Reason = oaDateOf(v.Expires), &oaReasonTimed
		}
	case oaUnderpaid:
		if missing := pc.Due - received(pc); missing > 0 {
			uri := chain.CoinName(pc.Coin) + ":" + pc.Address + "?amount=" + missing.Short()
			r.Underpayment = &oaUnderpayment{Address: pc.Address, MissingAmount: oaAmount(missing), QR: uri, QRAlt: pc.Address,
				QRImg: qrLink(base, uri), QRAltImg: qrLink(base, pc.Address)}
		}
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

// oaCancelled is CancelPayment's answer.
type oaCancelledAnswer struct {
	Cancelled bool   `json:"cancelled"`
	Status    string `json:"status"`
}

// oaCancelPayment is CancelPayment: a payment nothing was paid to. A
// payment cancelled or expired already is cancelled again, and changes
// nothing.
func oaCancelPayment(c *oaCall) (any, error) {
	v, err := c.payment()
	if err != nil {
		return nil, err
	}
	if v.Status != ferry.InvoiceExpired {
		if _, err := c.oa.invoices.Cancel(c.req.Context(), v.ID); err != nil {
			return nil, err
		}
	}
	return oaCancelledAnswer{Cancelled: true, Status: oaCancelled.text}, nil
}
