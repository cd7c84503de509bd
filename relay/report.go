package relay

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/store"
)

// Report is an input address and its deposits, as the engine knows them
// now: the dialects show it in their own words (LitePay's /api/check in
// package api, an invoice's payments in package invoice).
type Report struct {
	// Address is the input address's record, and Path its derivation path.
	Address *store.Address
	Path    string
	// Watched reports whether the address is still watched (not expired);
	// Expires is when it expires if it stays idle (zero: never).
	Watched bool
	Expires time.Time
	// Deposits are its deposits, by confirmations, most first: those in
	// blocks and in the node's mempool, and those a reorg took away after
	// they were paid out (DepositVanished). Each has its State,
	// Confirmations and Forward.
	Deposits []ferry.Deposit
	// Callbacks are the deposits' callbacks, by outpoint, for those that
	// have one.
	Callbacks map[ferry.OutPoint]*Callback
}

// Callback is a deposit's callback: where it stands and every attempt.
type Callback struct {
	State    ferry.DeliveryState
	Attempts int64
	History  []store.Attempt
}

// Report reports the input address address of the coin with id coin and
// its deposits: unconfirmed ones from the node's mempool, the others from
// the store, and those a reorg took away after they were forwarded.
func (e *Engine) Report(_ context.Context, coin, address string) (*Report, error) {
	r, err := e.coin(coin)
	if err != nil {
		return nil, err
	}
	in, err := r.Chain.ParseDestination(address)
	if err != nil {
		return nil, ferry.Errorf(ferry.KindInvalid, "invalid address: %s", DestinationError(err))
	}
	prog, ok := chain.P2WPKHProgram(in.Script)
	if !ok {
		return nil, ferry.Errorf(ferry.KindNotFound, "not an input address of this server")
	}
	a, err := e.db.AddressByProgram(r.id, prog)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ferry.Errorf(ferry.KindNotFound, "not an input address of this server")
	}
	if err != nil {
		return nil, ferry.Internal("load address", err)
	}
	rep := &Report{Address: a, Path: r.Keys.Path(a.Index), Deposits: []ferry.Deposit{}, Callbacks: map[ferry.OutPoint]*Callback{}}
	if rep.Watched, err = e.db.Watched(r.id, prog); err != nil {
		return nil, ferry.Internal("load address", err)
	}
	if e.cfg.AddressExpiry > 0 {
		rep.Expires = a.LastActivity.Add(e.cfg.AddressExpiry).UTC()
	}
	if err := e.addDeposits(r, rep); err != nil {
		return nil, err
	}
	sort.SliceStable(rep.Deposits, func(i, j int) bool {
		return rep.Deposits[i].Confirmations > rep.Deposits[j].Confirmations
	})
	return rep, nil
}

// addDeposits adds an address's deposits to its report: those in blocks,
// those paid out then taken away by a reorg, those in the mempool.
func (e *Engine) addDeposits(r *coinRunner, rep *Report) error {
	a := rep.Address
	tip := r.scanner.Height()
	deps, err := e.db.DepositsOf(r.id, a.Index)
	if err != nil {
		return ferry.Internal("load deposits", err)
	}
	seen := map[ferry.OutPoint]bool{}
	for _, d := range deps {
		d.Address = a.Address
		if err := e.describe(r, d, tip); err != nil {
			return ferry.Internal("load deposit", err)
		}
		seen[d.OutPoint] = true
		rep.Deposits = append(rep.Deposits, *d)
	}
	fwds, err := e.db.ForwardsOf(r.id, a.Index)
	if err != nil {
		return ferry.Internal("load forwards", err)
	}
	for _, f := range fwds {
		if seen[f.OutPoint] {
			continue
		}
		seen[f.OutPoint] = true
		fw := f.Forward
		fw.State = ForwardState(f, nil)
		rep.Deposits = append(rep.Deposits, ferry.Deposit{Coin: ferry.Coin(r.id), OutPoint: f.OutPoint, AddrIndex: f.AddrIndex,
			Address: a.Address, Value: f.Value, State: ferry.DepositVanished, Forward: &fw})
	}
	for _, m := range r.mempool.Deposits(a.Index) {
		if seen[m.OutPoint] {
			continue
		}
		rep.Deposits = append(rep.Deposits, ferry.Deposit{Coin: ferry.Coin(r.id), OutPoint: m.OutPoint, AddrIndex: a.Index,
			Address: a.Address, Value: m.Value, State: ferry.DepositUnconfirmed})
	}
	for _, d := range rep.Deposits {
		c, err := e.callback(r.id, d.OutPoint)
		if err != nil {
			return ferry.Internal("load callback", err)
		}
		if c != nil {
			rep.Callbacks[d.OutPoint] = c
		}
	}
	return nil
}

// describe works out where a deposit found in a block stands at the tip:
// its confirmations, its forward, and its state.
func (e *Engine) describe(r *coinRunner, d *ferry.Deposit, tip int64) error {
	d.Confirmations = max(0, tip-d.Height+1)
	d.State = ferry.DepositConfirmed
	if d.Value < r.MinDeposit {
		d.State = ferry.DepositDonated
	}
	f, err := e.db.Forward(r.id, d.OutPoint)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return e.held(r, d)
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
func (e *Engine) held(r *coinRunner, d *ferry.Deposit) error {
	if d.State != ferry.DepositConfirmed {
		return nil
	}
	rel, err := e.db.Release(r.id, d.OutPoint)
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

// callback returns a deposit's callback, or nil if it has none.
func (e *Engine) callback(coin string, op ferry.OutPoint) (*Callback, error) {
	c, err := e.db.Callback(coin, store.OutPointRef(op))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	}
	attempts, err := e.db.Attempts(coin, store.OutPointRef(op))
	if err != nil {
		return nil, err
	}
	return &Callback{State: c.State, Attempts: c.Attempts, History: attempts}, nil
}
