package ferry

// InvoiceStatus is where an invoice stands, worked out from its payments,
// the clock and its expiry.
type InvoiceStatus string

// The statuses of an invoice.
const (
	// InvoicePending: nothing paid yet, or less than the amount seen.
	InvoicePending InvoiceStatus = "pending"
	// InvoiceUnconfirmed: enough seen, not yet with the confirmations
	// that make a payment count.
	InvoiceUnconfirmed InvoiceStatus = "unconfirmed"
	// InvoicePaid: the amount paid, within the tolerance, confirmed.
	InvoicePaid InvoiceStatus = "paid"
	// InvoiceUnderpaid: confirmed payments short of the amount; final
	// once the invoice has expired.
	InvoiceUnderpaid InvoiceStatus = "underpaid"
	// InvoiceOverpaid: confirmed payments above the amount beyond the
	// tolerance.
	InvoiceOverpaid InvoiceStatus = "overpaid"
	// InvoiceExpired: not paid by its expiry.
	InvoiceExpired InvoiceStatus = "expired"
	// InvoiceCancelled: cancelled before any payment.
	InvoiceCancelled InvoiceStatus = "cancelled"
	// InvoiceRefunded: its held payments were sent back.
	InvoiceRefunded InvoiceStatus = "refunded"
)

// Final reports whether nothing a customer does changes the status any
// more, as far as the vendor is told.
func (s InvoiceStatus) Final() bool {
	switch s {
	case InvoicePaid, InvoiceOverpaid, InvoiceExpired, InvoiceCancelled, InvoiceRefunded:
		return true
	}
	return false
}

// Unpaid reports whether nobody paid anything to an invoice of this status
// ("" in records written before statuses were kept).
func (s InvoiceStatus) Unpaid() bool {
	switch s {
	case "", InvoicePending, InvoiceCancelled, InvoiceExpired:
		return true
	}
	return false
}

// Decision is what is decided about a deposit to an invoice that holds the
// payments it does not take.
type Decision uint8

// The decisions about a held deposit.
const (
	// DecisionHold: kept at its input address, waiting for a decision
	// (or for the hold to expire).
	DecisionHold Decision = iota + 1
	// DecisionAccept: forwarded as a payment of its invoice, less the fee.
	DecisionAccept
	// DecisionRefund: sent to the payer's address, less the refund's
	// service fee and the network fee.
	DecisionRefund
	// DecisionLapse: forwarded because nobody decided before the hold
	// expired.
	DecisionLapse
)

// String returns "hold", "accept", "refund" or "lapse".
func (d Decision) String() string {
	switch d {
	case DecisionHold:
		return "hold"
	case DecisionAccept:
		return "accept"
	case DecisionRefund:
		return "refund"
	case DecisionLapse:
		return "lapse"
	}
	return "none"
}

// DeliveryState is where a callback stands: sent again until the merchant
// acknowledges it, or given up, or gone with its deposit.
type DeliveryState uint8

// The states of a delivery.
const (
	// DeliveryPending: sent again at every new block until acknowledged.
	DeliveryPending DeliveryState = iota + 1
	// DeliveryAcked: the merchant answered *ok*; never sent again.
	DeliveryAcked
	// DeliveryGaveUp: past its limit without an *ok*, after at least one
	// attempt.
	DeliveryGaveUp
	// DeliveryVanished: a reorg took its deposit away (double-spent, or
	// waiting to be mined again); it starts again if the deposit comes
	// back and its forward is accepted.
	DeliveryVanished
)

// String returns "pending", "acked", "gave_up" or "vanished".
func (s DeliveryState) String() string {
	switch s {
	case DeliveryPending:
		return "pending"
	case DeliveryAcked:
		return "acked"
	case DeliveryGaveUp:
		return "gave_up"
	case DeliveryVanished:
		return "vanished"
	}
	return "none"
}
