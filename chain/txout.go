package chain

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/ferry-relay/ferry"
)

// Unspent is an unspent transaction output as the node sees it.
type Unspent struct {
	// Value is in satoshis, read from the node's amount exactly.
	Value  int64
	Script []byte
	// Confirmations is 0 for an output of a transaction in the mempool.
	Confirmations int64
	Coinbase      bool
}

// UnspentOutput asks the node for op (gettxout, its mempool included): the
// output if it exists and is unspent, or found false if it is spent (in a
// block or, on Bitcoin and Litecoin Core, in the mempool) or never existed.
// btcd does not count spends in its mempool.
func (n *Node) UnspentOutput(ctx context.Context, op ferry.OutPoint) (u Unspent, found bool, err error) {
	var out *struct {
		Confirmations json.Number `json:"confirmations"`
		Value         json.Number `json:"value"`
		ScriptPubKey  struct {
			Hex string `json:"hex"`
		} `json:"scriptPubKey"`
		Coinbase bool `json:"coinbase"`
	}
	if err := n.call(ctx, callTimeout, "gettxout", &out, op.Hash.String(), op.Index, true); err != nil {
		return u, false, err
	}
	if out == nil {
		return u, false, nil
	}
	if u.Confirmations, err = out.Confirmations.Int64(); err != nil {
		return u, false, fmt.Errorf("gettxout: confirmations %q", out.Confirmations)
	}
	if u.Value, err = exactAmount(out.Value); err != nil {
		return u, false, fmt.Errorf("gettxout: %w", err)
	}
	if u.Script, err = hex.DecodeString(out.ScriptPubKey.Hex); err != nil {
		return u, false, fmt.Errorf("gettxout: script: %w", err)
	}
	u.Coinbase = out.Coinbase
	return u, true, nil
}

// exactAmount converts a JSON amount in coins into satoshis exactly (the
// decimal or exponent text, no float), refusing a fraction of a satoshi.
func exactAmount(n json.Number) (int64, error) {
	r, ok := new(big.Rat).SetString(string(n))
	if !ok || r.Sign() < 0 {
		return 0, fmt.Errorf("%w: %q", ferry.ErrBadAmount, n)
	}
	r.Mul(r, big.NewRat(ferry.SatoshiPerCoin, 1))
	if !r.IsInt() || !r.Num().IsInt64() || r.Num().Int64() > int64(ferry.MaxAmount) {
		return 0, fmt.Errorf("%w: %q", ferry.ErrBadAmount, n)
	}
	return r.Num().Int64(), nil
}
