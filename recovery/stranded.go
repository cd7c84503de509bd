package recovery

import (
	"context"
	"errors"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/store"
)

// Why an output is stranded.
const (
	// ReasonNoDestination: no forward on chain tells where the address's
	// payments go.
	ReasonNoDestination = "destination unknown"
	// ReasonExpired: the address had expired when it was paid.
	ReasonExpired = "paid after its address expired"
	// ReasonDust: a payment below the minimum that cannot pay for its own
	// sweep to the fee address (whatever its address).
	ReasonDust = "dust"
)

// Stranded is an unspent output at one of the seed's addresses that ferry
// will not forward.
type Stranded struct {
	OutPoint string `json:"outpoint"`
	Address  string `json:"address"`
	Path     string `json:"path"`
	Value    int64  `json:"value"`
	Height   int64  `json:"height"`
	Reason   string `json:"reason"`
	// Sweep is the id of the recorded sweep that spends it, if any.
	Sweep string `json:"sweep,omitempty"`
	// Skipped says why a sweep left it where it is.
	Skipped string `json:"skipped,omitempty"`
}

// stranded is a stranded output and what a sweep needs of it.
type stranded struct {
	out *store.RecoveredOutput
	// deposit is the store's open deposit of the output, if it is one.
	deposit *ferry.Deposit
	report  *Stranded
}

// strandedCoins lists the outputs left unspent that ferry will not
// forward, and sweeps them if the coin has somewhere to sweep to.
func (r *run) strandedCoins(ctx context.Context, rep *Report) error {
	r.event(PhaseSweep, rep.ScanHeight, r.st.From, rep.ScanHeight)
	// Sweeps are priced as the forwarder prices a forward.
	rate, err := chain.FeeRate(ctx, r.c.Node, r.cfg.FeeTarget, r.c.FallbackFeeRate)
	if err != nil {
		return err
	}
	rep.FeeRate = rate
	outs, err := r.db.RecoveredOutputs(r.id)
	if err != nil {
		return err
	}
	byHeight(outs)
	var all, cands []*stranded
	for _, o := range outs {
		s, err := r.classify(o, rate, rep)
		if err != nil {
			return err
		}
		if s == nil {
			continue
		}
		all = append(all, s)
		if txid, err := r.db.SweepOf(r.id, o.OutPoint); err == nil {
			s.report.Sweep = txid.String()
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		} else {
			cands = append(cands, s)
		}
	}
	if err := r.sweep(ctx, rate, cands, outs, rep); err != nil {
		return err
	}
	rep.Stranded = make([]Stranded, 0, len(all))
	for _, s := range all {
		rep.Stranded = append(rep.Stranded, *s.report)
		rep.StrandedValue += s.report.Value
	}
	return nil
}

// classify returns o as a stranded output, or nil if it is spent, ferry
// will forward it (counted in rep.ToForward), or ferry has yet to scan it
// (rep.AboveScan).
func (r *run) classify(o *store.RecoveredOutput, rate int64, rep *Report) (*stranded, error) {
	if o.Spent() {
		return nil, nil
	}
	a, err := r.db.Address(r.id, o.AddrIndex)
	if err != nil {
		return nil, err
	}
	s := &stranded{out: o, report: &Stranded{
		OutPoint: o.OutPoint.String(), Address: a.Address, Path: r.c.Keys.Path(o.AddrIndex), Value: int64(o.Value), Height: o.Height,
	}}
	d, err := r.db.Deposit(r.id, o.OutPoint)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if o.Height > rep.ScanHeight {
			// ferry has yet to scan its block: if the address is watched
			// when it does, the payment is a deposit.
			watched, err := r.db.Watched(r.id, a.Program[:])
			if err != nil {
				return nil, err
			}
			if watched {
				rep.AboveScan++
				return nil, nil
			}
		}
		switch {
		case r.dust(int64(o.Value), rate):
			s.report.Reason = ReasonDust
		case a.Destination == "":
			s.report.Reason = ReasonNoDestination
		default:
			s.report.Reason = ReasonExpired
		}
		return s, nil
	case err != nil:
		return nil, err
	case d.Spent():
		return nil, nil // spent in a block the scan had not reached
	}
	if _, err := r.db.Forward(r.id, o.OutPoint); err == nil {
		if _, err := r.db.SweepOf(r.id, o.OutPoint); err == nil {
			s.report.Reason, s.deposit = ReasonDust, d
			return s, nil
		}
		rep.ToForward++ // its forward is recorded: ferry broadcasts it
		return nil, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if !r.dust(int64(d.Value), rate) {
		rep.ToForward++
		return nil, nil
	}
	s.report.Reason, s.deposit = ReasonDust, d
	return s, nil
}

// dust reports whether a deposit of value is one ferry would keep
// postponing: a donation whose sweep to the fee address, at rate, would
// leave less than the fee output's dust limit.
func (r *run) dust(value, rate int64) bool {
	fee := r.c.FeeAddress.Script
	return ferry.Amount(value) < r.c.MinDeposit && value-feeOf(rate, chain.ForwardVSize([][]byte{fee})) < r.c.Chain.DustLimit(fee)
}

// feeOf is the fee of vsize vbytes at rate satoshis per 1000 vbytes,
// rounded up.
func feeOf(rate, vsize int64) int64 { return (rate*vsize + 999) / 1000 }
