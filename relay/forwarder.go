package relay

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/store"
)

// Broadcaster sends signed transactions to a coin's node. *chain.Node
// implements it.
type Broadcaster interface {
	// SendRawTransaction broadcasts a transaction; a rejection is a
	// *chain.RPCError carrying the node's reason.
	SendRawTransaction(ctx context.Context, raw []byte) (chain.Hash, error)
}

// FeeSource tells the network fee rate. *chain.Node implements it.
type FeeSource interface {
	// EstimateFeeRate and MinFeeRate answer in satoshis per 1000
	// vbytes; EstimateFeeRate wraps chain.ErrNoEstimate without one.
	EstimateFeeRate(ctx context.Context, target int) (int64, error)
	MinFeeRate(ctx context.Context) (int64, error)
}

var (
	_ Broadcaster = (*chain.Node)(nil)
	_ FeeSource   = (*chain.Node)(nil)
)

// ForwardStore is what the forwarder reads and records. *store.DB
// implements it.
type ForwardStore interface {
	OpenDeposits(coin string) ([]*store.Deposit, error)
	Address(coin string, index uint32) (*store.Address, error)
	Forward(coin string, op chain.OutPoint) (*store.Forward, error)
	PutForward(f *store.Forward) error
	BlockTime(coin string, height int64) (time.Time, error)
}

var _ ForwardStore = (*store.DB)(nil)

// ForwardListener learns of each forward a node has taken: on every
// accepted broadcast, and when a block confirms a forward never seen
// accepted (ferry was down). It is called from the forwarder's goroutine.
type ForwardListener interface {
	Accepted(ctx context.Context, f *store.Forward)
}

// Releaser decides what becomes of a confirmed deposit that has no
// forward yet: forwarded as every deposit (the default), held at its
// input address, or refunded. The invoice engine implements it for the
// invoices that hold the payments they do not take. It is called from the
// forwarder's goroutine, at every pass, until the deposit has a forward.
type Releaser interface {
	Release(ctx context.Context, coin string, d *store.Deposit) (Release, error)
}

// Release is a Releaser's decision about a deposit.
type Release struct {
	// Hold keeps the deposit where it is, for now.
	Hold bool
	// Refund, if set, sends the deposit there, less the network fee only.
	Refund *chain.Destination
}

// ForwarderConfig configures a Forwarder.
type ForwarderConfig struct {
	Coin        *chain.Coin
	Keys        *chain.Keychain
	Broadcaster Broadcaster
	Fees        FeeSource
	Store       ForwardStore
	Clock       clock.Clock
	// FeeAddress receives the service fees and swept donations.
	FeeAddress chain.Destination
	FeePercent Fraction
	// MinDeposit, in satoshis: smaller deposits are donations.
	MinDeposit int64
	// FallbackFeeRate, in satoshis per 1000 vbytes, is used when the node
	// has no fee estimate; FeeTarget is the estimate's target in blocks.
	FallbackFeeRate int64
	FeeTarget       int
	// Confirmations a deposit needs before it is forwarded.
	Confirmations int64
	Listener      ForwardListener
	// Releaser, if set, decides about each deposit before its forward is
	// built; nil forwards every deposit.
	Releaser Releaser
	// Metrics is told of forwards accepted, refused and held; nil:
	// nothing is.
	Metrics Metrics
	Log     zerolog.Logger
}

// Forwarder pays deposits out. A deposit with enough confirmations gets a
// forward, built, signed and recorded before its first broadcast; a
// deposit with a forward has that same transaction broadcast again, every
// pass, until a block spends the deposit. A forward is never rebuilt, so a
// deposit is forwarded at most once, whatever crashes, restarts or reorgs
// happen. Its methods are called from one goroutine.
type Forwarder struct {
	cfg ForwarderConfig
	id  string
	// postponed remembers the deposits already reported as too small to
	// forward, and held remembers those reported held, to report them once.
	postponed, held map[chain.OutPoint]bool
}

// errUneconomical reports a deposit whose value cannot cover its own network
// fee plus an output above the dust limit. It is tried again every block,
// as fee rates fall.
var errUneconomical = errors.New("deposit cannot pay the network fee for its forward")

// defaultMinFeeRate is the relay floor, in satoshis per 1000 vbytes, for a
// node that does not report one (1 sat/vB, Bitcoin Core's default).
const defaultMinFeeRate = 1000

// NewForwarder returns a forwarder for cfg.
func NewForwarder(cfg ForwarderConfig) *Forwarder {
	cfg.Metrics = orNop(cfg.Metrics)
	return &Forwarder{cfg: cfg, id: cfg.Coin.ID(), postponed: map[chain.OutPoint]bool{}, held: map[chain.OutPoint]bool{}}
}

// Forward forwards, or broadcasts again, every open deposit that has
// enough confirmations at height tip. It reports whether the pass was
// complete: false if the node could not be asked or reached, so that the
// caller tries again soon rather than at the next block.
func (fw *Forwarder) Forward(ctx context.Context, tip int64) bool {
	deps, err := fw.cfg.Store.OpenDeposits(fw.id)
	if err != nil {
		fw.cfg.Log.Error().Err(err).Msg("forwarder: load deposits")
		return false
	}
	open := make(map[chain.OutPoint]bool, len(deps))
	complete := true
	var rate int64 // fetched once per pass, when a forward is built
	for _, d := range deps {
		open[d.OutPoint] = true
		if ctx.Err() != nil {
			return false
		}
		confs := tip - d.Height + 1
		if confs < max(fw.cfg.Confirmations, d.Maturity) {
			continue
		}
		f, err := fw.cfg.Store.Forward(fw.id, d.OutPoint)
		if errors.Is(err, store.ErrNotFound) {
			var rel Release
			if fw.cfg.Releaser != nil {
				if rel, err = fw.cfg.Releaser.Release(ctx, fw.id, d); err != nil {
					fw.cfg.Log.Error().Str("outpoint", d.OutPoint.String()).Err(err).Msg("forwarder: release")
					complete = false
					continue
				}
			}
			if rel.Hold {
				if !fw.held[d.OutPoint] {
					fw.held[d.OutPoint] = true
					fw.cfg.Metrics.Held(fw.id)
					fw.cfg.Log.Info().Str("outpoint", d.OutPoint.String()).Int64("value", d.Value).Msg("deposit held")
				}
				continue
			}
			if rate == 0 {
				if rate, err = fw.feeRate(ctx); err != nil {
					fw.cfg.Log.Warn().Err(err).Msg("forwarder: fee rate")
					return false
				}
			}
			f, err = fw.build(d, rate, rel.Refund)
		}
		if errors.Is(err, errUneconomical) {
			// Said once at warning level; every block after at debug.
			ev := fw.cfg.Log.Debug()
			if !fw.postponed[d.OutPoint] {
				fw.postponed[d.OutPoint] = true
				ev = fw.cfg.Log.Warn()
			}
			ev.Str("outpoint", d.OutPoint.String()).Err(err).Msg("forward postponed")
			continue
		}
		if err != nil {
			fw.cfg.Log.Error().Str("outpoint", d.OutPoint.String()).Err(err).Msg("forwarder")
			complete = false
			continue
		}
		if !fw.broadcast(ctx, f, d.Height) {
			complete = false
		}
	}
	for _, m := range []map[chain.OutPoint]bool{fw.postponed, fw.held} {
		for op := range m {
			if !open[op] {
				delete(m, op) // spent, or rolled back
			}
		}
	}
	return complete
}

// feeRate returns the network fee rate for a new forward, in satoshis per
// 1000 vbytes: the node's estimate, or the fallback rate if it has none, and
// never below what its mempool accepts.
func (fw *Forwarder) feeRate(ctx context.Context) (int64, error) {
	rate, err := fw.cfg.Fees.EstimateFeeRate(ctx, fw.cfg.FeeTarget)
	if errors.Is(err, chain.ErrNoEstimate) {
		rate = fw.cfg.FallbackFeeRate
	} else if err != nil {
		return 0, err
	}
	floor, err := fw.cfg.Fees.MinFeeRate(ctx)
	if errors.Is(err, chain.ErrMethodNotFound) {
		floor = defaultMinFeeRate
	} else if err != nil {
		return 0, err
	}
	return max(rate, floor), nil
}

// build signs the forward of deposit d (its refund, if refund is set) and
// records it, synced, before anything is broadcast.
func (fw *Forwarder) build(d *store.Deposit, rate int64, refund *chain.Destination) (*store.Forward, error) {
	addr, err := fw.cfg.Store.Address(fw.id, d.AddrIndex)
	if err != nil {
		return nil, err
	}
	var p plan
	if refund != nil {
		p, err = planRefund(fw.cfg.Coin, d.Value, refund.Script, rate)
	} else {
		p, err = planForward(fw.cfg.Coin, d.Value, addr.DestScript, fw.cfg.FeeAddress.Script, fw.cfg.FeePercent, fw.cfg.MinDeposit, rate)
	}
	if err != nil {
		return nil, err
	}
	in := chain.SpendInput{OutPoint: d.OutPoint, Value: d.Value, KeyIndex: d.AddrIndex}
	tx, err := fw.cfg.Coin.Sign(fw.cfg.Keys, in, p.outs)
	if err != nil {
		return nil, err
	}
	f := &store.Forward{
		Coin:       fw.id,
		OutPoint:   d.OutPoint,
		AddrIndex:  d.AddrIndex,
		TxID:       tx.TxID,
		Raw:        tx.Raw,
		Donation:   p.donation,
		Value:      d.Value,
		ServiceFee: p.service,
		NetworkFee: p.network,
		Forwarded:  p.forwarded,
		FeeRate:    rate,
		Created:    fw.cfg.Clock.Now(),
	}
	if refund != nil {
		f.Refund, f.Destination = true, refund.Address
	}
	if err := fw.cfg.Store.PutForward(f); err != nil {
		return nil, err
	}
	fw.cfg.Log.Info().Str("outpoint", in.OutPoint.String()).Str("txid", tx.TxID.String()).Bool("donation", p.donation).Bool("refund", refund != nil).
		Int64("value", d.Value).Int64("forwarded", p.forwarded).Int64("service_fee", p.service).
		Int64("network_fee", p.network).Int64("vsize", tx.VSize).Msg("forward signed")
	return f, nil
}

// broadcast sends f, the forward of a deposit in the block at height, to
// the node and records the attempt. The node's reason for a rejection is
// logged and kept; the forward is tried again on the next block. It
// returns false if the node could not be reached.
func (fw *Forwarder) broadcast(ctx context.Context, f *store.Forward, height int64) bool {
	op := f.OutPoint.String()
	txid := f.TxID.String()
	_, err := fw.cfg.Broadcaster.SendRawTransaction(ctx, f.Raw)
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
		fw.cfg.Metrics.Rejected(fw.id, rpcErr.Message)
		fw.cfg.Log.Warn().Str("outpoint", op).Str("txid", txid).Str("reason", rpcErr.Message).Msg("forward rejected by node; retrying next block")
	default:
		f.LastError = err.Error()
		fw.cfg.Log.Warn().Str("outpoint", op).Str("txid", txid).Err(err).Msg("forward not sent; retrying")
	}
	f.Attempts++
	f.LastAttempt = fw.cfg.Clock.Now()
	if err := fw.cfg.Store.PutForward(f); err != nil {
		fw.cfg.Log.Error().Err(err).Str("outpoint", op).Msg("record forward attempt")
	}
	if f.Accepted && !wasAccepted {
		kind := "forward"
		switch {
		case f.Donation:
			kind = "donation"
		case f.Refund:
			kind = "refund"
		}
		delay := time.Duration(-1)
		if t, err := fw.cfg.Store.BlockTime(fw.id, height); err == nil {
			delay = max(0, fw.cfg.Clock.Now().Sub(t)) // a block stamped ahead of this clock counts as now
		}
		fw.cfg.Metrics.Forwarded(fw.id, kind, delay)
		fw.cfg.Log.Info().Str("outpoint", op).Str("txid", txid).Int64("forwarded", f.Forwarded).Bool("donation", f.Donation).Msg("forward broadcast")
	}
	if f.Accepted && fw.cfg.Listener != nil {
		// Every time, not only the first: a crash may have come between
		// the node's acceptance and the listener's record of it.
		fw.cfg.Listener.Accepted(ctx, f)
	}
	return rpcErr != nil || err == nil
}

// Applied tells the listener of the forwards a block confirms: one never
// seen accepted (ferry was down while it confirmed) is accepted now.
func (fw *Forwarder) Applied(ctx context.Context, c *store.Changes) {
	if fw.cfg.Listener == nil {
		return
	}
	for _, sp := range c.Spends {
		if f, err := fw.cfg.Store.Forward(fw.id, sp.OutPoint); err == nil && f.TxID == sp.TxID {
			fw.cfg.Listener.Accepted(ctx, f)
		}
	}
}

// RolledBack does nothing: a forward whose deposit a reorg takes away is
// kept, to be broadcast again if the deposit comes back.
func (fw *Forwarder) RolledBack(context.Context, string, *store.Undo) {}

// alreadyKnown reports a rejection that means the node has the transaction
// already, in its mempool or its chain.
func alreadyKnown(e *chain.RPCError) bool {
	const rpcVerifyAlreadyInChain = -27
	m := strings.ToLower(e.Message)
	return e.Code == rpcVerifyAlreadyInChain || strings.Contains(m, "already in block chain") ||
		strings.Contains(m, "txn-already-in-mempool") || strings.Contains(m, "txn-already-known") ||
		strings.Contains(m, "already have transaction")
}
