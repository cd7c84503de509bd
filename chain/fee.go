package chain

import (
	"context"
	"errors"
)

// FeeSource tells a node's network fee rates. *Node implements it.
type FeeSource interface {
	// EstimateFeeRate and MinFeeRate answer in satoshis per 1000
	// vbytes; EstimateFeeRate wraps ErrNoEstimate without an estimate,
	// MinFeeRate ErrMethodNotFound on a node without the call.
	EstimateFeeRate(ctx context.Context, target int) (int64, error)
	MinFeeRate(ctx context.Context) (int64, error)
}

var _ FeeSource = (*Node)(nil)

// defaultMinFeeRate is the relay floor, in satoshis per 1000 vbytes, of a
// node that does not report one (1 sat/vB, Bitcoin Core's default).
const defaultMinFeeRate = 1000

// FeeRate returns the network fee rate a transaction sent to node now
// pays, in satoshis per 1000 vbytes: the node's estimate for confirmation
// within target blocks, or fallback if it has none, and never below what
// its mempool accepts (1000 for a node that does not say). Any other
// error of the node is returned as it comes.
func FeeRate(ctx context.Context, node FeeSource, target int, fallback int64) (int64, error) {
	rate, err := node.EstimateFeeRate(ctx, target)
	if errors.Is(err, ErrNoEstimate) {
		rate = fallback
	} else if err != nil {
		return 0, err
	}
	floor, err := node.MinFeeRate(ctx)
	if errors.Is(err, ErrMethodNotFound) {
		floor = defaultMinFeeRate
	} else if err != nil {
		return 0, err
	}
	return max(rate, floor), nil
}
