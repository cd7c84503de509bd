package relay

import (
	"errors"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/store"
)

// LedgerStore is what a Ledger reads. *store.DB implements it.
type LedgerStore interface {
	DepositsOf(coin string, index uint32) ([]*ferry.Deposit, error)
	ForwardsOf(coin string, index uint32) ([]*store.Forward, error)
	Forward(coin string, op ferry.OutPoint) (*store.Forward, error)
	Release(coin string, op ferry.OutPoint) (*store.Release, error)
	Cursor(coin string) (store.Cursor, error)
}

var _ LedgerStore = (*store.DB)(nil)

// Ledger tells where the deposits of input addresses stand, from the store
// alone: those in blocks, with their confirmations, forward and state, and
// those a reorg took away after they were paid out. It needs no node and
// no running engine, so that the parts the engine asks (the invoice hold
// policy) can read it before the engine exists. It is safe for concurrent
// use.
type Ledger struct {
	store LedgerStore
	min   map[string]ferry.Amount // by coin id
}

// NewLedger returns the ledger of coins' deposits in s.
func NewLedger(s LedgerStore, coins []Coin) *Ledger {
	l := &Ledger{store: s, min: map[string]ferry.Amount{}}
	for _, c := range coins {
		l.min[c.Chain.ID()] = c.MinDeposit
	}
	return l
}

// Tip returns coin's scanned height as the store has it: 0 before the first
// scan.
func (l *Ledger) Tip(coin string) (int64, error) {
	cur, err := l.store.Cursor(coin)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	return cur.Height, err
}

// Deposits returns the deposits of coin's input address a as of height
// tip: those in blocks, then those paid out and taken away by a reorg
// (DepositVanished), in the store's order. Each has its State,
// Confirmations and Forward, and a's text as its Address.
func (l *Ledger) Deposits(coin string, a *store.Address, tip int64) ([]ferry.Deposit, error) {
	deps, err := l.store.DepositsOf(coin, a.Index)
	if err != nil {
		return nil, ferry.Internal("load deposits", err)
	}
	out := make([]ferry.Deposit, 0, len(deps))
	seen := map[ferry.OutPoint]bool{}
	for _, d := range deps {
		d.Address = a.Address
		if err := l.describe(coin, d, tip); err != nil {
			return nil, ferry.Internal("load deposit", err)
		}
		seen[d.OutPoint] = true
		out = append(out, *d)
	}
	fwds, err := l.store.ForwardsOf(coin, a.Index)
	if err != nil {
		return nil, ferry.Internal("load forwards", err)
	}
	for _, f := range fwds {
		if seen[f.OutPoint] {
			continue
		}
		seen[f.OutPoint] = true
		fw := f.Forward
		fw.State = ForwardState(f, nil)
		out = append(out, ferry.Deposit{Coin: ferry.Coin(coin), OutPoint: f.OutPoint, AddrIndex: f.AddrIndex,
			Address: a.Address, Value: f.Value, State: ferry.DepositVanished, Forward: &fw})
	}
	return out, nil
}

// describe works out where a deposit found in a block stands at the tip:
// its confirmations, its forward, and its state.
func (l *Ledger) describe(coin string, d *ferry.Deposit, tip int64) error {
	d.Confirmations = max(0, tip-d.Height+1)
	d.State = ferry.DepositConfirmed
	if d.Value < l.min[coin] {
		d.State = ferry.DepositDonated
	}
	f, err := l.store.Forward(coin, d.OutPoint)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return l.held(coin, d)
	case err != nil:
		return err
	}
	fw := f.Forward
	fw.State = ForwardState(f, d)
	if !f.Accepted {
		fw.Error = f.LastError
	}
	d.Forward = &fw
	if f.Accepted && !f.Donation {
		d.State = ferry.DepositForwarded
		if f.Refund {
			d.State = ferry.DepositRefunded
		}
	}
	return nil
}

// held marks a confirmed deposit with no forward that an invoice holds.
func (l *Ledger) held(coin string, d *ferry.Deposit) error {
	if d.State != ferry.DepositConfirmed {
		return nil
	}
	rel, err := l.store.Release(coin, d.OutPoint)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	if rel.Decision == ferry.DecisionHold {
		d.State = ferry.DepositHeld
	}
	return nil
}

// ForwardState is where the forward f stands: confirmed once a block spends
// its deposit d with it (d nil: not known), broadcast once a node took it,
// signed before.
func ForwardState(f *store.Forward, d *ferry.Deposit) ferry.ForwardState {
	switch {
	case d != nil && d.Spent() && d.SpentBy == f.TxID:
		return ferry.ForwardConfirmed
	case f.Accepted:
		return ferry.ForwardBroadcast
	}
	return ferry.ForwardSigned
}
