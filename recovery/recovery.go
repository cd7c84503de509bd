// Package recovery rebuilds ferry's store from the chain and the seed
// (ferry recover), and finds, and sweeps, the coins stranded at the seed's
// addresses.
//
// A recovery of one coin runs in three steps:
//
//   - the scan reads the blocks from a starting height to the node's best
//     block and records every output paying one of the seed's first
//     addresses (its window: the highest index found plus a gap), and what
//     spent it; each block is recorded in one batch with the recovery's
//     state, so that an interrupted recovery resumes where it stopped. When
//     an address found lies so far along the path that the window grows,
//     the blocks already scanned are scanned again for the new addresses
//     (the catch-up) before the scan goes on. A reorg under the scan is
//     rolled back from the block hashes it keeps;
//   - the rebuild writes what the store lacks: the addresses found, each
//     with the destination its forwards on chain pay (a forward is a
//     transaction of one input paying the destination and, usually, the
//     operator's fee address), and their deposits as history below a scan
//     cursor; the daemon's own scanner then brings the store to the node's
//     best block, with undo logs, exactly as ferry would have; the forwards
//     found on chain are recorded, and the next index handed out is set
//     past the window;
//   - the outputs left unspent that ferry will not forward are listed as
//     stranded: payments to addresses whose destination the chain cannot
//     tell, payments made after their address expired, and deposits too
//     small to forward on their own (dust). With an address to sweep to,
//     they are spent there in as few transactions as fit, each signed and
//     recorded before its broadcast, and broadcast again, never rebuilt, by
//     later runs; a swept open deposit gets the sweep as its forward record,
//     so that ferry broadcasts the sweep again rather than forwarding it.
//
// An address handed out but never paid leaves no trace on chain: that is
// why the next index lies past the window. An address whose destination is
// unknown is recorded unwatched, so that ferry neither hands it out again
// nor forwards anything to it.
package recovery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/store"
)

// Node is what a recovery asks of a coin's node: its blocks (fetched with
// chain's Coin.FetchBlock), its fee rates (read with chain.FeeRate), its
// unspent outputs, and the broadcast of sweeps. *chain.Node implements it.
type Node interface {
	chain.BlockReader
	chain.FeeSource
	BlockCount(ctx context.Context) (int64, error)
	BlockHash(ctx context.Context, height int64) (ferry.Hash, error)
	// UnspentOutput reads an unspent output, amount and script, from the
	// node's view of the chain and its mempool.
	UnspentOutput(ctx context.Context, op ferry.OutPoint) (chain.Unspent, bool, error)
	SendRawTransaction(ctx context.Context, raw []byte) (ferry.Hash, error)
}

var _ Node = (*chain.Node)(nil)

// Coin is one coin to recover.
type Coin struct {
	Chain *chain.Coin
	Keys  *chain.Keychain
	Node  Node
	// FeeAddress is the operator's fee address: a forward's output that
	// pays it is the service fee, the other one the destination.
	FeeAddress chain.Destination
	// MinDeposit, in satoshis: smaller deposits are donations.
	MinDeposit ferry.Amount
	// FallbackFeeRate, in satoshis per 1000 vbytes, is used when the node
	// has no fee estimate.
	FallbackFeeRate int64
	// From is the first height to scan, or -1 for the height of the
	// store's oldest address. A recovery under way goes on from where it
	// stopped unless From names another height, which starts it over.
	From int64
	// SweepTo is where stranded coins are swept; nil lists them only.
	SweepTo *chain.Destination
}

// Config configures a recovery.
type Config struct {
	Store *store.DB
	Coins []Coin
	// Gap is how many indexes past the highest one found are looked for.
	Gap uint32
	// WatchFor is how long after its last payment an address stays
	// watched (address expiry and grace); 0 watches every address for
	// ever.
	WatchFor time.Duration
	// FeeTarget is the confirmation target asked of the fee estimator.
	FeeTarget int
	// Scan, if set, brings the store's scan of a coin up to its node's
	// best block as the daemon does (relay.Scanner's Sync), once the
	// history below its cursor is rebuilt, and returns the cursor. Set it
	// only for a store ferry never ran on: ferry's own scan starts the
	// callbacks of the forwards it sees confirm. Without it, the payments
	// above the cursor to addresses ferry watches are left to ferry.
	Scan     func(ctx context.Context, coin string) (store.Cursor, error)
	Progress Progress
	Clock    clock.Clock
}

// Errors callers branch on.
var (
	// ErrNoStart reports a recovery that cannot tell where to start: no
	// height was given and the store has no address.
	ErrNoStart = errors.New("no height to start from")
	// ErrDeepReorg reports a reorg under the scan deeper than the block
	// hashes it keeps.
	ErrDeepReorg = errors.New("reorg deeper than the recovery can roll back")
	// ErrNodeBehind reports a node whose best block is below the scan.
	ErrNodeBehind = errors.New("node is behind the recovery")
)

// Progress learns how a recovery goes. It is called from Run's goroutine.
type Progress interface {
	Report(Event)
}

// Phases of a recovery, as events name them.
const (
	PhaseScan     = "scan"     // the main pass, block by block
	PhaseCatchUp  = "catch-up" // blocks scanned again for a grown window
	PhaseRewind   = "rewind"   // a reorg under the scan rolled back
	PhaseRebuild  = "rebuild"  // addresses and history written
	PhaseSync     = "sync"     // the daemon's scanner up to the best block
	PhaseSweep    = "sweep"    // stranded coins listed, and swept
	PhaseFinished = "finished" // the coin is done
)

// Event is a step of a recovery.
type Event struct {
	Coin  string `json:"coin"`
	Phase string `json:"phase"`
	// Height is the block just recorded (for a rewind, the fork); From
	// and To bound the pass it belongs to.
	Height int64 `json:"height"`
	From   int64 `json:"from"`
	To     int64 `json:"to"`
	// Window is how many indexes are looked for; Addresses and Payments
	// count what was found so far.
	Window    uint32 `json:"window"`
	Addresses int    `json:"addresses"`
	Payments  int    `json:"payments"`
}

// Report is what a recovery of one coin did and found.
type Report struct {
	Coin string `json:"coin"`
	// From and To are the heights scanned; ScanHeight is the store's scan
	// cursor once the daemon's scanner caught up.
	From       int64 `json:"from_height"`
	To         int64 `json:"to_height"`
	ScanHeight int64 `json:"scan_height"`
	// NextIndex is the first index ferry hands out next.
	NextIndex uint32 `json:"next_index"`
	// Addresses is how many of the seed's addresses the chain shows paid,
	// WithDestination how many of those have a destination on chain, and
	// Restored how many this run wrote to the store.
	Addresses       int `json:"addresses_found"`
	WithDestination int `json:"addresses_with_destination"`
	Restored        int `json:"addresses_restored"`
	Payments        int `json:"payments_found"`
	// ForwardsRecorded counts the forwards found on chain this run
	// recorded; ToForward the open deposits ferry will forward; AboveScan
	// the payments above the store's scan cursor to addresses ferry
	// watches, left to ferry's scan.
	ForwardsRecorded int `json:"forwards_recorded"`
	ToForward        int `json:"deposits_to_forward"`
	AboveScan        int `json:"payments_above_scan"`
	// FeeRate is the network fee rate sweeps are priced at, in satoshis
	// per 1000 vbytes.
	FeeRate       int64         `json:"fee_rate"`
	Stranded      []Stranded    `json:"stranded"`
	StrandedValue int64         `json:"stranded_value"`
	Sweeps        []SweepReport `json:"sweeps"`
	// SweepTo is where this run swept to; empty for a dry run.
	SweepTo string `json:"sweep_to,omitempty"`
}

// Run recovers every coin of cfg in turn and reports on each. It stops at
// the first error; what it recorded until then stays, and a new Run goes
// on from there.
func Run(ctx context.Context, cfg Config) ([]*Report, error) {
	if cfg.Store == nil || cfg.Progress == nil || cfg.Clock == nil {
		return nil, errors.New("recovery: Store, Progress and Clock are required")
	}
	if cfg.Gap == 0 {
		return nil, errors.New("recovery: the gap must be at least 1")
	}
	var reports []*Report
	for i := range cfg.Coins {
		r := &run{cfg: &cfg, c: &cfg.Coins[i], id: cfg.Coins[i].Chain.ID(), db: cfg.Store}
		rep, err := r.coin(ctx)
		if err != nil {
			return reports, fmt.Errorf("%s: %w", r.c.Chain.Name(), err)
		}
		reports = append(reports, rep)
	}
	return reports, nil
}

// run is the recovery of one coin.
type run struct {
	cfg *Config
	c   *Coin
	id  string
	db  *store.DB
	st  *store.RecoveryState

	// programs maps the witness programs of the window's addresses to
	// their indexes; derived is the next index to derive.
	programs map[[20]byte]uint32
	derived  uint32
	// known holds the outpoints of the outputs recorded, spent or not:
	// the inputs that spend them are what the scan looks for.
	known map[ferry.OutPoint]struct{}
	// found holds the indexes with outputs recorded.
	found map[uint32]bool
}

// coin runs the three steps.
func (r *run) coin(ctx context.Context) (*Report, error) {
	if err := r.scan(ctx); err != nil {
		return nil, err
	}
	rep := &Report{Coin: r.id, From: r.st.From, To: r.st.Cursor.Height, Stranded: []Stranded{}, Sweeps: []SweepReport{}}
	if err := r.rebuild(ctx, rep); err != nil {
		return nil, err
	}
	if err := r.strandedCoins(ctx, rep); err != nil {
		return nil, err
	}
	r.event(PhaseFinished, rep.ScanHeight, r.st.From, rep.ScanHeight)
	return rep, nil
}

// event reports a step.
func (r *run) event(phase string, height, from, to int64) {
	payments := len(r.known)
	r.cfg.Progress.Report(Event{Coin: r.id, Phase: phase, Height: height, From: from, To: to,
		Window: r.st.Window, Addresses: len(r.found), Payments: payments})
}

// blockAt returns the node's block at height.
func (r *run) blockAt(ctx context.Context, height int64) (*chain.Block, error) {
	hash, err := r.c.Node.BlockHash(ctx, height)
	if err != nil {
		return nil, err
	}
	return r.c.Chain.FetchBlock(ctx, r.c.Node, hash)
}
