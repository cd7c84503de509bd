package chain_test

import (
	"bytes"
	"encoding/hex"
	"os"
	"testing"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
)

func readBlock(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := hex.DecodeString(string(bytes.TrimSpace(b)))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// The testdata blocks come from litecoind 0.21 -regtest: block 300 (before
// MWEB), 432 (MWEB activation, with a peg-in) and a block with a peg-out of
// 1.5 LTC to rltc1qvedt07ffq9fsmcm5r6c2aq564j55hkmkrkvmce.
func TestDecodeLitecoinBlocks(t *testing.T) {
	ltc := mustCoin(t, chain.Litecoin, chain.Regtest)
	tests := []struct {
		file     string
		hash     string
		prev     string
		txs      []string
		kinds    []chain.TxKind
		mweb     bool
		pegoutTo string
		pegout   int64
	}{
		{
			file: "ltc-regtest-432.hex", hash: "63dbe544f76a827823e9dfe7e7446819d35f5198e029eddaf0947e9e35cdb0a0",
			txs:   []string{"aad368afa4aa6f19d51b78b4eeae895a759f044844ac3d9f03806cc5372445ff", "b7dad002aece19a0f5f84da14b0d3a1e41e51cea5ba74b36008179d27524b239"},
			kinds: []chain.TxKind{chain.Coinbase, chain.Regular, chain.HogEx}, mweb: true,
		},
		{
			file: "ltc-regtest-pegout.hex", hash: "aabfde39c8fab96c89b51e4532185e33fa4e187b5347f389991bda8f62623394",
			prev:  "8c5e6802223e66a324d319ca9eb46f2bd1fc7035d900e75c9309786d5b122197",
			txs:   []string{"23c6eaa70c7e63c5e3682b57ef88c90e02412a10cfafebd91380a789c82a71d0", "72b9e9784a371872de259f88357f1270756e86e46ea7b5b0bef01d5f31feb798"},
			kinds: []chain.TxKind{chain.Coinbase, chain.HogEx}, mweb: true,
			pegoutTo: "rltc1qvedt07ffq9fsmcm5r6c2aq564j55hkmkrkvmce", pegout: 150_000_000,
		},
		{file: "ltc-regtest-300.hex", kinds: []chain.TxKind{chain.Coinbase}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := ltc.DecodeBlock(readBlock(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if tt.hash != "" && b.Hash().String() != tt.hash {
				t.Errorf("hash %s, want %s", b.Hash(), tt.hash)
			}
			if tt.prev != "" && b.Prev().String() != tt.prev {
				t.Errorf("prev %s, want %s", b.Prev(), tt.prev)
			}
			if b.HasMWEB() != tt.mweb {
				t.Errorf("HasMWEB = %v", b.HasMWEB())
			}
			if b.NumTx() != len(tt.kinds) {
				t.Fatalf("%d transactions, want %d", b.NumTx(), len(tt.kinds))
			}
			for i, k := range tt.kinds {
				if b.Kind(i) != k {
					t.Errorf("tx %d is %v, want %v", i, b.Kind(i), k)
				}
				if i < len(tt.txs) && b.TxID(i).String() != tt.txs[i] {
					t.Errorf("tx %d id %s, want %s", i, b.TxID(i), tt.txs[i])
				}
			}
			if tt.pegoutTo == "" {
				return
			}
			want, err := ltc.ParseDestination(tt.pegoutTo)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for i := 0; i < b.NumTx(); i++ {
				b.Outputs(i, func(vout uint32, value int64, script []byte) {
					if bytes.Equal(script, want.Script) {
						found = b.Kind(i) == chain.HogEx && value == tt.pegout && vout == 1
					}
				})
			}
			if !found {
				t.Errorf("no HogEx output of %d to %s", tt.pegout, tt.pegoutTo)
			}
			if ltc.Maturity(chain.HogEx) != 6 || ltc.Maturity(chain.Coinbase) != 100 || ltc.Maturity(chain.Regular) != 0 {
				t.Error("wrong maturities")
			}
		})
	}
}

func TestDecodeBlockRefusesDamage(t *testing.T) {
	ltc := mustCoin(t, chain.Litecoin, chain.Regtest)
	raw := readBlock(t, "ltc-regtest-pegout.hex")
	for _, bad := range [][]byte{raw[:len(raw)-1], raw[:80], append(append([]byte(nil), raw...), 0), nil} {
		if _, err := ltc.DecodeBlock(bad); err == nil {
			t.Errorf("DecodeBlock of %d damaged bytes succeeded", len(bad))
		}
	}
}

// abandonKeychain returns the keychain of coin for the seed of BIP84's test
// vectors.
func abandonKeychain(tb testing.TB, coin *chain.Coin) *chain.Keychain {
	tb.Helper()
	seed, _ := hex.DecodeString(bip39Abandon)
	k, err := chain.NewKeychain(seed, coin.CoinType())
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func TestSign(t *testing.T) {
	for _, mk := range []func(chain.Network) (*chain.Coin, error){chain.Litecoin, chain.Bitcoin} {
		c := mustCoin(t, mk, chain.Regtest)
		k := abandonKeychain(t, c)
		p, _ := k.Program(7)
		dest := chain.P2WPKHScript(p)
		fee := append([]byte{0x51, 0x20}, make([]byte, 32)...)
		in := chain.SpendInput{OutPoint: ferry.OutPoint{Hash: ferry.Hash{1, 2, 3}, Index: 4}, Value: 1_000_000, KeyIndex: 7}
		outs := []chain.Output{{Value: 980_000, Script: dest}, {Value: 10_000, Script: fee}}
		tx, err := c.Sign(k, in, outs)
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		if max := chain.ForwardVSize([][]byte{dest, fee}); tx.VSize > max || tx.VSize < max-1 {
			t.Errorf("%s: vsize %d, estimate %d", c, tx.VSize, max)
		}
		got, err := c.DecodeTx(tx.Raw)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != tx.TxID || len(got.Inputs) != 1 || got.Inputs[0] != in.OutPoint || len(got.Outputs) != 2 ||
			got.Outputs[0].Value != 980_000 || !bytes.Equal(got.Outputs[1].Script, fee) {
			t.Errorf("%s: signed %+v", c, got)
		}
	}
}

// BenchmarkSign signs a forward (one input) and a sweep of four inputs on
// each coin, the checks of every signature included.
func BenchmarkSign(b *testing.B) {
	for _, mk := range []func(chain.Network) (*chain.Coin, error){chain.Litecoin, chain.Bitcoin} {
		c := mustCoin(b, mk, chain.Regtest)
		k := abandonKeychain(b, c)
		p, _ := k.Program(7)
		outs := []chain.Output{{Value: 3_900_000, Script: chain.P2WPKHScript(p)}}
		var ins []chain.SpendInput
		for i := range 4 {
			ins = append(ins, chain.SpendInput{OutPoint: ferry.OutPoint{Hash: ferry.Hash{byte(i + 1)}, Index: uint32(i)}, Value: 1_000_000, KeyIndex: uint32(i)})
		}
		b.Run(c.ID()+"/forward", func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, err := c.Sign(k, ins[0], outs); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.ID()+"/sweep=4", func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, err := c.SignSweep(k, ins, outs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
