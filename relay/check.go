package relay

import (
	"errors"
	"net/http"
	"sort"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/store"
)

// Statuses of an input address and of its deposits, as /api/check reports
// them.
const (
	StatusWaiting     = "waiting"     // no payment seen
	StatusUnconfirmed = "unconfirmed" // a payment in the mempool
	StatusConfirmed   = "confirmed"   // in a block, not yet forwarded
	StatusForwarded   = "forwarded"   // forward broadcast
	StatusDonation    = "donation"    // below the minimum: not forwarded
	StatusExpired     = "expired"     // idle past the expiry, no longer watched
)

// checkReply is /api/check's answer.
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

type checkDeposit struct {
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

type checkCallback struct {
	State       string        `json:"state"`
	Attempts    int64         `json:"attempts"`
	LastAttempt *checkAttempt `json:"last_attempt,omitempty"`
}

type checkAttempt struct {
	Time          time.Time `json:"time"`
	Confirmations int64     `json:"confirmations"`
	HTTPStatus    int       `json:"http_status,omitempty"`
	Error         string    `json:"error,omitempty"`
}

// laterCheckReply is /api/check's answer in LitePay's later dialect.
type laterCheckReply struct {
	Status  string `json:"status"`
	Address string `json:"address"`
	// Amount is what the address received, in coins, unconfirmed
	// payments included.
	Amount string `json:"amount"`
	// Confirmations are those of the least confirmed deposit: 0 while
	// one is unconfirmed or none was made.
	Confirmations int64    `json:"confirmations"`
	TxIDs         []string `json:"txids"`
}

// later sums a report up as LitePay's later clients read it.
func (c *checkReply) later() laterCheckReply {
	r := laterCheckReply{Status: "success", Address: c.InputAddress, TxIDs: []string{}}
	var sum int64
	seen := map[string]bool{}
	for i, d := range c.Deposits {
		sum += d.Value
		if i == 0 || d.Confirmations < r.Confirmations {
			r.Confirmations = d.Confirmations
		}
		if !seen[d.TxID] {
			seen[d.TxID] = true
			r.TxIDs = append(r.TxIDs, d.TxID)
		}
	}
	r.Amount = chain.FormatAmountShort(sum)
	return r
}

func (s *Service) check(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	reply, err := s.checkAddress(req)
	later := dialectOf(req) == laterDialect
	switch {
	case err != nil && later:
		kind, msg := s.explain(err, "check")
		writeJSON(w, statuses[kind].ferry, laterError{Status: "error", Message: msg})
	case err != nil:
		kind, msg := s.explain(err, "check")
		writeJSON(w, statuses[kind].ferry, map[string]string{"error": msg})
	case later:
		writeJSON(w, http.StatusOK, reply.later())
	default:
		writeJSON(w, http.StatusOK, reply)
	}
}

// checkAddress reports an input address and its deposits: unconfirmed ones
// from the node's mempool, the others from the store.
func (s *Service) checkAddress(req *http.Request) (*checkReply, error) {
	q, err := parseQuery(req.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	r, err := s.coinFor(q.Get("method"))
	if err != nil {
		return nil, err
	}
	in, err := r.Coin.ParseDestination(q.Get("address"))
	if err != nil {
		return nil, errorf(KindInvalid, "invalid address: %s", destError(err))
	}
	prog, ok := chain.P2WPKHProgram(in.Script)
	if !ok {
		return nil, errorf(KindNotFound, "not an input address of this server")
	}
	a, err := s.db.AddressByProgram(r.ticker, prog)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errorf(KindNotFound, "not an input address of this server")
	}
	if err != nil {
		return nil, internal("load address", err)
	}
	watched, err := s.db.Watched(r.ticker, prog)
	if err != nil {
		return nil, internal("load address", err)
	}

	reply := &checkReply{
		InputAddress: a.Address,
		Path:         r.Keys.Path(a.Index),
		Destination:  a.Destination,
		Coin:         r.ticker,
		Created:      a.Created,
		CallbackReq:  map[bool]string{true: "1", false: "0"}[a.CallbackReq],
		Deposits:     []checkDeposit{},
	}
	if s.cfg.AddressExpiry > 0 {
		exp := a.LastActivity.Add(s.cfg.AddressExpiry).UTC()
		reply.Expires = &exp
	}

	// Deposits in blocks.
	tip := r.scanHeight.Load()
	deps, err := s.db.DepositsOf(r.ticker, a.Index)
	if err != nil {
		return nil, internal("load deposits", err)
	}
	seen := map[chain.OutPoint]bool{}
	for _, d := range deps {
		cd, err := r.describe(d, tip)
		if err != nil {
			return nil, internal("load deposit", err)
		}
		seen[chainOP(d.OutPoint)] = true
		reply.Deposits = append(reply.Deposits, cd)
	}
	// Deposits in the mempool.
	for _, m := range r.mempool.deposits(a.Index) {
		if seen[m.OutPoint] {
			continue
		}
		reply.Deposits = append(reply.Deposits, checkDeposit{
			TxID: m.OutPoint.Hash.String(), Vout: m.OutPoint.Index, Value: m.Value, Status: StatusUnconfirmed,
		})
	}
	sort.SliceStable(reply.Deposits, func(i, j int) bool {
		return reply.Deposits[i].Confirmations > reply.Deposits[j].Confirmations
	})
	reply.Status = overallStatus(reply.Deposits, watched)
	return reply, nil
}

// describe reports one deposit found in a block.
func (r *coinRunner) describe(d *store.Deposit, tip int64) (checkDeposit, error) {
	op := chainOP(d.OutPoint)
	cd := checkDeposit{
		TxID:          op.Hash.String(),
		Vout:          op.Index,
		Value:         d.Value,
		Confirmations: max(0, tip-d.Height+1),
		Status:        StatusConfirmed,
	}
	if d.Value < r.MinDeposit {
		cd.Status = StatusDonation
	}
	f, err := r.db.Forward(r.ticker, d.OutPoint)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return cd, nil
	case err != nil:
		return cd, err
	}
	cd.ForwardTxID = chain.Hash(f.TxID).String()
	cd.ValueForwarded = f.Forwarded
	cd.ForwardConfirmed = d.Spent() && d.SpentBy == f.TxID
	if f.Accepted && !f.Donation {
		cd.Status = StatusForwarded
	}
	if !f.Accepted {
		cd.ForwardError = f.LastError
	}
	c, err := r.db.Callback(r.ticker, d.OutPoint)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return cd, nil
	case err != nil:
		return cd, err
	}
	cd.Callback = &checkCallback{State: c.State.String(), Attempts: c.Attempts}
	if c.Attempts > 0 {
		cd.Callback.LastAttempt = &checkAttempt{Time: c.Last.Time, Confirmations: c.Last.Confirmations, HTTPStatus: c.Last.Status, Error: c.Last.Error}
	}
	return cd, nil
}

// overallStatus sums up an address's deposits: the least advanced payment
// that is not a donation decides.
func overallStatus(ds []checkDeposit, watched bool) string {
	if len(ds) == 0 {
		if watched {
			return StatusWaiting
		}
		return StatusExpired
	}
	has := map[string]bool{}
	for _, d := range ds {
		has[d.Status] = true
	}
	for _, s := range []string{StatusUnconfirmed, StatusConfirmed, StatusForwarded} {
		if has[s] {
			return s
		}
	}
	return StatusDonation
}
