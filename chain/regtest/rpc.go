package regtest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
)

// rpc is what every harness node offers: RPC clients for the node and for
// the paying customer's wallet, and the calls tests make of either coin.
type rpc struct {
	// Node is an RPC client for the node; Wallet for the paying
	// customer's wallet.
	Node, Wallet *chain.Node
}

// InvalidateBlock marks a block invalid, reorganizing the node onto another
// chain; the orphaned transactions return to the mempool.
func (r *rpc) InvalidateBlock(ctx context.Context, h ferry.Hash) error {
	return r.Node.Call(ctx, "invalidateblock", nil, h.String())
}

// TxInfo is what the node says of a transaction.
type TxInfo struct {
	TxID          string `json:"txid"`
	Confirmations int64  `json:"confirmations"`
	BlockHash     string `json:"blockhash"`
	VSize         int64  `json:"vsize"`
	Vin           []struct {
		TxID string `json:"txid"`
		Vout uint32 `json:"vout"`
	} `json:"vin"`
	Vout []struct {
		Value        json.Number  `json:"value"`
		N            uint32       `json:"n"`
		ScriptPubKey ScriptPubKey `json:"scriptPubKey"`
	} `json:"vout"`
}

// ScriptPubKey is an output script as the node decodes it.
type ScriptPubKey struct {
	Hex       string   `json:"hex"`
	Addresses []string `json:"addresses"` // litecoind 0.21, btcd
	Address   string   `json:"address"`   // newer Bitcoin Core
}

// AddressText returns the one address the script pays, or "".
func (s ScriptPubKey) AddressText() string {
	if s.Address != "" {
		return s.Address
	}
	if len(s.Addresses) == 1 {
		return s.Addresses[0]
	}
	return ""
}

// Tx returns the node's view of a transaction (the node keeps a transaction
// index).
func (r *rpc) Tx(ctx context.Context, txid ferry.Hash) (*TxInfo, error) {
	var t TxInfo
	if err := r.Node.Call(ctx, "getrawtransaction", &t, txid.String(), 1); err != nil {
		return nil, err
	}
	return &t, nil
}

// Mempool returns the ids of the transactions in the node's mempool.
func (r *rpc) Mempool(ctx context.Context) ([]ferry.Hash, error) {
	return r.Node.RawMempool(ctx)
}

// sendMany pays each address its amount in one transaction.
func sendMany(ctx context.Context, wallet *chain.Node, account string, pay map[string]int64) (ferry.Hash, error) {
	amounts := map[string]json.Number{}
	for a, sat := range pay {
		amounts[a] = json.Number(ferry.Amount(sat).String())
	}
	var id string
	if err := wallet.Call(ctx, "sendmany", &id, account, amounts); err != nil {
		return ferry.Hash{}, fmt.Errorf("pay %d addresses: %w", len(pay), err)
	}
	return ferry.ParseHash(id)
}

func send(ctx context.Context, wallet *chain.Node, addr string, sat int64) (ferry.Hash, error) {
	var id string
	// A JSON number with the amount's exact decimal text: btcwallet takes
	// no string amounts.
	if err := wallet.Call(ctx, "sendtoaddress", &id, addr, json.Number(ferry.Amount(sat).String())); err != nil {
		return ferry.Hash{}, fmt.Errorf("pay %s: %w", addr, err)
	}
	return ferry.ParseHash(id)
}

func parseHashes(ids []string) ([]ferry.Hash, error) {
	hs := make([]ferry.Hash, len(ids))
	for i, s := range ids {
		h, err := ferry.ParseHash(s)
		if err != nil {
			return nil, err
		}
		hs[i] = h
	}
	return hs, nil
}

// amountOf converts an amount a node or wallet printed into satoshis. It
// takes btcwallet's float formatting ("1e-07") as well as the nodes' fixed
// decimals, exactly; a fraction of a satoshi is an error.
func amountOf(n json.Number) (int64, error) {
	r, ok := new(big.Rat).SetString(n.String())
	if !ok {
		return 0, fmt.Errorf("bad amount %q", n)
	}
	r.Mul(r, big.NewRat(ferry.SatoshiPerCoin, 1))
	if !r.IsInt() || !r.Num().IsInt64() {
		return 0, fmt.Errorf("amount %q is not a whole number of satoshis", n)
	}
	return r.Num().Int64(), nil
}

// NodeClient returns the RPC client for the node.
func (r *rpc) NodeClient() *chain.Node { return r.Node }
