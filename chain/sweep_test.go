package chain_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/chain/regtest"
)

// TestDestinationOf reads back the address of every output script ferry
// pays to, and refuses the others.
func TestDestinationOf(t *testing.T) {
	ltc := mustCoin(t, chain.Litecoin, chain.Mainnet)
	btc := mustCoin(t, chain.Bitcoin, chain.Mainnet)
	for _, c := range []struct {
		coin *chain.Coin
		addr string
	}{
		{ltc, "LKKHMBjCU89fyFNgSRprDoD8Jb25N8uWvd"},
		{ltc, "M7zVKQKmtV5Rc7erVGVVC3khZbXxsS5HEX"},
		{ltc, "ltc1qqypqxpq9qcrsszg2pvxq6rs0zqg3yyc5dyg36p"},
		{ltc, "ltc1qgpq5ys6yg4rywjzfff95cn2wfag9z5jn2324v46ct9d9khzate0smdud9x"},
		{btc, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"},
		{btc, "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"},
		{btc, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"},
		{btc, "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3"},
		{btc, "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"},
	} {
		want, err := c.coin.ParseDestination(c.addr)
		if err != nil {
			t.Fatalf("%s: %v", c.addr, err)
		}
		got, err := c.coin.DestinationOf(want.Script)
		if err != nil || got.Address != want.Address || got.Type != want.Type || !bytes.Equal(got.Script, want.Script) {
			t.Errorf("%s: read back as %+v, %v", c.addr, got, err)
		}
	}
	pubKey := append(append([]byte{33, 2}, bytes.Repeat([]byte{1}, 32)...), 0xac) // P2PK
	for _, script := range [][]byte{nil, {0x6a, 1, 0}, pubKey} {
		if d, err := ltc.DestinationOf(script); !errors.Is(err, chain.ErrUnsupportedAddress) {
			t.Errorf("script %x: %+v, %v", script, d, err)
		}
	}
}

// TestSweepVSize signs sweeps of one to five inputs: the size budgeted is
// never below the signed transaction's, and never more than a byte per
// input above it; for one input it is a forward's.
func TestSweepVSize(t *testing.T) {
	for _, mk := range []func(chain.Network) (*chain.Coin, error){chain.Litecoin, chain.Bitcoin} {
		coin := mustCoin(t, mk, chain.Regtest)
		keys, err := chain.NewKeychain(bytes.Repeat([]byte{7}, 32), coin.CoinType())
		if err != nil {
			t.Fatal(err)
		}
		to := chain.P2WPKHScript([20]byte{1})
		var ins []chain.SpendInput
		for n := 1; n <= 5; n++ {
			ins = append(ins, chain.SpendInput{OutPoint: ferry.OutPoint{Hash: ferry.Hash{byte(n)}, Index: uint32(n)}, Value: 100_000, KeyIndex: uint32(n)})
			tx, err := coin.SignSweep(keys, ins, []chain.Output{{Value: 50_000 * int64(n), Script: to}})
			if err != nil {
				t.Fatal(err)
			}
			budget := chain.SweepVSize(n, [][]byte{to})
			if tx.VSize > budget || tx.VSize < budget-int64(n) {
				t.Errorf("%s, %d inputs: %d vbytes, budget %d", coin, n, tx.VSize, budget)
			}
			if n == 1 && budget != chain.ForwardVSize([][]byte{to}) {
				t.Errorf("%s: a sweep of one input budgets %d vbytes, a forward %d", coin, budget, chain.ForwardVSize([][]byte{to}))
			}
		}
		other, _ := chain.NewKeychain(bytes.Repeat([]byte{7}, 32), coin.CoinType()+1)
		for name, c := range map[string]struct {
			keys *chain.Keychain
			ins  []chain.SpendInput
		}{
			"no input":         {keys, nil},
			"an input twice":   {keys, []chain.SpendInput{ins[0], ins[0]}},
			"another coin's":   {other, ins[:1]},
			"too many inputs":  {keys, make([]chain.SpendInput, chain.MaxSweepInputs+1)},
			"index past range": {keys, []chain.SpendInput{{KeyIndex: 1 << 31}}},
		} {
			if _, err := coin.SignSweep(c.keys, c.ins, []chain.Output{{Value: 1, Script: to}}); err == nil {
				t.Errorf("%s: %s signed", coin, name)
			}
		}
	}
}

// TestSweepOnChain pays three of a seed's addresses on real nodes, reads
// them back with gettxout, sweeps them in one transaction the node takes,
// and finds them spent.
func TestSweepOnChain(t *testing.T) {
	type node interface {
		NewAddress(ctx context.Context) (string, error)
		Pay(ctx context.Context, addr string, sat int64) (ferry.Hash, error)
		Mine(ctx context.Context, n int) ([]ferry.Hash, error)
		Received(ctx context.Context, addr string) (int64, error)
		Tx(ctx context.Context, txid ferry.Hash) (*regtest.TxInfo, error)
		NodeClient() *chain.Node
	}
	for _, tc := range []struct {
		name  string
		start func(t *testing.T) (node, *chain.Coin)
	}{
		{"litecoin", func(t *testing.T) (node, *chain.Coin) {
			return regtest.NewLitecoind(t), mustCoin(t, chain.Litecoin, chain.Regtest)
		}},
		{"bitcoin", func(t *testing.T) (node, *chain.Coin) {
			return regtest.NewBtcd(t), mustCoin(t, chain.Bitcoin, chain.Regtest)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			n, coin := tc.start(t)
			keys, err := chain.NewKeychain(bytes.Repeat([]byte{9}, 32), coin.CoinType())
			if err != nil {
				t.Fatal(err)
			}
			var ins []chain.SpendInput
			var total int64
			for i, value := range []int64{123_456, 2_000_000, 31_000} {
				prog, err := keys.Program(uint32(i * 7))
				if err != nil {
					t.Fatal(err)
				}
				in, err := coin.InputAddress(prog)
				if err != nil {
					t.Fatal(err)
				}
				txid, err := n.Pay(ctx, in.Address, value)
				if err != nil {
					t.Fatal(err)
				}
				info, err := n.Tx(ctx, txid)
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range info.Vout {
					if o.ScriptPubKey.AddressText() == in.Address {
						ins = append(ins, chain.SpendInput{OutPoint: ferry.OutPoint{Hash: txid, Index: o.N}, KeyIndex: uint32(i * 7)})
					}
				}
				total += value
			}
			if _, err := n.Mine(ctx, 1); err != nil {
				t.Fatal(err)
			}
			rpc := n.NodeClient()
			for i, in := range ins {
				u, found, err := rpc.UnspentOutput(ctx, in.OutPoint)
				prog, _ := keys.Program(in.KeyIndex)
				if err != nil || !found || u.Confirmations != 1 || u.Coinbase || !bytes.Equal(u.Script, chain.P2WPKHScript(prog)) {
					t.Fatalf("gettxout of %s: %+v, %v, %v", in.OutPoint, u, found, err)
				}
				ins[i].Value = u.Value
			}
			if ins[0].Value+ins[1].Value+ins[2].Value != total {
				t.Errorf("gettxout amounts %d, %d, %d; paid %d in all", ins[0].Value, ins[1].Value, ins[2].Value, total)
			}

			to, err := n.NewAddress(ctx)
			if err != nil {
				t.Fatal(err)
			}
			dest, err := coin.ParseDestination(to)
			if err != nil {
				t.Fatal(err)
			}
			fee := 10 * chain.SweepVSize(3, [][]byte{dest.Script})
			tx, err := coin.SignSweep(keys, ins, []chain.Output{{Value: total - fee, Script: dest.Script}})
			if err != nil {
				t.Fatal(err)
			}
			if id, err := rpc.SendRawTransaction(ctx, tx.Raw); err != nil || id != tx.TxID {
				t.Fatalf("broadcast: %v, %v", id, err)
			}
			if _, err := n.Mine(ctx, 1); err != nil {
				t.Fatal(err)
			}
			if got, err := n.Received(ctx, to); err != nil || got != total-fee {
				t.Errorf("received %d, %v; want %d", got, err, total-fee)
			}
			for _, in := range ins {
				if _, found, err := rpc.UnspentOutput(ctx, in.OutPoint); found || err != nil {
					t.Errorf("%s still unspent: %v", in.OutPoint, err)
				}
			}
		})
	}
}
