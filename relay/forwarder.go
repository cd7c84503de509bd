package relay

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

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
	PutForwards(fs []*store.Forward) error
}

var _ ForwardStore = (*store.DB)(nil)

// ForwardListener learns of each forward a node has taken: on every
// accepted broadcast, and when a block confirms a forward never seen
// accepted (ferry was down). It is called from the forwarder's goroutine.
type ForwardListener interface {
	Accepted(ctx context.Context, f *store.Forward)
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
	Log           zerolog.Logger
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
	// forward, to report them once.
	postponed map[chain.OutPoint]bool
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
	return &Forwarder{cfg: cfg, id: cfg.Coin.ID(), postponed: map[chain.OutPoint]bool{}}
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
	open := make(map[chain.OutPoint]bool, len(deps))
	var due []*store.Deposit
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
	for op := range fw.postponed {
		if !open[op] {
			delete(fw.postponed, op) // spent, or rolled back
		}
	}
	return complete
}

// prepare returns the forwards of deposits: those recorded, and new ones,
// built (at *rate, fetched first if 0; set to -1 if it cannot be had) and
// recorded. It reports false if one could not be.
func (fw *Forwarder) prepare(ctx context.Context, deps []*store.Deposit, rate *int64) ([]*store.Forward, bool) {
	complete := true
	var fs []*store.Forward
	var build []*store.Deposit
	for _, d := range deps {
		f, err := fw.cfg.Store.Forward(fw.id, d.OutPoint)
		switch {
		case err == nil:
			fs = append(fs, f)
		case errors.Is(err, store.ErrNotFound):
			build = append(build, d)
		default:
			fw.cfg.Log.Error().Str("outpoint", d.OutPoint.String()).Err(err).Msg("forwarder")
			complete = false
		}
	}
	if len(build) == 0 {
		return fs, complete
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

	// Signed in parallel, then recorded at once.
	built := make([]*store.Forward, len(build))
	vsizes := make([]int64, len(build))
	errs := make([]error, len(build))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(build)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(build); i = int(next.Add(1) - 1) {
				built[i], vsizes[i], errs[i] = fw.build(build[i], *rate)
			}
		})
	}
	wg.Wait()
	var fresh []*store.Forward
	var freshSizes []int64
	for i, d := range build {
		switch err := errs[i]; {
		case errors.Is(err, errUneconomical):
			// Said once at warning level; every block after at debug.
			ev := fw.cfg.Log.Debug()
			if !fw.postponed[d.OutPoint] {
				fw.postponed[d.OutPoint] = true
				ev = fw.cfg.Log.Warn()
			}
			ev.Str("outpoint", d.OutPoint.String()).Err(err).Msg("forward postponed")
		case err != nil:
			fw.cfg.Log.Error().Str("outpoint", d.OutPoint.String()).Err(err).Msg("forwarder")
			complete = false
		default:
			fresh, freshSizes = append(fresh, built[i]), append(freshSizes, vsizes[i])
		}
	}
	if len(fresh) == 0 {
		return fs, complete
	}
	if err := fw.cfg.Store.PutForwards(fresh); err != nil {
		fw.cfg.Log.Error().Err(err).Int("forwards", len(fresh)).Msg("forwarder: record forwards")
		return fs, false
	}
	for i, f := range fresh {
		fw.cfg.Log.Info().Str("outpoint", f.OutPoint.String()).Str("txid", f.TxID.String()).Bool("donation", f.Donation).
			Int64("value", f.Value).Int64("forwarded", f.Forwarded).Int64("service_fee", f.ServiceFee).
			Int64("network_fee", f.NetworkFee).Int64("vsize", freshSizes[i]).Msg("forward signed")
	}
	return append(fs, fresh...), complete
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

// build signs the forward of deposit d and returns it with its virtual
// size. It is safe for concurrent use; the forward is recorded by the
// caller, before it is broadcast.
func (fw *Forwarder) build(d *store.Deposit, rate int64) (*store.Forward, int64, error) {
	addr, err := fw.cfg.Store.Address(fw.id, d.AddrIndex)
	if err != nil {
		return nil, 0, err
	}
	p, err := planForward(fw.cfg.Coin, d.Value, addr.DestScript, fw.cfg.FeeAddress.Script, fw.cfg.FeePercent, fw.cfg.MinDeposit, rate)
	if err != nil {
		return nil, 0, err
	}
	in := chain.SpendInput{OutPoint: d.OutPoint, Value: d.Value, KeyIndex: d.AddrIndex}
	tx, err := fw.cfg.Coin.Sign(fw.cfg.Keys, in, p.outs)
	if err != nil {
		return nil, 0, err
	}
	return &store.Forward{
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
	}, tx.VSize, nil
}

// broadcastAll sends fs to the node, a few at a time, and records the
// attempts in one write; then it tells the listener of the forwards the
// node has taken. The node's reason for a rejection is logged and kept;
// the forward is tried again on the next block. It returns false if the
// node could not be reached.
func (fw *Forwarder) broadcastAll(ctx context.Context, fs []*store.Forward) bool {
	if len(fs) == 0 {
		return true
	}
	reached := make([]bool, len(fs))
	tried := make([]bool, len(fs))
	was := make([]bool, len(fs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(broadcasters, len(fs)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(fs) && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				was[i] = fs[i].Accepted
				reached[i], tried[i] = fw.broadcast(ctx, fs[i])
			}
		})
	}
	wg.Wait()

	var attempts []*store.Forward
	complete := ctx.Err() == nil
	for i, f := range fs {
		if !tried[i] {
			continue
		}
		attempts = append(attempts, f)
		complete = complete && reached[i]
	}
	if err := fw.cfg.Store.PutForwards(attempts); err != nil {
		fw.cfg.Log.Error().Err(err).Int("forwards", len(attempts)).Msg("record forward attempts")
	}
	for i, f := range fs {
		if !tried[i] || !f.Accepted {
			continue
		}
		if !was[i] {
			fw.cfg.Log.Info().Str("outpoint", f.OutPoint.String()).Str("txid", f.TxID.String()).Int64("forwarded", f.Forwarded).
				Bool("donation", f.Donation).Msg("forward broadcast")
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

// broadcast sends f to the node and sets the attempt's outcome in f. It
// reports whether the node was reached, and whether the attempt counts
// (not cut short by ctx).
func (fw *Forwarder) broadcast(ctx context.Context, f *store.Forward) (reached, tried bool) {
	_, err := fw.cfg.Broadcaster.SendRawTransaction(ctx, f.Raw)
	if ctx.Err() != nil {
		return false, false
	}
	op, txid := f.OutPoint.String(), f.TxID.String()
	var rpcErr *chain.RPCError
	switch {
	case err == nil || errors.As(err, &rpcErr) && alreadyKnown(rpcErr):
		f.Accepted, f.LastError = true, ""
	case errors.As(err, &rpcErr):
		f.LastError = rpcErr.Message
		fw.cfg.Log.Warn().Str("outpoint", op).Str("txid", txid).Str("reason", rpcErr.Message).Msg("forward rejected by node; retrying next block")
	default:
		f.LastError = err.Error()
		fw.cfg.Log.Warn().Str("outpoint", op).Str("txid", txid).Err(err).Msg("forward not sent; retrying")
	}
	f.Attempts++
	f.LastAttempt = fw.cfg.Clock.Now()
	return rpcErr != nil || err == nil, true
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
