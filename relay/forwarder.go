package relay

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/store"
)

// Broadcaster sends signed transactions to a coin's node. *chain.Node
// implements it.
type Broadcaster interface {
	// SendRawTransaction broadcasts a transaction; a rejection is a
	// *chain.RPCError carrying the node's reason.
	SendRawTransaction(ctx context.Context, raw []byte) (ferry.Hash, error)
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
	OpenDeposits(coin string) ([]*ferry.Deposit, error)
	Address(coin string, index uint32) (*store.Address, error)
	Forward(coin string, op ferry.OutPoint) (*store.Forward, error)
	PutForwards(fs []*store.Forward) error
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
	Release(ctx context.Context, coin string, d *ferry.Deposit) (Release, error)
}

// Release is a Releaser's decision about a deposit.
type Release struct {
	// Hold keeps the deposit where it is, for now.
	Hold bool
	// Refund, if set, sends the deposit there, less the refund's service
	// fee (RefundFeePercent) and the network fee.
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
	FeePercent ferry.Fraction
	// RefundFeePercent is the service fee of a refund, a fraction of the
	// deposit refunded; 0 refunds fee-free.
	RefundFeePercent ferry.Fraction
	// MinDeposit, in satoshis: smaller deposits are donations.
	MinDeposit ferry.Amount
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
	// Events receives each deposit held, and each paid out, when a node
	// first takes its forward (see Event); nil: none are sent.
	Events chan<- Event
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
	postponed, held map[ferry.OutPoint]bool
}

// errUneconomical reports a deposit whose value cannot cover its own network
// fee plus an output above the dust limit. It is tried again every block,
// as fee rates fall.
var errUneconomical = errors.New("deposit cannot pay the network fee for its forward")

// NewForwarder returns a forwarder for cfg.
func NewForwarder(cfg ForwarderConfig) *Forwarder {
	cfg.Metrics = orNop(cfg.Metrics)
	return &Forwarder{cfg: cfg, id: cfg.Coin.ID(), postponed: map[ferry.OutPoint]bool{}, held: map[ferry.OutPoint]bool{}}
}

// Batches of a forwarder pass.
const (
	// forwardBatch is how many deposits a pass takes at a time, at most:
	// their forwards signed together, recorded in one synced write,
	// broadcast, and their attempts recorded in another. A pass starts
	// with one deposit and doubles the batch each time, so that the first
	// forwards of a block go out as soon as they would alone.
	forwardBatch = 256
	// broadcasters is how many broadcasts a pass keeps in flight (nodes
	// serve RPC on several threads; Litecoin and Bitcoin Core on four by
	// default).
	broadcasters = 4
)

// Forward forwards, or broadcasts again, every open deposit that has
// enough confirmations at height tip. It reports whether the pass was
// complete: false if the node could not be asked or reached, so that the
// caller tries again soon rather than at the next block.
//
// Deposits are taken in batches of 1, 2, 4, … up to forwardBatch: the new
// forwards of a batch are signed in parallel and recorded, synced, in one
// write before any of them is broadcast; the batch's forwards are
// broadcast a few at a time, and their attempts recorded in one write.
func (fw *Forwarder) Forward(ctx context.Context, tip int64) bool {
	deps, err := fw.cfg.Store.OpenDeposits(fw.id)
	if err != nil {
		fw.cfg.Log.Error().Err(err).Msg("forwarder: load deposits")
		return false
	}
	open := make(map[ferry.OutPoint]bool, len(deps))
	var due []*ferry.Deposit
	for _, d := range deps {
		open[d.OutPoint] = true
		if confs := tip - d.Height + 1; confs >= max(fw.cfg.Confirmations, d.Maturity) {
			due = append(due, d)
		}
	}
	complete := true
	var rate int64 // fetched once per pass, when a forward is built
	for size := 1; len(due) > 0; size = min(2*size, forwardBatch) {
		if ctx.Err() != nil {
			return false
		}
		batch := due[:min(size, len(due))]
		due = due[len(batch):]
		fs, ok := fw.prepare(ctx, batch, &rate)
		if rate < 0 {
			return false // the fee rate could not be had
		}
		if !ok {
			complete = false
		}
		if !fw.broadcastAll(ctx, fs) {
			complete = false
		}
	}
	for _, m := range []map[ferry.OutPoint]bool{fw.postponed, fw.held} {
		for op := range m {
			if !open[op] {
				delete(m, op) // spent, or rolled back
			}
		}
	}
	return complete
}

// pending is a forward to broadcast, with the height of its deposit's
// block.
type pending struct {
	f      *store.Forward
	height int64
}

// toBuild is a deposit whose forward (or refund) is to be built.
type toBuild struct {
	d      *ferry.Deposit
	refund *chain.Destination
	f      *store.Forward
	vsize  int64
	err    error
}

// prepare returns the forwards of deps to broadcast: those recorded, and
// new ones, built (at *rate, fetched first if 0; set to -1 if it cannot
// be had) and recorded. Deposits the releaser holds are left. It reports
// false if a forward could not be had.
func (fw *Forwarder) prepare(ctx context.Context, deps []*ferry.Deposit, rate *int64) ([]pending, bool) {
	complete := true
	var out []pending
	var build []*toBuild
	for _, d := range deps {
		f, err := fw.cfg.Store.Forward(fw.id, d.OutPoint)
		if err == nil {
			out = append(out, pending{f, d.Height})
			continue
		}
		if !errors.Is(err, store.ErrNotFound) {
			fw.cfg.Log.Error().Str("outpoint", d.OutPoint.String()).Err(err).Msg("forwarder")
			complete = false
			continue
		}
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
				fw.cfg.Log.Info().Str("outpoint", d.OutPoint.String()).Int64("value", int64(d.Value)).Msg("deposit held")
				held := *d
				held.State = ferry.DepositHeld
				publisher(fw.cfg.Events).publish(Event{Coin: fw.id, Deposit: &held})
			}
			continue
		}
		build = append(build, &toBuild{d: d, refund: rel.Refund})
	}
	if len(build) == 0 {
		return out, complete
	}
	if *rate == 0 {
		r, err := fw.feeRate(ctx)
		if err != nil {
			fw.cfg.Log.Warn().Err(err).Msg("forwarder: fee rate")
			*rate = -1
			return nil, false
		}
		*rate = r
	}

	// Signed on every processor, then recorded at once.
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(build)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(build); i = int(next.Add(1) - 1) {
				b := build[i]
				b.f, b.vsize, b.err = fw.build(b.d, *rate, b.refund)
			}
		})
	}
	wg.Wait()
	var fresh []*store.Forward
	var built []*toBuild
	for _, b := range build {
		switch {
		case errors.Is(b.err, errUneconomical):
			// Said once at warning level; every block after at debug.
			ev := fw.cfg.Log.Debug()
			if !fw.postponed[b.d.OutPoint] {
				fw.postponed[b.d.OutPoint] = true
				ev = fw.cfg.Log.Warn()
			}
			ev.Str("outpoint", b.d.OutPoint.String()).Err(b.err).Msg("forward postponed")
		case b.err != nil:
			fw.cfg.Log.Error().Str("outpoint", b.d.OutPoint.String()).Err(b.err).Msg("forwarder")
			complete = false
		default:
			fresh, built = append(fresh, b.f), append(built, b)
		}
	}
	if len(fresh) == 0 {
		return out, complete
	}
	if err := fw.cfg.Store.PutForwards(fresh); err != nil {
		fw.cfg.Log.Error().Err(err).Int("forwards", len(fresh)).Msg("forwarder: record forwards")
		return out, false
	}
	for _, b := range built {
		f := b.f
		fw.cfg.Log.Info().Str("outpoint", f.OutPoint.String()).Str("txid", f.TxID.String()).Bool("donation", f.Donation).Bool("refund", f.Refund).
			Int64("value", int64(f.Value)).Int64("forwarded", int64(f.Forwarded)).Int64("service_fee", int64(f.ServiceFee)).
			Int64("network_fee", int64(f.NetworkFee)).Int64("vsize", b.vsize).Msg("forward signed")
		out = append(out, pending{f, b.d.Height})
	}
	return out, complete
}

// feeRate returns the network fee rate for a new forward, in satoshis per
// 1000 vbytes: the node's estimate, or the fallback rate if it has none, and
// never below what its mempool accepts (see chain.FeeRate).
func (fw *Forwarder) feeRate(ctx context.Context) (int64, error) {
	return chain.FeeRate(ctx, fw.cfg.Fees, fw.cfg.FeeTarget, fw.cfg.FallbackFeeRate)
}

// build signs the forward of deposit d (its refund, if refund is set) and
// returns it with its virtual size. It is safe for concurrent use; the
// caller records the forward before it is broadcast.
func (fw *Forwarder) build(d *ferry.Deposit, rate int64, refund *chain.Destination) (*store.Forward, int64, error) {
	addr, err := fw.cfg.Store.Address(fw.id, d.AddrIndex)
	if err != nil {
		return nil, 0, err
	}
	var p plan
	if refund != nil {
		p, err = planRefund(fw.cfg.Coin, d.Value, refund.Script, fw.cfg.FeeAddress.Script, fw.cfg.RefundFeePercent, rate)
	} else {
		p, err = planForward(fw.cfg.Coin, d.Value, addr.DestScript, fw.cfg.FeeAddress.Script, fw.cfg.FeePercent, fw.cfg.MinDeposit, rate)
	}
	if err != nil {
		return nil, 0, err
	}
	in := chain.SpendInput{OutPoint: d.OutPoint, Value: int64(d.Value), KeyIndex: d.AddrIndex}
	tx, err := fw.cfg.Coin.Sign(fw.cfg.Keys, in, p.outs)
	if err != nil {
		return nil, 0, err
	}
	f := &store.Forward{
		Forward: ferry.Forward{
			TxID:       tx.TxID,
			Donation:   p.donation,
			Value:      d.Value,
			ServiceFee: p.service,
			NetworkFee: p.network,
			Forwarded:  p.forwarded,
			FeeRate:    rate,
			Created:    fw.cfg.Clock.Now(),
		},
		Coin:      fw.id,
		OutPoint:  d.OutPoint,
		AddrIndex: d.AddrIndex,
		Raw:       tx.Raw,
	}
	if refund != nil {
		f.Refund, f.Destination = true, refund.Address
	}
	return f, tx.VSize, nil
}

// outcome is what a broadcast came to.
type outcome struct {
	tried    bool // the node was asked (ctx was not done first)
	reached  bool // it answered
	was      bool // the forward had been accepted before
	rejected string
	err      error
}

// broadcastAll sends ps to the node, a few at a time, and records the
// attempts in one write; then it reports the forwards the node took, and
// tells the listener of them. The node's reason for a rejection is logged
// and kept; the forward is tried again on the next block. It returns false
// if the node could not be reached.
func (fw *Forwarder) broadcastAll(ctx context.Context, ps []pending) bool {
	if len(ps) == 0 {
		return true
	}
	outs := make([]outcome, len(ps))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(broadcasters, len(ps)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(ps) && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				outs[i] = fw.broadcast(ctx, ps[i].f)
			}
		})
	}
	wg.Wait()

	complete := ctx.Err() == nil
	var attempts []*store.Forward
	for i, p := range ps {
		o, f := outs[i], p.f
		if !o.tried {
			continue
		}
		attempts = append(attempts, f)
		complete = complete && o.reached
		op, txid := f.OutPoint.String(), f.TxID.String()
		switch {
		case o.rejected != "":
			fw.cfg.Metrics.Rejected(fw.id, o.rejected)
			fw.cfg.Log.Warn().Str("outpoint", op).Str("txid", txid).Str("reason", o.rejected).Msg("forward rejected by node; retrying next block")
		case o.err != nil:
			fw.cfg.Log.Warn().Str("outpoint", op).Str("txid", txid).Err(o.err).Msg("forward not sent; retrying")
		}
	}
	if err := fw.cfg.Store.PutForwards(attempts); err != nil {
		fw.cfg.Log.Error().Err(err).Int("forwards", len(attempts)).Msg("record forward attempts")
	}
	for i, p := range ps {
		o, f := outs[i], p.f
		if !o.tried || !f.Accepted {
			continue
		}
		if !o.was {
			kind := "forward"
			switch {
			case f.Donation:
				kind = "donation"
			case f.Refund:
				kind = "refund"
			}
			delay := time.Duration(-1)
			if t, err := fw.cfg.Store.BlockTime(fw.id, p.height); err == nil {
				delay = max(0, fw.cfg.Clock.Now().Sub(t)) // a block stamped ahead of this clock counts as now
			}
			fw.cfg.Metrics.Forwarded(fw.id, kind, delay)
			fw.cfg.Log.Info().Str("outpoint", f.OutPoint.String()).Str("txid", f.TxID.String()).Int64("forwarded", int64(f.Forwarded)).
				Bool("donation", f.Donation).Msg("forward broadcast")
			publisher(fw.cfg.Events).publish(Event{Coin: fw.id, Height: p.height, Deposit: paidOut(fw.id, f, p.height)})
		}
		if fw.cfg.Listener != nil {
			// Every time, not only the first: a crash may have come
			// between the node's acceptance and the listener's record
			// of it.
			fw.cfg.Listener.Accepted(ctx, f)
		}
	}
	return complete
}

// paidOut is the deposit f pays out, in the block at height, as a node
// first took f.
func paidOut(coin string, f *store.Forward, height int64) *ferry.Deposit {
	fw := f.Forward
	fw.State = ferry.ForwardBroadcast
	d := &ferry.Deposit{Coin: ferry.Coin(coin), OutPoint: f.OutPoint, AddrIndex: f.AddrIndex, Value: f.Value, Height: height,
		State: ferry.DepositForwarded, Forward: &fw}
	switch {
	case f.Donation:
		d.State = ferry.DepositDonated
	case f.Refund:
		d.State = ferry.DepositRefunded
	}
	return d
}

// broadcast sends f to the node and sets the attempt's outcome in f. It
// is safe for concurrent use on distinct forwards.
func (fw *Forwarder) broadcast(ctx context.Context, f *store.Forward) outcome {
	o := outcome{was: f.Accepted}
	_, err := fw.cfg.Broadcaster.SendRawTransaction(ctx, f.Raw)
	if ctx.Err() != nil {
		return o
	}
	o.tried = true
	var rpcErr *chain.RPCError
	switch {
	case err == nil || errors.As(err, &rpcErr) && rpcErr.AlreadyKnown():
		f.Accepted, f.LastError = true, ""
	case errors.As(err, &rpcErr):
		f.LastError, o.rejected = rpcErr.Message, rpcErr.Message
	default:
		f.LastError, o.err = err.Error(), err
	}
	f.Attempts++
	f.LastAttempt = fw.cfg.Clock.Now()
	o.reached = rpcErr != nil || err == nil
	return o
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
