package invoice

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/store"
)

// A vendor's ledger: the input addresses it asked for outside an invoice
// (labelled), and every movement of money at its addresses, as the
// dialects' transaction listings show them: each deposit, and the forward
// or refund that paid it out.

// LedgerStore is what the ledger reads and keeps. *store.DB implements it.
type LedgerStore interface {
	PutLabel(l *store.Label) error
	Label(coin string, index uint32) (*store.Label, error)
	Address(coin string, index uint32) (*store.Address, error)
	AddressByProgram(coin string, program []byte) (*store.Address, error)
	Deposit(coin string, op ferry.OutPoint) (*ferry.Deposit, error)
	Forward(coin string, op ferry.OutPoint) (*store.Forward, error)
	InvoicesOf(vendor, dialect string, offset, limit int) ([]*store.Invoice, error)
	InvoicesByReference(vendor, dialect, ref string, offset, limit int) ([]*store.Invoice, error)
}

// The kinds of a Transaction.
const (
	KindDeposit = "deposit"
	KindForward = "forward"
	KindRefund  = "refund"
)

// OutSuffix ends the id of the transaction that pays a deposit out: its
// forward or refund is "<txid>:<vout>" of the deposit, and this.
const OutSuffix = ":out"

// Transaction is one movement of money at an input address: a deposit, or
// the forward or refund that paid it out.
type Transaction struct {
	// Kind is KindDeposit, KindForward or KindRefund.
	Kind string
	// Deposit is the deposit, as the relay reports it, with its Forward:
	// for a forward or refund, the deposit it pays out.
	Deposit ferry.Deposit
	// To is where the money went: the input address for a deposit, the
	// vendor's payout address for a forward, the payer's address for a
	// refund.
	To string
	// Confirmations are the deposit's, or the forward's (0 until a block
	// spends the deposit with it).
	Confirmations int64
	// Time is the deposit's block's (when the ledger was read for one in
	// the mempool), or when the forward was signed.
	Time time.Time
	// Held marks a deposit an invoice holds.
	Held bool
}

// ID returns the deposit's id ("<txid>:<vout>"), or, for the forward or
// refund that pays it out, that and OutSuffix.
func (t *Transaction) ID() string {
	if t.Kind == KindDeposit {
		return t.Deposit.ID()
	}
	return t.Deposit.ID() + OutSuffix
}

// TxID returns the deposit's transaction, or the forward's (refund's).
func (t *Transaction) TxID() ferry.Hash {
	if t.Kind == KindDeposit {
		return t.Deposit.OutPoint.Hash
	}
	return t.Deposit.Forward.TxID
}

// Amount returns what To received: the deposit, or what its forward
// (refund) paid, its fees taken.
func (t *Transaction) Amount() ferry.Amount {
	if t.Kind == KindDeposit {
		return t.Deposit.Value
	}
	return t.Deposit.Forward.Forwarded
}

// ServiceFee and NetworkFee return what came out of the deposit on the way
// to To: a forward's (refund's) fees, none for a deposit.
func (t *Transaction) ServiceFee() ferry.Amount {
	if t.Kind == KindDeposit {
		return 0
	}
	return t.Deposit.Forward.ServiceFee
}

// NetworkFee: see ServiceFee.
func (t *Transaction) NetworkFee() ferry.Amount {
	if t.Kind == KindDeposit {
		return 0
	}
	return t.Deposit.Forward.NetworkFee
}

// Total returns the deposit the movement started from: Amount and the fees.
func (t *Transaction) Total() ferry.Amount { return t.Deposit.Value }

// Status returns the movement's word, as the dialects list it: a deposit's
// state as /api/check gives it (a held deposit is "confirmed": the Held
// field says it is held), a forward's or refund's state ("signed",
// "broadcast", "confirmed").
func (t *Transaction) Status() string {
	if t.Kind != KindDeposit {
		return t.Deposit.Forward.State.String()
	}
	if t.Deposit.State == ferry.DepositHeld {
		return ferry.DepositConfirmed.String()
	}
	return t.Deposit.State.String()
}

// NewAddress hands the vendor a new input address of coin, forwarding to
// its payout address, recorded as the vendor's with label.
func (e *Engine) NewAddress(ctx context.Context, vendor *store.Vendor, coin, label string) (*store.Address, error) {
	if _, err := e.coin(coin); err != nil {
		return nil, err
	}
	if len(label) > 100 || !printable(label) {
		return nil, invalid("the label must be printable text of at most 100 bytes")
	}
	payout, ok := vendor.Payout[coin]
	if !ok {
		return nil, invalid("the vendor has no " + strings.ToUpper(coin) + " payout address")
	}
	a, err := e.cfg.Relay.Mint(ctx, relay.MintRequest{Coin: coin, Destination: payout})
	if err != nil {
		return nil, err
	}
	// An address minted but not labelled (a crash between the two) was
	// never handed to anyone.
	if err := e.cfg.Store.PutLabel(&store.Label{Coin: coin, Index: a.Index, Vendor: vendor.ID, Label: label, Created: e.cfg.Clock.Now().UTC()}); err != nil {
		return nil, &ferry.Error{Kind: ferry.KindInternal, Message: "record label", Err: err}
	}
	e.log.Info().Str("vendor", vendor.ID).Str("coin", coin).Uint32("index", a.Index).Msg("address handed out")
	return a, nil
}

// Owner is whose an input address is: a vendor's labelled address, or an
// invoice's.
type Owner struct {
	Address *store.Address
	Label   *store.Label   // nil for an invoice's address
	Invoice *store.Invoice // nil for a labelled address
}

// Vendor is the owner's vendor id.
func (o *Owner) Vendor() string {
	if o.Label != nil {
		return o.Label.Vendor
	}
	return o.Invoice.Vendor
}

// notFound answers a transaction or an address that is not the vendor's
// as one that does not exist.
func notFound(what string) error {
	return &ferry.Error{Kind: ferry.KindNotFound, Message: what + " not found"}
}

// AddressOwner returns the owner of coin's input address, if it is
// vendor's; not found otherwise.
func (e *Engine) AddressOwner(_ context.Context, vendor, coin, address string) (*Owner, error) {
	if _, err := e.coin(coin); err != nil {
		return nil, err
	}
	c, err := chain.CoinByID(coin, e.cfg.Network)
	if err != nil {
		return nil, err
	}
	dest, err := c.ParseDestination(address)
	if err != nil {
		return nil, invalid("invalid " + c.Name() + " address: " + relay.DestinationError(err))
	}
	prog, ok := chain.P2WPKHProgram(dest.Script)
	if !ok {
		return nil, notFound("address")
	}
	a, err := e.cfg.Store.AddressByProgram(coin, prog)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("address")
	}
	if err != nil {
		return nil, err
	}
	return e.owner(vendor, a)
}

// owner returns who a's owner is, if it is vendor.
func (e *Engine) owner(vendor string, a *store.Address) (*Owner, error) {
	o := &Owner{Address: a}
	l, err := e.cfg.Store.Label(a.Coin, a.Index)
	switch {
	case err == nil:
		o.Label = l
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	default:
		inv, err := e.cfg.Store.InvoiceOfAddress(a.Coin, a.Index)
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFound("address")
		}
		if err != nil {
			return nil, err
		}
		o.Invoice = inv
	}
	if o.Vendor() != vendor {
		return nil, notFound("address")
	}
	return o, nil
}

// Transactions returns every movement of money at coin's input address,
// if it is vendor's: each deposit, with the forward or refund that paid
// it out after it; deposits by confirmations, most first.
func (e *Engine) Transactions(ctx context.Context, vendor, coin, address string) ([]Transaction, error) {
	o, err := e.AddressOwner(ctx, vendor, coin, address)
	if err != nil {
		return nil, err
	}
	return e.ledger(ctx, o)
}

// Transaction returns the transaction id (Transaction.ID) of coin, if it
// is at one of vendor's addresses. A deposit still in the mempool is not
// found this way (Transactions lists it).
func (e *Engine) Transaction(ctx context.Context, vendor, coin, id string) (*Transaction, error) {
	if _, err := e.coin(coin); err != nil {
		return nil, err
	}
	dep, _ := strings.CutSuffix(id, OutSuffix)
	op, err := ferry.ParseOutPoint(dep)
	if err != nil {
		return nil, notFound("transaction")
	}
	d, err := e.cfg.Store.Deposit(coin, op)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("transaction")
	}
	if err != nil {
		return nil, err
	}
	a, err := e.cfg.Store.Address(coin, d.AddrIndex)
	if err != nil {
		return nil, err
	}
	o, err := e.owner(vendor, a)
	if err != nil {
		return nil, notFound("transaction")
	}
	ts, err := e.ledger(ctx, o)
	if err != nil {
		return nil, err
	}
	for i := range ts {
		if ts[i].ID() == id {
			return &ts[i], nil
		}
	}
	return nil, notFound("transaction")
}

// ledger lists the transactions at an owned address.
func (e *Engine) ledger(ctx context.Context, o *Owner) ([]Transaction, error) {
	coin := o.Address.Coin
	rep, err := e.cfg.Relay.Report(ctx, coin, o.Address.Address)
	if err != nil {
		return nil, err
	}
	held := map[string]bool{}
	if o.Invoice != nil && o.Invoice.Hold {
		v, err := e.Get(ctx, o.Invoice.ID)
		if err != nil {
			return nil, err
		}
		for _, p := range v.held(coin) {
			held[p.ID()] = true
		}
	}
	tip := e.cfg.Relay.Height(coin)
	now := e.cfg.Clock.Now().UTC()
	out := []Transaction{}
	for _, d := range rep.Deposits {
		t := Transaction{Kind: KindDeposit, Deposit: d, To: d.Address, Confirmations: d.Confirmations, Time: d.Time, Held: held[d.ID()]}
		if d.State == ferry.DepositUnconfirmed {
			t.Time = now
		}
		out = append(out, t)
		if f := d.Forward; f != nil && !f.Donation { // a donation is the operator's, not the vendor's
			ft := Transaction{Kind: KindForward, Deposit: d, To: rep.Address.Destination, Time: f.Created.UTC()}
			if f.Refund {
				ft.Kind, ft.To = KindRefund, f.Destination
			}
			if f.State == ferry.ForwardConfirmed {
				ft.Confirmations = max(tip-d.SpentHeight+1, 1)
			}
			out = append(out, ft)
		}
	}
	return out, nil
}

// Invoices returns a vendor's invoices of dialect, oldest first: limit of
// them after the first offset, each with its status worked out now.
func (e *Engine) Invoices(ctx context.Context, vendor, dialect string, offset, limit int) ([]*View, error) {
	invs, err := e.cfg.Store.InvoicesOf(vendor, dialect, offset, limit)
	if err != nil {
		return nil, err
	}
	return e.views(ctx, invs)
}

// InvoicesByReference returns a vendor's invoices of dialect with
// reference ref (Request.Reference), oldest first: limit of them after the
// first offset, each with its status worked out now.
func (e *Engine) InvoicesByReference(ctx context.Context, vendor, dialect, ref string, offset, limit int) ([]*View, error) {
	invs, err := e.cfg.Store.InvoicesByReference(vendor, dialect, ref, offset, limit)
	if err != nil {
		return nil, err
	}
	return e.views(ctx, invs)
}

// views returns the views of invs.
func (e *Engine) views(ctx context.Context, invs []*store.Invoice) ([]*View, error) {
	out := make([]*View, 0, len(invs))
	for _, inv := range invs {
		v, err := e.view(ctx, inv)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// PaymentTransactions returns the transactions of an invoice's payments in
// coin ("" for every coin): each deposit, and what paid it out.
func (e *Engine) PaymentTransactions(ctx context.Context, v *View, coin string) ([]Transaction, error) {
	var out []Transaction
	for _, c := range v.Coins {
		if coin != "" && c.Coin != coin {
			continue
		}
		a, err := e.cfg.Store.Address(c.Coin, c.Index)
		if err != nil {
			return nil, err
		}
		ts, err := e.ledger(ctx, &Owner{Address: a, Invoice: v.Invoice})
		if err != nil {
			return nil, err
		}
		out = append(out, ts...)
	}
	return out, nil
}
