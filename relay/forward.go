package relay

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/store"
)

// errUneconomical reports a deposit whose value cannot cover its own network
// fee plus an output above the dust limit. It is tried again every block,
// as fee rates fall.
var errUneconomical = errors.New("deposit cannot pay the network fee for its forward")

// defaultMinFeeRate is the relay floor, in satoshis per 1000 vbytes, for a
// node that does not report one (1 sat/vB, Bitcoin Core's default).
const defaultMinFeeRate = 1000

// plan is the arithmetic of one forward.
type plan struct {
	donation  bool
	service   int64 // to the fee address (the whole sweep for a donation)
	network   int64 // left to the miners
	forwarded int64 // to the destination
	outs      []chain.Output
}

// planForward splits a deposit of value satoshis, in integers only:
//
//   - a deposit below minDeposit is a donation: one output to the fee
//     address, of value less the network fee;
//   - otherwise the service fee is value × fee, rounded down, to the fee
//     address, and the rest less the network fee goes to the destination;
//     a service fee below the fee output's dust limit is waived (it stays
//     with the merchant), since the network would not relay it;
//   - the network fee is rate (satoshis per 1000 vbytes) times the
//     transaction's virtual size, rounded up.
//
// It returns errUneconomical if the output left would be dust.
func planForward(coin *chain.Coin, value int64, dest, feeScript []byte, fee Fraction, minDeposit, rate int64) (plan, error) {
	var p plan
	scripts := [][]byte{dest, feeScript}
	switch {
	case value < minDeposit:
		p.donation = true
		scripts = [][]byte{feeScript}
	default:
		p.service = fee.Of(value)
		if p.service < coin.DustLimit(feeScript) {
			p.service = 0
			scripts = [][]byte{dest}
		}
	}
	vsize := chain.ForwardVSize(scripts)
	p.network = (rate*vsize + 999) / 1000

	if p.donation {
		p.service = value - p.network
		if p.service < coin.DustLimit(feeScript) {
			return plan{}, fmt.Errorf("%w: %d sat donation, %d sat fee", errUneconomical, value, p.network)
		}
		p.outs = []chain.Output{{Value: p.service, Script: feeScript}}
		return p, nil
	}
	p.forwarded = value - p.service - p.network
	if p.forwarded < coin.DustLimit(dest) {
		return plan{}, fmt.Errorf("%w: %d sat deposit, %d sat service fee, %d sat network fee", errUneconomical, value, p.service, p.network)
	}
	p.outs = []chain.Output{{Value: p.forwarded, Script: dest}}
	if p.service > 0 {
		p.outs = append(p.outs, chain.Output{Value: p.service, Script: feeScript})
	}
	return p, nil
}

// forwardAll forwards, or broadcasts again, every open deposit that has
// enough confirmations at height tip. It reports whether the pass was
// complete: false if the node could not be asked or reached, so that the
// scanner tries again soon rather than at the next block.
func (r *coinRunner) forwardAll(ctx context.Context, tip int64) bool {
	deps, err := r.db.OpenDeposits(r.ticker)
	if err != nil {
		r.log.Error().Err(err).Msg("forwarder: load deposits")
		return false
	}
	complete := true
	for op := range r.postponed {
		if _, open := r.open[op]; !open {
			delete(r.postponed, op) // spent, or rolled back
		}
	}
	var rate int64 // fetched once per pass, when a forward is built
	for _, d := range deps {
		if ctx.Err() != nil {
			return false
		}
		confs := tip - d.Height + 1
		if confs < max(r.svc.cfg.ForwardConfirmations, d.Maturity) {
			continue
		}
		op := chainOP(d.OutPoint)
		f, err := r.db.Forward(r.ticker, d.OutPoint)
		if errors.Is(err, store.ErrNotFound) {
			if rate == 0 {
				if rate, err = r.feeRate(ctx); err != nil {
					r.log.Warn().Err(err).Msg("forwarder: fee rate")
					return false
				}
			}
			f, err = r.build(d, rate)
		}
		if errors.Is(err, errUneconomical) {
			// Said once at warning level; every block after at debug.
			ev := r.log.Debug()
			if !r.postponed[op] {
				r.postponed[op] = true
				ev = r.log.Warn()
			}
			ev.Str("outpoint", op.String()).Err(err).Msg("forward postponed")
			continue
		}
		if err != nil {
			r.log.Error().Str("outpoint", op.String()).Err(err).Msg("forwarder")
			complete = false
			continue
		}
		if !r.broadcast(ctx, f) {
			complete = false
		}
	}
	return complete
}

// feeRate returns the network fee rate for a new forward, in satoshis per
// 1000 vbytes: the node's estimate, or the fallback rate if it has none, and
// never below what its mempool accepts.
func (r *coinRunner) feeRate(ctx context.Context) (int64, error) {
	rate, err := r.Node.EstimateFeeRate(ctx, r.svc.cfg.FeeTarget)
	if errors.Is(err, chain.ErrNoEstimate) {
		rate = r.FallbackFeeRate
	} else if err != nil {
		return 0, err
	}
	floor, err := r.Node.MinFeeRate(ctx)
	if errors.Is(err, chain.ErrMethodNotFound) {
		floor = defaultMinFeeRate
	} else if err != nil {
		return 0, err
	}
	return max(rate, floor), nil
}

// build signs the forward of deposit d and records it, synced, before
// anything is broadcast.
func (r *coinRunner) build(d *store.Deposit, rate int64) (*store.Forward, error) {
	addr, err := r.db.Address(r.ticker, d.AddrIndex)
	if err != nil {
		return nil, err
	}
	p, err := planForward(r.Coin, d.Value, addr.DestScript, r.FeeAddress.Script, r.svc.cfg.FeePercent, r.MinDeposit, rate)
	if err != nil {
		return nil, err
	}
	in := chain.SpendInput{OutPoint: chainOP(d.OutPoint), Value: d.Value, KeyIndex: d.AddrIndex}
	tx, err := r.Coin.Sign(r.Keys, in, p.outs)
	if err != nil {
		return nil, err
	}
	f := &store.Forward{
		Coin:       r.ticker,
		OutPoint:   d.OutPoint,
		TxID:       tx.TxID,
		Raw:        tx.Raw,
		Donation:   p.donation,
		Value:      d.Value,
		ServiceFee: p.service,
		NetworkFee: p.network,
		Forwarded:  p.forwarded,
		FeeRate:    rate,
		Created:    r.svc.cfg.Clock.Now(),
	}
	if err := r.db.PutForward(f); err != nil {
		return nil, err
	}
	r.log.Info().Str("outpoint", in.OutPoint.String()).Str("txid", tx.TxID.String()).Bool("donation", p.donation).
		Int64("value", d.Value).Int64("forwarded", p.forwarded).Int64("service_fee", p.service).
		Int64("network_fee", p.network).Int64("vsize", tx.VSize).Msg("forward signed")
	return f, nil
}

// broadcast sends f to the node and records the attempt. The node's reason
// for a rejection is logged and kept; the forward is tried again on the next
// block. It returns false if the node could not be reached.
func (r *coinRunner) broadcast(ctx context.Context, f *store.Forward) bool {
	op := chainOP(f.OutPoint).String()
	txid := chain.Hash(f.TxID).String()
	_, err := r.Node.SendRawTransaction(ctx, f.Raw)
	if ctx.Err() != nil {
		return false
	}
	wasAccepted := f.Accepted
	var rpcErr *chain.RPCError
	switch {
	case err == nil || errors.As(err, &rpcErr) && alreadyKnown(rpcErr):
		f.Accepted, f.LastError = true, ""
	case errors.As(err, &rpcErr):
		f.LastError = rpcErr.Message
		r.log.Warn().Str("outpoint", op).Str("txid", txid).Str("reason", rpcErr.Message).Msg("forward rejected by node; retrying next block")
	default:
		f.LastError = err.Error()
		r.log.Warn().Str("outpoint", op).Str("txid", txid).Err(err).Msg("forward not sent; retrying next block")
	}
	f.Attempts++
	f.LastAttempt = r.svc.cfg.Clock.Now()
	if err := r.db.PutForward(f); err != nil {
		r.log.Error().Err(err).Str("outpoint", op).Msg("record forward attempt")
	}
	if f.Accepted && !wasAccepted {
		r.log.Info().Str("outpoint", op).Str("txid", txid).Int64("forwarded", f.Forwarded).Bool("donation", f.Donation).Msg("forward broadcast")
	}
	if f.Accepted {
		// Every time, not only the first: a crash may have come between
		// the node's acceptance and the callback's start.
		r.startCallback(f)
	}
	return rpcErr != nil || err == nil
}

// alreadyKnown reports a rejection that means the node has the transaction
// already, in its mempool or its chain.
func alreadyKnown(e *chain.RPCError) bool {
	const rpcVerifyAlreadyInChain = -27
	m := strings.ToLower(e.Message)
	return e.Code == rpcVerifyAlreadyInChain || strings.Contains(m, "already in block chain") ||
		strings.Contains(m, "txn-already-in-mempool") || strings.Contains(m, "txn-already-known") ||
		strings.Contains(m, "already have transaction")
}
