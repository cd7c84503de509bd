package api

import (
	"errors"
	"regexp"
	"strings"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
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

// oaStart is StartPayment's answer: besides the seed's fields, those
// ForumPay's client requires (access_url: the payment's page; the rest
// ForumPay's own, empty or null here).
type oaStart struct {
	oaRate
	MinConfirmations int64      `json:"min_confirmations"`
	Address          string     `json:"address"`
	QR               string     `json:"qr"`
	QRAlt            string     `json:"qr_alt"`
	QRImg            string     `json:"qr_img"`
	QRAltImg         string     `json:"qr_alt_img"`
	Cancelled        bool       `json:"cancelled"`
	AccessToken      string     `json:"access_token"`
	AccessURL        string     `json:"access_url"`
	StatsToken       string     `json:"stats_token"`
	Notices          []struct{} `json:"notices"`
	// BeneficiaryVASPDetails is ForumPay's travel rule data: none.
	BeneficiaryVASPDetails *struct{} `json:"beneficiary_vasp_details"`
	oaNone
}

// oaNone are fields of ForumPay's answers that ferry has nothing for:
// always null.
type oaNone struct {
	PrintString                *string `json:"print_string"`
	ItemName                   *string `json:"item_name"`
	InvoiceSurchargeAmount     *string `json:"invoice_surcharge_amount"`
	InvoiceAmountWithSurcharge *string `json:"invoice_amount_with_surcharge"`
	InvoiceSurchargePercent    *string `json:"invoice_surcharge_percent"`
}

// oaStartPayment is StartPayment: the payment, at the quote GetRate gave
// under its payment_id while it holds (a new quote otherwise; a new
// payment_id if none or "" is given), with its address and the payment
// URI as text and as QR code images, and its page (access_url). The same
// payment_id again is the same payment. reference_no groups it with the
// shop's other payments for its order (GetTransactions); webhook_url gets
// its webhooks in place of the vendor's endpoints. ForumPay's other
// parameters (payer_*, auto_accept_*, wallet_app_id, sid, locale…) are
// taken and ignored.
func oaStartPayment(c *oaCall) (any, error) {
	amount, currency, coin, err := c.invoiceParams()
	if err != nil {
		return nil, err
	}
	id := strings.TrimSpace(c.q.Get("payment_id"))
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
	// for anything public (its page), is the store's random one.
	v, err := c.oa.invoices.Create(c.req.Context(), invoice.Request{Vendor: c.vendor, Dialect: openAPIDialect, Number: id,
		Amount: amount, Currency: currency, Coins: []string{coin}, Hold: true, Expiry: c.oa.sessionExpiry, Fields: fields, Quote: quote,
		Reference: c.q.Get(oaFieldReference), WebhookURL: strings.TrimSpace(c.q.Get("webhook_url"))})
	if errors.Is(err, invoice.ErrExists) {
		if !samePayment(v, amount, currency, coin) {
			return nil, invalidf("payment_id %s names a payment of %s %s in %s", id, v.Amount, v.Currency, strings.ToUpper(v.Coins[0].Coin))
		}
	} else if err != nil {
		return nil, renamed(err, "webhookUrl", "webhook_url")
	}
	pc := v.Coins[0]
	uri := chain.CoinName(pc.Coin) + ":" + pc.Address + "?amount=" + ferry.Amount(pc.Due).Short()
	base := c.oa.links.base(c.req)
	r := oaStart{oaRate: c.rate(coin, v.Amount, v.Currency, pc.Due, pc.Rate, oaPaymentID(v)), MinConfirmations: c.minConfirmations(v),
		Address: pc.Address, QR: uri, QRAlt: pc.Address, QRImg: qrLink(base, uri), QRAltImg: qrLink(base, pc.Address),
		AccessURL: pageURL(base, v.ID), Notices: []struct{}{}}
	return r, nil
}

// renamed is err with an invalid parameter's name, as the engine names it
// (from), in the Open API's words (to).
func renamed(err error, from, to string) error {
	if k, msg := ferry.Explain(err); k == ferry.KindInvalid && strings.HasPrefix(msg, from) {
		return &ferry.Error{Kind: k, Message: to + msg[len(from):]}
	}
	return err
}

// minConfirmations is the confirmations a payment needs: none if it is
// confirmed unconfirmed (zero confirmations, asked and small enough).
func (c *oaCall) minConfirmations(v *invoice.View) int64 {
	if zeroConf(v, c.oa.zeroConf) {
		return 0
	}
	return c.oa.confirmations
}

// uuidForm is a payment_id's form.
var uuidForm = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

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
