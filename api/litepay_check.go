package api

import (
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/notify"
	"github.com/ferry-relay/ferry/relay"
)

// LitePay's /api/check in its original dialect: ferry's full report of an
// input address and its deposits, in the words README documents.

// checkReply is an input address and its deposits.
type checkReply struct {
	InputAddress string         `json:"input_address"`
	Path         string         `json:"path"`
	Destination  string         `json:"destination"`
	Coin         string         `json:"coin"`
	Status       string         `json:"status"`
	Created      time.Time      `json:"created"`
	Expires      *time.Time     `json:"expires,omitempty"`
	CallbackReq  string         `json:"callback_req"`
	Deposits     []checkDeposit `json:"deposits"`
}

// checkDeposit is one deposit of a checkReply.
type checkDeposit struct {
	// ID is the deposit's stable id, "<txid>:<vout>", as callbacks send
	// it in deposit_id.
	ID               string         `json:"id"`
	TxID             string         `json:"txid"`
	Vout             uint32         `json:"vout"`
	Value            int64          `json:"value"`
	Confirmations    int64          `json:"confirmations"`
	Status           string         `json:"status"`
	ForwardTxID      string         `json:"forward_txid,omitempty"`
	ValueForwarded   int64          `json:"value_forwarded"`
	ForwardConfirmed bool           `json:"forward_confirmed"`
	ForwardError     string         `json:"forward_error,omitempty"`
	Callback         *checkCallback `json:"callback,omitempty"`
}

// checkCallback is a deposit's callback: its state and every attempt.
type checkCallback struct {
	State       string         `json:"state"`
	Attempts    int64          `json:"attempts"`
	LastAttempt *checkAttempt  `json:"last_attempt,omitempty"`
	History     []checkAttempt `json:"history,omitempty"`
}

// checkAttempt is one callback request. Error is the class of its failure
// (notify.ClassTimeout, …), never its full text, which names the
// merchant's host.
type checkAttempt struct {
	Time          time.Time `json:"time"`
	Confirmations int64     `json:"confirmations"`
	HTTPStatus    int       `json:"http_status,omitempty"`
	Error         string    `json:"error,omitempty"`
}

// The statuses of an input address, besides those of its deposits: no
// payment seen, or idle past its expiry.
const (
	statusWaiting = "waiting"
	statusExpired = "expired"
)

// depositStatus is a deposit's status as /api/check words it: a deposit an
// invoice holds is "confirmed" there (in a block, not paid out).
func depositStatus(s ferry.DepositState) string {
	if s == ferry.DepositHeld {
		return ferry.DepositConfirmed.String()
	}
	return s.String()
}

// checkReplyOf words a report as /api/check answers it.
func checkReplyOf(r *relay.Report) checkReply {
	a := r.Address
	out := checkReply{InputAddress: a.Address, Path: r.Path, Destination: a.Destination, Coin: a.Coin, Created: a.Created,
		CallbackReq: map[bool]string{true: "1", false: "0"}[a.CallbackReq], Deposits: make([]checkDeposit, 0, len(r.Deposits))}
	if !r.Expires.IsZero() {
		exp := r.Expires
		out.Expires = &exp
	}
	for _, d := range r.Deposits {
		cd := checkDeposit{ID: d.ID(), TxID: d.OutPoint.Hash.String(), Vout: d.OutPoint.Index, Value: int64(d.Value),
			Confirmations: d.Confirmations, Status: depositStatus(d.State)}
		switch f := d.Forward; {
		case f != nil && d.State == ferry.DepositVanished:
			cd.ForwardTxID = f.TxID.String() // what was paid for it, reorged away
		case f != nil:
			cd.ForwardTxID, cd.ValueForwarded = f.TxID.String(), int64(f.Forwarded)
			cd.ForwardConfirmed, cd.ForwardError = f.State == ferry.ForwardConfirmed, f.Error
		}
		if c := r.Callbacks[d.OutPoint]; c != nil {
			cd.Callback = checkCallbackOf(c)
		}
		out.Deposits = append(out.Deposits, cd)
	}
	out.Status = addressStatus(out.Deposits, r.Watched)
	return out
}

// checkCallbackOf words a deposit's callback.
func checkCallbackOf(c *relay.Callback) *checkCallback {
	cc := &checkCallback{State: c.State.String(), Attempts: c.Attempts}
	for _, a := range c.History {
		cc.History = append(cc.History, checkAttempt{Time: a.Time, Confirmations: a.Confirmations, HTTPStatus: a.Status, Error: notify.Class(a.Error)})
	}
	if n := len(cc.History); n > 0 {
		last := cc.History[n-1]
		cc.LastAttempt = &last
	}
	return cc
}

// addressStatus sums up an address's deposits: the least advanced payment
// that is not a donation decides.
func addressStatus(ds []checkDeposit, watched bool) string {
	has := map[string]bool{}
	for _, d := range ds {
		has[d.Status] = true
	}
	for _, s := range []ferry.DepositState{ferry.DepositUnconfirmed, ferry.DepositConfirmed, ferry.DepositForwarded} {
		if has[s.String()] {
			return s.String()
		}
	}
	switch {
	case has[ferry.DepositDonated.String()]:
		return ferry.DepositDonated.String()
	case has[ferry.DepositVanished.String()]:
		return ferry.DepositVanished.String()
	case watched:
		return statusWaiting
	}
	return statusExpired
}
