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

// addDeposits adds an address's deposits to its report: those the ledger
// has, then those in the mempool, and their callbacks.
func (e *Engine) addDeposits(r *coinRunner, rep *Report) error {
	a := rep.Address
	deps, err := e.ledger.Deposits(r.id, a, r.scanner.Height())
	if err != nil {
		return err
	}
	rep.Deposits = append(rep.Deposits, deps...)
	seen := map[ferry.OutPoint]bool{}
	for _, d := range deps {
		seen[d.OutPoint] = true
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
