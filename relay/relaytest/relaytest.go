// Package relaytest holds what ferry's tests share: WaitFor, the one wait
// on a condition; Node, a node a test scripts, for the failure modes real
// nodes cannot be made to show on demand; and NewEngine, the one test
// engine, over a real store in a temporary directory.
package relaytest

import (
	"context"
	"encoding/hex"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/store"
	"github.com/ferry-relay/ferry/store/storetest"
)

// Timeout bounds every wait of the tests.
const Timeout = 60 * time.Second

// WaitFor polls cond every 10 ms until it holds, failing tb after Timeout.
func WaitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	WaitWithin(tb, Timeout, what, cond)
}

// WaitWithin is WaitFor with a bound of its own.
func WaitWithin(tb testing.TB, bound time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", bound, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Seed is the tests' HD seed, whose addresses the tests know.
const Seed = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

// FeeAddress is a Litecoin regtest address for the tests' service fees.
const FeeAddress = "rltc1qqypqxpq9qcrsszg2pvxq6rs0zqg3yyc5l62ze4"

// Keys returns the keychain of coin for Seed.
func Keys(tb testing.TB, coin *chain.Coin) *chain.Keychain {
	tb.Helper()
	seed, _ := hex.DecodeString(Seed)
	k, err := chain.NewKeychain(seed, coin.CoinType())
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// OpenStore is storetest.Open.
var OpenStore = storetest.Open

// NodeSource is a node as every part of the engine sees it: Node, or a
// real node (see RealNode).
type NodeSource interface {
	relay.BlockSource
	relay.Broadcaster
	relay.FeeSource
	relay.MempoolSource
}

// RealNode is a real node's RPC client and mempool watcher as one
// NodeSource.
func RealNode(n *chain.Node, m *chain.Mempool) NodeSource {
	return struct {
		*chain.Node
		*chain.Mempool
	}{n, m}
}

// Options shape a test engine.
type Options struct {
	// Config is the engine's configuration; nil is relay.DefaultConfig.
	Config *relay.Config
	// Coins are the ids of the coins the engine runs; nil is ["ltc"].
	Coins []string
	// Node is the first coin's node; nil is a new Node at height 100.
	// Every other coin gets a new Node at height 100.
	Node NodeSource
	// Down makes every coin's scripted node unreachable.
	Down bool
	// Hosts checks callback hosts; nil allows every host.
	Hosts relay.HostChecker
	// Store is the engine's store; nil opens a new one.
	Store *store.DB
	// Started sets each coin's scan cursor at its scripted node's best
	// block before the engine starts, as if the node had been reached
	// (with Down, the API works without a chain).
	Started bool
	Log     zerolog.Logger
}

// Env is a test engine and what it runs on.
type Env struct {
	Engine *relay.Engine
	Store  *store.DB
	// Node is the first coin's node; Nodes every coin's, by id.
	Node  NodeSource
	Nodes map[string]NodeSource
	Coins []relay.Coin
	// Wakes counts the wake-ups of the notifier.
	Wakes *Waker
	// Holds is the hold policy the engine asks, built before it, as the
	// daemon builds it; Events the engine's events. An invoice engine
	// (Invoices) is built over both.
	Holds  *invoice.Holds
	Events chan relay.Event
}

// feeAddresses are the tests' fee addresses, by coin id.
var feeAddresses = map[string]string{"ltc": FeeAddress, "btc": "bcrt1qqypqxpq9qcrsszg2pvxq6rs0zqg3yyc5phstwt"}

// NewEngine returns an engine on regtest over a real store, with scripted
// nodes (or opt.Node), the tests' fee addresses and a minimum deposit of
// 1,000,000 satoshis.
func NewEngine(tb testing.TB, opt Options) *Env {
	tb.Helper()
	cfg := relay.DefaultConfig()
	if opt.Config != nil {
		cfg = *opt.Config
	}
	if opt.Coins == nil {
		opt.Coins = []string{"ltc"}
	}
	if opt.Store == nil {
		opt.Store = OpenStore(tb)
	}
	if opt.Hosts == nil {
		opt.Hosts = anyHost{}
	}
	env := &Env{Store: opt.Store, Nodes: map[string]NodeSource{}, Wakes: &Waker{}, Events: make(chan relay.Event, 1024)}
	for i, id := range opt.Coins {
		coin, err := chain.CoinByID(id, chain.Regtest)
		if err != nil {
			tb.Fatalf("relaytest: %v", err)
		}
		fee, err := coin.ParseDestination(feeAddresses[id])
		if err != nil {
			tb.Fatal(err)
		}
		node := opt.Node
		if i > 0 || node == nil {
			node = NewNode(tb, 100)
		}
		if scripted, ok := node.(*Node); ok {
			if opt.Started {
				if err := opt.Store.Start(id, []store.BlockRef{scripted.Tip()}); err != nil {
					tb.Fatal(err)
				}
			}
			if opt.Down {
				scripted.SetDown(errors.New("connection refused"))
			}
		} else if opt.Started || opt.Down {
			tb.Fatal("relaytest: Started and Down are for scripted nodes")
		}
		env.Nodes[id] = node
		env.Coins = append(env.Coins, relay.Coin{Chain: coin, Blocks: node, Broadcaster: node, Fees: node, Mempool: node,
			Keys: Keys(tb, coin), FeeAddress: fee, MinDeposit: 1_000_000, FallbackFeeRate: 10_000})
	}
	env.Node = env.Nodes[opt.Coins[0]]
	hc := invoice.DefaultHoldsConfig()
	hc.Store, hc.Ledger, hc.Clock, hc.ForwardConfirmations = opt.Store, relay.NewLedger(opt.Store, env.Coins), cfg.Clock, cfg.ForwardConfirmations
	var err error
	if env.Holds, err = invoice.NewHolds(hc); err != nil {
		tb.Fatal(err)
	}
	env.Engine, err = relay.New(cfg, relay.Deps{Store: opt.Store, Coins: env.Coins, Hosts: opt.Hosts, Waker: env.Wakes, Releaser: env.Holds,
		Events: env.Events, Log: opt.Log})
	if err != nil {
		tb.Fatal(err)
	}
	return env
}

// Run runs the engine until the end of the test.
func (e *Env) Run(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Engine.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("engine: %v", err)
		}
	})
}

// Waker counts wake-ups.
type Waker struct{ n atomic.Int64 }

// Wake counts one wake-up.
func (w *Waker) Wake() { w.n.Add(1) }

// Count returns the wake-ups so far.
func (w *Waker) Count() int64 { return w.n.Load() }

// anyHost allows callbacks to every host.
type anyHost struct{}

// CheckHost allows host.
func (anyHost) CheckHost(context.Context, string) error { return nil }

// Clock returns a test clock at a fixed date.
func Clock() *clock.Test { return clock.NewTest(time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)) }

// FreePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func FreePort(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
