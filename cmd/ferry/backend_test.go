package main

import (
	"context"
	"testing"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/chain/regtest"
)

// backend is what the tests need of a regtest node and its wallets: the
// paying customer, the merchant's addresses, mining. regtest.Litecoind and
// regtest.Btcd both have it.
type backend interface {
	NewAddress(ctx context.Context) (string, error)
	Pay(ctx context.Context, addr string, sat int64) (ferry.Hash, error)
	PayMany(ctx context.Context, pay map[string]int64) (ferry.Hash, error)
	Mine(ctx context.Context, n int) ([]ferry.Hash, error)
	Received(ctx context.Context, addr string) (int64, error)
	Tx(ctx context.Context, txid ferry.Hash) (*regtest.TxInfo, error)
	Mempool(ctx context.Context) ([]ferry.Hash, error)
	InvalidateBlock(ctx context.Context, h ferry.Hash) error
	NodeClient() *chain.Node
	Stop() error
}

// node is one coin's regtest node as the tests use it.
type node struct {
	backend
	// coin is the API's method, litecoin or bitcoin; ticker its callback
	// coin, ltc or btc.
	coin, ticker    string
	rpcURL, p2pAddr string
	// minDeposit is ferry's default minimum for the coin.
	minDeposit int64
	// ltc is the Litecoin node, for what only it has (MWEB, mock time,
	// replacement, restarts); nil for Bitcoin.
	ltc *regtest.Litecoind
}

// coins are the coins every shared test runs on.
var coins = []string{"litecoin", "bitcoin"}

// startNode starts a regtest node of coin for the test: litecoind, or btcd
// with btcwallet.
func startNode(t *testing.T, coin string) *node {
	t.Helper()
	switch coin {
	case "litecoin":
		l := regtest.NewLitecoind(t)
		return &node{backend: l, coin: coin, ticker: "ltc", rpcURL: l.RPCURL, p2pAddr: l.P2PAddr, minDeposit: 1_000_000, ltc: l}
	case "bitcoin":
		b := regtest.NewBtcd(t)
		return &node{backend: b, coin: coin, ticker: "btc", rpcURL: b.RPCURL, p2pAddr: b.P2PAddr, minDeposit: 100_000}
	}
	t.Fatalf("no coin %q", coin)
	return nil
}

// forEachCoin runs f as a parallel subtest per coin, each on a node of its
// own.
func forEachCoin(t *testing.T, f func(t *testing.T, n *node)) {
	for _, c := range coins {
		t.Run(c, func(t *testing.T) {
			t.Parallel()
			f(t, startNode(t, c))
		})
	}
}

// nodeConfig returns a ferry configuration for n, with a fresh merchant
// address for the fee, and a 10 sat/vB fallback fee for either coin.
func nodeConfig(t *testing.T, n *node, dataDir string) Config {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = dataDir
	cfg.Network = "regtest"
	cfg.LogLevel = "debug"
	cfg.RateLimit = 0 // tests poll; TestRateLimit tests the limit
	switch n.coin {
	case "litecoin":
		cfg.LTCRPC, cfg.LTCP2P, cfg.LTCFeeAddress, cfg.LTCFallbackFee = n.rpcURL, n.p2pAddr, newAddress(t, n), 10
	case "bitcoin":
		cfg.BTCRPC, cfg.BTCP2P, cfg.BTCFeeAddress, cfg.BTCFallbackFee = n.rpcURL, n.p2pAddr, newAddress(t, n), 10
	}
	return cfg
}

// feeAddress returns cfg's fee address for n's coin.
func (n *node) feeAddress(cfg Config) string {
	if n.coin == "bitcoin" {
		return cfg.BTCFeeAddress
	}
	return cfg.LTCFeeAddress
}

func newAddress(t *testing.T, n *node) string {
	t.Helper()
	a, err := n.NewAddress(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return a
}
