package ferry

import "time"

// Deposit is one payment to an input address: an output of a transaction,
// in a block or in the node's mempool. It is the one deposit of every room:
// the store records it (the fields up to SpentHeight), the relay says where
// it stands (State, Confirmations, Forward), an invoice counts it as a
// payment, a dialect shows it in its own words.
type Deposit struct {
	Coin     Coin
	OutPoint OutPoint
	// AddrIndex is the input address's derivation index, and Address its
	// text ("" where its reader did not need it).
	AddrIndex uint32
	Address   string
	Value     Amount
	// Height and BlockHash place the block that holds it (0 and zero in
	// the mempool); Time is that block's time (zero for deposits recorded
	// before it was kept, and in the mempool).
	Height    int64
	BlockHash Hash
	Time      time.Time
	// Maturity is the number of confirmations the chain requires before
	// the output may be spent (coinbase and MWEB peg-out outputs), or 0.
	Maturity int64
	// SpentBy is the transaction that spent it on chain, normally its
	// forward, and SpentHeight that transaction's block; zero while
	// unspent.
	SpentBy     Hash
	SpentHeight int64
	// State is where it stands, and Confirmations how many blocks hold it
	// (0 in the mempool), as of the chain tip its reader saw.
	State         DepositState
	Confirmations int64
	// Forward is the transaction that pays it out, once one is signed.
	Forward *Forward
}

// ID returns the deposit's stable identifier, "<txid>:<vout>": merchants
// key on it, since one transaction can pay several deposits.
func (d *Deposit) ID() string { return d.OutPoint.String() }

// Spent reports whether a block spends the deposit.
func (d *Deposit) Spent() bool { return d.SpentHeight != 0 }

// DepositState is where a deposit stands in its life: seen, confirmed, then
// paid out (forwarded, refunded, donated) or held, or taken away by a reorg.
type DepositState uint8

// The states of a deposit.
const (
	// DepositUnconfirmed: in the node's mempool, in no block yet.
	DepositUnconfirmed DepositState = iota + 1
	// DepositConfirmed: in a block, not yet paid out.
	DepositConfirmed
	// DepositHeld: in a block, kept at its input address by an invoice
	// that does not take it, for its vendor to accept or refund.
	DepositHeld
	// DepositForwarded: its forward was broadcast (see Forward.State).
	DepositForwarded
	// DepositRefunded: sent back to the payer, as the vendor decided.
	DepositRefunded
	// DepositDonated: below the minimum deposit: swept to the fee
	// address, never forwarded to the merchant.
	DepositDonated
	// DepositVanished: a reorg took it away after it was paid out: its
	// transaction was double-spent, or waits to be mined again.
	DepositVanished
)

// String returns the state's word: "unconfirmed", "confirmed", "held",
// "forwarded", "refunded", "donation", "vanished".
func (s DepositState) String() string {
	switch s {
	case DepositUnconfirmed:
		return "unconfirmed"
	case DepositConfirmed:
		return "confirmed"
	case DepositHeld:
		return "held"
	case DepositForwarded:
		return "forwarded"
	case DepositRefunded:
		return "refunded"
	case DepositDonated:
		return "donation"
	case DepositVanished:
		return "vanished"
	}
	return "unknown"
}

// PaidOut reports whether the deposit went somewhere: forwarded, refunded
// or donated.
func (s DepositState) PaidOut() bool {
	return s == DepositForwarded || s == DepositRefunded || s == DepositDonated
}

// Forward is the transaction that pays a deposit out: to the merchant and
// the fee address, to the payer (a refund), or, for a donation, to the fee
// address alone. It is signed and recorded before its first broadcast, and
// broadcast again, never rebuilt.
type Forward struct {
	TxID Hash
	// Value is the deposit; ServiceFee and NetworkFee come out of it, and
	// Forwarded is what the destination receives (0 for a donation).
	Value      Amount
	ServiceFee Amount
	NetworkFee Amount
	Forwarded  Amount
	// FeeRate is the network fee rate, in satoshis per 1000 vbytes.
	FeeRate int64
	Created time.Time
	// Donation marks a deposit below the minimum, swept to the fee
	// address; Refund one sent back to Destination, the payer's address.
	Donation    bool
	Refund      bool
	Destination string
	// State is where the transaction stands, as its reader saw it, and
	// Error why its last broadcast failed while no node has taken it.
	State ForwardState
	Error string
}

// ForwardState is where a forward stands: signed, taken by a node,
// confirmed by a block.
type ForwardState uint8

// The states of a forward.
const (
	// ForwardSigned: signed and recorded; no node has taken it yet.
	ForwardSigned ForwardState = iota + 1
	// ForwardBroadcast: a node took it.
	ForwardBroadcast
	// ForwardConfirmed: a block spends the deposit with it.
	ForwardConfirmed
)

// String returns "signed", "broadcast" or "confirmed".
func (s ForwardState) String() string {
	switch s {
	case ForwardSigned:
		return "signed"
	case ForwardBroadcast:
		return "broadcast"
	case ForwardConfirmed:
		return "confirmed"
	}
	return "unknown"
}
