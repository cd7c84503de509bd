package api

import (
	"strconv"
	"strings"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/invoice"
)

// GetTransactions: the vendor's payments, or those of one reference_no
// (a shop's order, as ForumPay's WooCommerce plugin asks before it
// cancels an order's other payments, or fails an order whose payments
// are all cancelled), as {"invoices":[…]}.

// oaTransactions is GetTransactions' answer.
type oaTransactions struct {
	Invoices []oaTransaction `json:"invoices"`
}

// oaTransaction is one of GetTransactions' payments: every field ForumPay's
// client reads, and every transaction of it (each deposit, and its
// forward or refund: ferry's).
type oaTransaction struct {
	State                   string    `json:"state"`
	Status                  string    `json:"status"`
	StatusLoc               string    `json:"status_loc"`
	POSID                   string    `json:"pos_id"`
	PaymentID               string    `json:"payment_id"`
	InvoiceCurrency         string    `json:"invoice_currency"`
	InvoiceAmount           string    `json:"invoice_amount"`
	Currency                string    `json:"currency"`
	Amount                  string    `json:"amount"`
	AmountExchange          string    `json:"amount_exchange"`
	NetworkProcessingFee    string    `json:"network_processing_fee"`
	Address                 string    `json:"address"`
	Type                    string    `json:"type"`
	TypeLoc                 string    `json:"type_loc"`
	Payment                 string    `json:"payment"`
	Refund                  string    `json:"refund"`
	RefundAmountOpened      string    `json:"refund_amount_opened"`
	RefundStatus            *string   `json:"refund_status"`
	RefundStatusLoc         *string   `json:"refund_status_loc"`
	InvoiceDate             *string   `json:"invoice_date"`
	Inserted                string    `json:"inserted"`
	Confirmed               *string   `json:"confirmed"`
	Cancelled               *string   `json:"cancelled"`
	DoubleSpendingAlert     *string   `json:"double_spending_alert"`
	AcceptZeroConfirmations bool      `json:"accept_zero_confirmations"`
	ItemName                string    `json:"item_name"`
	AccessToken             string    `json:"access_token"`
	Sid                     *string   `json:"sid"`
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

// Pages of GetTransactions: 20 payments by default, 100 at most, and all
// of a reference_no's (up to 100) when it names one.
const (
	oaPage    = 20
	oaPageMax = 100
)

// oaTransactionList is GetTransactions: the vendor's payments, oldest first,
// limit after offset; only those of reference_no if it is given.
func oaTransactionList(c *oaCall) (any, error) {
	ref := c.q.Get(oaFieldReference)
	offset, limit := 0, oaPage
	if ref != "" {
		limit = oaPageMax
	}
	for _, p := range []struct {
		name string
		v    *int
		max  int
	}{{"offset", &offset, 1 << 30}, {"limit", &limit, oaPageMax}} {
		raw := c.q.Get(p.name)
		if raw == "" {
			continue
		}
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 || n > p.max {
			return nil, invalidf("%s must be a whole number from 0 to %d, not %.20q", p.name, p.max, raw)
		}
		*p.v = n
	}
	var vs []*invoice.View
	var err error
	if ref != "" {
		vs, err = c.oa.invoices.InvoicesByReference(c.req.Context(), c.vendor.ID, openAPIDialect, ref, offset, limit)
	} else {
		vs, err = c.oa.invoices.Invoices(c.req.Context(), c.vendor.ID, openAPIDialect, offset, limit)
	}
	if err != nil {
		return nil, err
	}
	out := oaTransactions{Invoices: make([]oaTransaction, 0, len(vs))}
	for _, v := range vs {
		t, err := c.transaction(v)
		if err != nil {
			return nil, err
		}
		out.Invoices = append(out.Invoices, t)
	}
	return out, nil
}

// transaction is v as GetTransactions lists it.
func (c *oaCall) transaction(v *invoice.View) (oaTransaction, error) {
	pc := v.Coins[0]
	st := oaStateOf(v, v.Status, c.oa.zeroConf)
	t := oaTransaction{State: st.state, Status: st.listed(), StatusLoc: st.listed(), POSID: v.Fields[oaFieldPOS], PaymentID: oaPaymentID(v),
		InvoiceCurrency: v.Currency, InvoiceAmount: v.Amount, Currency: strings.ToUpper(pc.Coin), Amount: oaAmount(pc.Due),
		AmountExchange: oaAmount(pc.Due), NetworkProcessingFee: oaAmount(0), Address: pc.Address, Type: "Sell", TypeLoc: "Sell",
		Payment: oaAmount(received(pc)), Inserted: oaDate(v.Created), AcceptZeroConfirmations: v.Fields[oaFieldZeroConf] == "true",
		Transactions: []oaMoney{}}
	switch {
	case st == oaConfirmed:
		t.Confirmed = oaDateOf(v.StatusChanged)
	case v.Status == ferry.InvoiceExpired:
		t.Cancelled = oaDateOf(v.Expires)
	case st == oaCancelled:
		t.Cancelled = oaDateOf(v.StatusChanged)
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
	t.RefundStatusLoc = t.RefundStatus
	return t, nil
}

// oaTime writes a time, or "" for none.
func oaTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return oaDate(t)
}
