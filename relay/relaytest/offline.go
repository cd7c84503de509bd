package relaytest

import (
	"context"
	"encoding/hex"
	"errors"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/relay"
)

// Offline is a node that cannot be reached, a host checker that allows
// every host and a waker that wakes nothing: enough for the engine's
// calls that need no node (minting, reports), as examples show them.
type Offline struct{}

// ErrOffline is every call's answer.
var ErrOffline = errors.New("node offline")

// BlockCount implements relay.BlockSource.
func (Offline) BlockCount(context.Context) (int64, error) { return 0, ErrOffline }

// BlockHash implements relay.BlockSource.
func (Offline) BlockHash(context.Context, int64) (ferry.Hash, error) { return ferry.Hash{}, ErrOffline }

// BestBlockHash implements relay.BlockSource.
func (Offline) BestBlockHash(context.Context) (ferry.Hash, error) { return ferry.Hash{}, ErrOffline }

// RawBlock implements relay.BlockSource.
func (Offline) RawBlock(context.Context, ferry.Hash) ([]byte, error) { return nil, ErrOffline }

// WaitForNewBlock implements relay.BlockSource.
func (Offline) WaitForNewBlock(context.Context, time.Duration) error { return ErrOffline }

// SendRawTransaction implements relay.Broadcaster.
func (Offline) SendRawTransaction(context.Context, []byte) (ferry.Hash, error) {
	return ferry.Hash{}, ErrOffline
}

// EstimateFeeRate implements relay.FeeSource.
func (Offline) EstimateFeeRate(context.Context, int) (int64, error) { return 0, ErrOffline }

// MinFeeRate implements relay.FeeSource.
func (Offline) MinFeeRate(context.Context) (int64, error) { return 0, ErrOffline }

// WatchMempool implements relay.MempoolSource.
func (Offline) WatchMempool(context.Context, func(*chain.Tx)) error { return ErrOffline }

// TxOut implements relay.MempoolSource.
func (Offline) TxOut(context.Context, ferry.OutPoint) (int64, bool, error) {
	return 0, false, ErrOffline
}

// CheckHost implements relay.HostChecker: every host is allowed.
func (Offline) CheckHost(context.Context, string) error { return nil }

// Wake implements relay.Waker.
func (Offline) Wake() {}

// OfflineCoin returns Litecoin on regtest as the tests run it, over an
// Offline node: the tests' seed and fee address, a minimum deposit of
// 1,000,000 satoshis. It needs no testing.TB, so that examples build
// engines with it.
func OfflineCoin() (relay.Coin, error) {
	ltc, err := chain.Litecoin(chain.Regtest)
	if err != nil {
		return relay.Coin{}, err
	}
	seed, err := hex.DecodeString(Seed)
	if err != nil {
		return relay.Coin{}, err
	}
	keys, err := chain.NewKeychain(seed, ltc.CoinType())
	if err != nil {
		return relay.Coin{}, err
	}
	fee, err := ltc.ParseDestination(FeeAddress)
	if err != nil {
		return relay.Coin{}, err
	}
	node := Offline{}
	return relay.Coin{Chain: ltc, Blocks: node, Broadcaster: node, Fees: node, Mempool: node, Keys: keys, FeeAddress: fee,
		MinDeposit: 1_000_000, FallbackFeeRate: 10_000}, nil
}
