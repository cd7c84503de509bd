package rig

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/chain/regtest"
)

// Spender fills regtest blocks with transactions: it holds coins of keys
// of its own on parallel chains, and each block spends every chain's coin
// once, to many outputs and back to the chain.
type Spender struct {
	coin   *chain.Coin
	keys   *chain.Keychain
	node   *chain.Node
	chains []coin
	rng    *rand.Rand
}

// coin is a chain's unspent output, paying the key at index key.
type coin struct {
	op    ferry.OutPoint
	value int64
	key   uint32
}

// Payment is an output a transaction of the next block is to pay.
type Payment struct {
	Script []byte
	Value  int64
}

// feeRate is what the spender's transactions pay, in satoshis per vbyte.
const feeRate = 20

// outputValue is the value of the filler outputs: above every dust limit.
const outputValue = 10_000

// NewSpender funds chains chains of each satoshis from the paying wallet
// of l (one transaction, mined).
func NewSpender(ctx context.Context, l *regtest.Litecoind, chains int, each int64) (*Spender, error) {
	c, _ := chain.Litecoin(chain.Regtest)
	seed := sha256.Sum256([]byte("ferry bench spender"))
	keys, err := chain.NewKeychain(seed[:], c.CoinType())
	if err != nil {
		return nil, err
	}
	s := &Spender{coin: c, keys: keys, node: l.Node, rng: rand.New(rand.NewPCG(3, 4))}
	pay := map[string]int64{}
	addrs := make([]string, chains)
	for i := range chains {
		p, err := keys.Program(uint32(i))
		if err != nil {
			return nil, err
		}
		a, _ := c.InputAddress(p)
		addrs[i] = a.Address
		pay[a.Address] = each
	}
	txid, err := l.PayMany(ctx, pay)
	if err != nil {
		return nil, fmt.Errorf("fund the spender: %w", err)
	}
	tx, err := l.Tx(ctx, txid)
	if err != nil {
		return nil, err
	}
	index := map[string]int{}
	for i, a := range addrs {
		index[a] = i
	}
	s.chains = make([]coin, chains)
	for _, o := range tx.Vout {
		if i, ok := index[o.ScriptPubKey.AddressText()]; ok {
			s.chains[i] = coin{op: ferry.OutPoint{Hash: txid, Index: o.N}, value: each, key: uint32(i)}
		}
	}
	if _, err := l.Mine(ctx, 1); err != nil {
		return nil, err
	}
	return s, nil
}

// Fill sends a transaction from every chain to the node's mempool: each
// pays outputs filler outputs (P2WPKH, P2PKH or P2TR, to keys nobody
// holds) and its change back to the chain; pay(i), if it returns true,
// adds an output to chain i's transaction. The caller mines them.
func (s *Spender) Fill(ctx context.Context, outputs int, pay func(i int) (Payment, bool)) error {
	scripts := []func() []byte{
		func() []byte { return append([]byte{0x00, 0x14}, s.random(20)...) },
		func() []byte { return append(append([]byte{0x76, 0xa9, 0x14}, s.random(20)...), 0x88, 0xac) },
		func() []byte { return append([]byte{0x51, 0x20}, s.random(32)...) },
	}
	txs := make([]*chain.SignedTx, len(s.chains))
	for i, c := range s.chains {
		outs := []chain.Output{{}} // the change, set below
		spent := int64(0)
		for range outputs {
			outs = append(outs, chain.Output{Value: outputValue, Script: scripts[s.rng.IntN(len(scripts))]()})
			spent += outputValue
		}
		if p, ok := pay(i); ok {
			outs = append(outs, chain.Output{Value: p.Value, Script: p.Script})
			spent += p.Value
		}
		var back []byte
		prog, _ := s.keys.Program(c.key)
		back = chain.P2WPKHScript(prog)
		scriptsOut := make([][]byte, len(outs))
		for j := range outs {
			scriptsOut[j] = outs[j].Script
		}
		scriptsOut[0] = back
		fee := chain.ForwardVSize(scriptsOut) * feeRate
		outs[0] = chain.Output{Value: c.value - spent - fee, Script: back}
		if outs[0].Value < outputValue {
			return fmt.Errorf("chain %d is out of coins", i)
		}
		tx, err := s.coin.Sign(s.keys, chain.SpendInput{OutPoint: c.op, Value: c.value, KeyIndex: c.key}, outs)
		if err != nil {
			return err
		}
		txs[i] = tx
		s.chains[i] = coin{op: ferry.OutPoint{Hash: tx.TxID, Index: 0}, value: outs[0].Value, key: c.key}
	}

	// Sent by a few callers at once, as the node serves RPC on several
	// threads.
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	work := make(chan *chain.SignedTx)
	for range 6 {
		wg.Go(func() {
			for tx := range work {
				if _, err := s.node.SendRawTransaction(ctx, tx.Raw); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for _, tx := range txs {
		work <- tx
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return fmt.Errorf("send: %w", err)
	default:
	}
	return nil
}

func (s *Spender) random(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(s.rng.Uint32())
	}
	return b
}
