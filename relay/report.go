package relay

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/notify"
	"github.com/ferry-relay/ferry/store"
)

// Statuses of an input address and of its deposits, as reports give them.
const (
	StatusWaiting     = "waiting"     // no payment seen
	StatusUnconfirmed = "unconfirmed" // a payment in the mempool
	StatusConfirmed   = "confirmed"   // in a block, not yet forwarded
	StatusForwarded   = "forwarded"   // forward broadcast
	StatusDonation    = "donation"    // below the minimum: not forwarded
	StatusRefunded    = "refunded"    // sent back to the payer (an invoice's held payment)
	StatusExpired     = "expired"     // idle past the expiry, no longer watched
	StatusVanished    = "vanished"    // a reorg took the deposit away: double-spent, or to be mined again
)

// Report is an input address and its deposits.
type Report struct {
	InputAddress string          `json:"input_address"`
	Path         string          `json:"path"`
	Destination  string          `json:"destination"`
	Coin         string          `json:"coin"`
	Status       string          `json:"status"`
	Created      time.Time       `json:"created"`
	Expires      *time.Time      `json:"expires,omitempty"`
	CallbackReq  string          `json:"callback_req"`
	Deposits     []DepositReport `json:"deposits"`
}

// DepositReport is one deposit of a Report.
type DepositReport struct {
	// ID is the deposit's stable id, "<txid>:<vout>", as callbacks send
	// it in deposit_id.
	ID               string          `json:"id"`
	TxID             string          `json:"txid"`
	Vout             uint32          `json:"vout"`
	Value            int64           `json:"value"`
	Confirmations    int64           `json:"confirmations"`
	Status           string          `json:"status"`
	ForwardTxID      string          `json:"forward_txid,omitempty"`
	ValueForwarded   int64           `json:"value_forwarded"`
	ForwardConfirmed bool            `json:"forward_confirmed"`
	ForwardError     string          `json:"forward_error,omitempty"`
	Callback         *CallbackReport `json:"callback,omitempty"`
	// Height is the block that holds it (not in the JSON: clients count
	// confirmations).
	Height int64 `json:"-"`
}

// CallbackReport is a deposit's callback: its state and every attempt.
type CallbackReport struct {
	State       string          `json:"state"`
	Attempts    int64           `json:"attempts"`
	LastAttempt *AttemptReport  `json:"last_attempt,omitempty"`
	History     []AttemptReport `json:"history,omitempty"`
}

// AttemptReport is one callback request. Error is the class of its
// failure (notify.ClassTimeout, …), never its full text.
type AttemptReport struct {
	Time          time.Time `json:"time"`
	Confirmations int64     `json:"confirmations"`
	HTTPStatus    int       `json:"http_status,omitempty"`
	Error         string    `json:"error,omitempty"`
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
	watched, err := e.db.Watched(r.id, prog)
	if err != nil {
		return nil, ferry.Internal("load address", err)
	}

	rep := &Report{
		InputAddress: a.Address,
		Path:         r.Keys.Path(a.Index),
		Destination:  a.Destination,
		Coin:         r.id,
		Created:      a.Created,
		CallbackReq:  map[bool]string{true: "1", false: "0"}[a.CallbackReq],
		Deposits:     []DepositReport{},
	}
	if e.cfg.AddressExpiry > 0 {
		exp := a.LastActivity.Add(e.cfg.AddressExpiry).UTC()
		rep.Expires = &exp
	}

	// Deposits in blocks.
	tip := r.scanner.Height()
	deps, err := e.db.DepositsOf(r.id, a.Index)
	if err != nil {
		return nil, ferry.Internal("load deposits", err)
	}
	seen := map[ferry.OutPoint]bool{}
	for _, d := range deps {
		dr, err := e.describe(r, d, tip)
		if err != nil {
			return nil, ferry.Internal("load deposit", err)
		}
		seen[d.OutPoint] = true
		rep.Deposits = append(rep.Deposits, dr)
	}
	// Deposits forwarded, then taken away by a reorg.
	fwds, err := e.db.ForwardsOf(r.id, a.Index)
	if err != nil {
		return nil, ferry.Internal("load forwards", err)
	}
	for _, f := range fwds {
		if seen[f.OutPoint] {
			continue
		}
		seen[f.OutPoint] = true
		dr := DepositReport{ID: f.OutPoint.String(), TxID: f.OutPoint.Hash.String(), Vout: f.OutPoint.Index, Value: f.Value,
			Status: StatusVanished, ForwardTxID: f.TxID.String()}
		if dr.Callback, err = e.callbackReport(r.id, f.OutPoint); err != nil {
			return nil, ferry.Internal("load callback", err)
		}
		rep.Deposits = append(rep.Deposits, dr)
	}
	// Deposits in the mempool.
	for _, m := range r.mempool.Deposits(a.Index) {
		if seen[m.OutPoint] {
			continue
		}
		rep.Deposits = append(rep.Deposits, DepositReport{
			ID: m.OutPoint.String(), TxID: m.OutPoint.Hash.String(), Vout: m.OutPoint.Index, Value: m.Value, Status: StatusUnconfirmed,
		})
	}
	sort.SliceStable(rep.Deposits, func(i, j int) bool {
		return rep.Deposits[i].Confirmations > rep.Deposits[j].Confirmations
	})
	rep.Status = overallStatus(rep.Deposits, watched)
	return rep, nil
}

// describe reports one deposit found in a block.
func (e *Engine) describe(r *coinRunner, d *store.Deposit, tip int64) (DepositReport, error) {
	dr := DepositReport{
		ID:            d.ID(),
		TxID:          d.OutPoint.Hash.String(),
		Vout:          d.OutPoint.Index,
		Value:         d.Value,
		Confirmations: max(0, tip-d.Height+1),
		Status:        StatusConfirmed,
		Height:        d.Height,
	}
	if d.Value < r.MinDeposit {
		dr.Status = StatusDonation
	}
	f, err := e.db.Forward(r.id, d.OutPoint)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return dr, nil
	case err != nil:
		return dr, err
	}
	dr.ForwardTxID = f.TxID.String()
	dr.ValueForwarded = f.Forwarded
	dr.ForwardConfirmed = d.Spent() && d.SpentBy == f.TxID
	if f.Accepted && !f.Donation {
		dr.Status = StatusForwarded
		if f.Refund {
			dr.Status = StatusRefunded
		}
	}
	if !f.Accepted {
		dr.ForwardError = f.LastError
	}
	dr.Callback, err = e.callbackReport(r.id, d.OutPoint)
	return dr, err
}

// callbackReport reports a deposit's callback, or nil if it has none.
func (e *Engine) callbackReport(coin string, op ferry.OutPoint) (*CallbackReport, error) {
	c, err := e.db.Callback(coin, store.OutPointRef(op))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	}
	cr := &CallbackReport{State: c.State.String(), Attempts: c.Attempts}
	attempts, err := e.db.Attempts(coin, store.OutPointRef(op))
	if err != nil {
		return nil, err
	}
	for _, a := range attempts {
		// Only the failure's class, whoever asks: a record from before
		// classes were kept is reduced to its class here.
		cr.History = append(cr.History, AttemptReport{Time: a.Time, Confirmations: a.Confirmations, HTTPStatus: a.Status, Error: notify.Class(a.Error)})
	}
	if n := len(cr.History); n > 0 {
		last := cr.History[n-1]
		cr.LastAttempt = &last
	}
	return cr, nil
}

// overallStatus sums up an address's deposits: the least advanced payment
// that is not a donation decides.
func overallStatus(ds []DepositReport, watched bool) string {
	has := map[string]bool{}
	for _, d := range ds {
		has[d.Status] = true
	}
	for _, s := range []string{StatusUnconfirmed, StatusConfirmed, StatusForwarded} {
		if has[s] {
			return s
		}
	}
	switch {
	case has[StatusDonation]:
		return StatusDonation
	case has[StatusVanished]:
		return StatusVanished
	case watched:
		return StatusWaiting
	}
	return StatusExpired
}
