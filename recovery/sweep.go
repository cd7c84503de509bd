package recovery

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/store"
)

// Statuses of a sweep, as reports give them.
const (
	SweepConfirmed = "confirmed" // in a block the scan recorded
	SweepBroadcast = "broadcast" // the node took it
	SweepRejected  = "rejected"  // the node refused it: Error says why
	SweepUnsent    = "unsent"    // the node could not be reached
	SweepReplaced  = "replaced"  // another transaction spent an input: never broadcast again
)

// SweepReport is a sweep this run made, or found recorded.
type SweepReport struct {
	TxID       string `json:"txid"`
	To         string `json:"to"`
	Inputs     int    `json:"inputs"`
	Value      int64  `json:"value"`
	NetworkFee int64  `json:"network_fee"`
	FeeRate    int64  `json:"fee_rate"`
	Status     string `json:"status"`
	Error      string `json:"error,omitempty"`
	// New marks a sweep signed by this run; the others were recorded by
	// an earlier one and are broadcast again until a block holds them.
	New bool `json:"new"`
}

// sweep broadcasts again the recorded sweeps the chain does not show yet,
// then, if the coin has somewhere to sweep to, spends cands there: each
// output checked against the node, which gives its amount, in as few
// transactions as fit.
func (r *run) sweep(ctx context.Context, rate int64, cands []*stranded, outs []*store.RecoveredOutput, rep *Report) error {
	spentBy := make(map[ferry.OutPoint]ferry.Hash, len(outs))
	for _, o := range outs {
		spentBy[o.OutPoint] = o.SpentBy
	}
	recorded, err := r.db.Sweeps(r.id)
	if err != nil {
		return err
	}
	for _, s := range recorded {
		sr := SweepReport{TxID: s.TxID.String(), To: s.To, Inputs: len(s.Inputs), Value: s.Value, NetworkFee: s.NetworkFee,
			FeeRate: s.FeeRate, Status: SweepConfirmed}
		confirmed, replaced := true, false
		for _, in := range s.Inputs {
			by := spentBy[in.OutPoint]
			confirmed = confirmed && by == s.TxID
			replaced = replaced || !by.IsZero() && by != s.TxID
		}
		switch {
		case replaced:
			sr.Status = SweepReplaced
		case !confirmed:
			if err := r.broadcast(ctx, s, &sr); err != nil {
				return err
			}
		}
		rep.Sweeps = append(rep.Sweeps, sr)
	}
	if r.c.SweepTo == nil {
		return nil
	}
	rep.SweepTo = r.c.SweepTo.Address

	inputFee := feeOf(rate, chain.SweepInputVSize)
	var ins []*stranded
	for _, s := range cands {
		why, err := r.check(ctx, s, inputFee)
		if err != nil {
			return err
		}
		if why != "" {
			s.report.Skipped = why
			continue
		}
		ins = append(ins, s)
	}
	for len(ins) > 0 {
		n := min(len(ins), chain.MaxSweepInputs)
		if err := r.sweepBatch(ctx, ins[:n], rate, rep); err != nil {
			return err
		}
		ins = ins[n:]
	}
	return nil
}

// check asks the node for a stranded output and returns why it cannot be
// swept now, or "" if it can; the output's value is then the node's.
func (r *run) check(ctx context.Context, s *stranded, inputFee int64) (string, error) {
	o := s.out
	u, found, err := r.c.Node.UnspentOutput(ctx, o.OutPoint)
	if err != nil {
		return "", fmt.Errorf("check %s: %w", o.OutPoint, err)
	}
	prog, err := r.c.Keys.Program(o.AddrIndex)
	if err != nil {
		return "", err
	}
	switch {
	case !found:
		return "spent, or not known to the node", nil
	case !bytes.Equal(u.Script, chain.P2WPKHScript(prog)):
		return fmt.Sprintf("the node has it paying another script: %x", u.Script), nil
	case u.Confirmations < 1:
		return "not in a block", nil
	case u.Confirmations < o.Maturity:
		return fmt.Sprintf("not spendable before %d confirmations (it has %d)", o.Maturity, u.Confirmations), nil
	case u.Value <= inputFee:
		return fmt.Sprintf("worth less than the fee to spend it (%d sat)", inputFee), nil
	}
	if u.Value != int64(o.Value) {
		return fmt.Sprintf("the node says %d sat, the block said %d", u.Value, o.Value), nil
	}
	s.report.Value = u.Value
	return "", nil
}

// sweepBatch signs one sweep of batch to the sweep address, records it,
// and broadcasts it.
func (r *run) sweepBatch(ctx context.Context, batch []*stranded, rate int64, rep *Report) error {
	to := r.c.SweepTo.Script
	var total int64
	ins := make([]chain.SpendInput, 0, len(batch))
	for _, s := range batch {
		total += s.report.Value
		ins = append(ins, chain.SpendInput{OutPoint: s.out.OutPoint, Value: s.report.Value, KeyIndex: s.out.AddrIndex})
	}
	fee := feeOf(rate, chain.SweepVSize(len(ins), [][]byte{to}))
	if total-fee < r.c.Chain.DustLimit(to) {
		for _, s := range batch {
			s.report.Skipped = fmt.Sprintf("too little to sweep: %d sat in all, less a network fee of %d", total, fee)
		}
		return nil
	}
	tx, err := r.c.Chain.SignSweep(r.c.Keys, ins, []chain.Output{{Value: total - fee, Script: to}})
	if err != nil {
		return err
	}
	now := r.cfg.Clock.Now().UTC()
	sw := &store.Sweep{Coin: r.id, TxID: tx.TxID, Raw: tx.Raw, To: r.c.SweepTo.Address, Value: total - fee, NetworkFee: fee,
		FeeRate: rate, Created: now}
	var fwds []*store.Forward
	for _, s := range batch {
		sw.Inputs = append(sw.Inputs, store.SweepInput{OutPoint: s.out.OutPoint, AddrIndex: s.out.AddrIndex, Value: s.report.Value})
		if d := s.deposit; d != nil {
			fwds = append(fwds, &store.Forward{
				Forward:   ferry.Forward{TxID: tx.TxID, Donation: true, Value: d.Value, FeeRate: rate, Created: now},
				Coin:      r.id,
				OutPoint:  d.OutPoint,
				AddrIndex: d.AddrIndex,
				Raw:       tx.Raw,
			})
		}
	}
	if err := r.db.PutSweep(sw, fwds); err != nil {
		return err
	}
	for _, s := range batch {
		s.report.Sweep = tx.TxID.String()
	}
	sr := SweepReport{TxID: tx.TxID.String(), To: sw.To, Inputs: len(sw.Inputs), Value: sw.Value, NetworkFee: fee, FeeRate: rate, New: true}
	if err := r.broadcast(ctx, sw, &sr); err != nil {
		return err
	}
	rep.Sweeps = append(rep.Sweeps, sr)
	return nil
}

// broadcast sends a recorded sweep to the node and records the attempt.
func (r *run) broadcast(ctx context.Context, s *store.Sweep, sr *SweepReport) error {
	_, err := r.c.Node.SendRawTransaction(ctx, s.Raw)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var rpcErr *chain.RPCError
	switch {
	case err == nil || errors.As(err, &rpcErr) && rpcErr.AlreadyKnown():
		s.Accepted, s.LastError = true, ""
		sr.Status = SweepBroadcast
	case errors.As(err, &rpcErr):
		s.LastError = rpcErr.Message
		sr.Status = SweepRejected
	default:
		s.LastError = err.Error()
		sr.Status = SweepUnsent
	}
	sr.Error = s.LastError
	s.Attempts++
	s.LastAttempt = r.cfg.Clock.Now().UTC()
	return r.db.UpdateSweep(s)
}
