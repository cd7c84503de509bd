package chain

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	btcchainhash "github.com/btcsuite/btcd/chaincfg/chainhash"
	btcwire "github.com/btcsuite/btcd/wire"
	"github.com/ferry-relay/ferry"
	"github.com/ltcsuite/ltcd/chaincfg/chainhash"
	"github.com/ltcsuite/ltcd/wire"
)

// The wire packages' decoding is the reference the raw reader is held to.

// btcBlock is a Bitcoin block decoded by btcd's wire package.
type btcBlock struct {
	msg btcwire.MsgBlock
}

func decodeBtcWire(raw []byte) (blockBody, error) {
	b := &btcBlock{}
	r := bytes.NewReader(raw)
	if err := b.msg.Deserialize(r); err != nil {
		return nil, err
	}
	if r.Len() != 0 {
		return nil, errors.New("trailing bytes")
	}
	return b, nil
}

func (b *btcBlock) hash() ferry.Hash       { return ferry.Hash(b.msg.BlockHash()) }
func (b *btcBlock) prev() ferry.Hash       { return ferry.Hash(b.msg.Header.PrevBlock) }
func (b *btcBlock) timestamp() time.Time   { return b.msg.Header.Timestamp }
func (b *btcBlock) numTx() int             { return len(b.msg.Transactions) }
func (b *btcBlock) txid(tx int) ferry.Hash { return ferry.Hash(b.msg.Transactions[tx].TxHash()) }
func (b *btcBlock) hasMWEB() bool          { return false }

func (b *btcBlock) kind(tx int) TxKind {
	if tx == 0 {
		return Coinbase
	}
	return Regular
}

func (b *btcBlock) inputs(tx int, fn func(ferry.OutPoint)) {
	if tx == 0 {
		return
	}
	for _, in := range b.msg.Transactions[tx].TxIn {
		fn(ferry.OutPoint{Hash: ferry.Hash(in.PreviousOutPoint.Hash), Index: in.PreviousOutPoint.Index})
	}
}

func (b *btcBlock) outputs(tx int, fn func(uint32, int64, []byte)) {
	for i, out := range b.msg.Transactions[tx].TxOut {
		fn(uint32(i), out.Value, out.PkScript)
	}
}

// visited is everything a block body shows.
type visited struct {
	hash, prev ferry.Hash
	time       time.Time
	mweb       bool
	kinds      []TxKind
	txids      []ferry.Hash
	inputs     [][]ferry.OutPoint
	outputs    [][]Output
}

func visit(b blockBody) visited {
	v := visited{hash: b.hash(), prev: b.prev(), time: b.timestamp(), mweb: b.hasMWEB()}
	for tx := range b.numTx() {
		v.kinds = append(v.kinds, b.kind(tx))
		v.txids = append(v.txids, b.txid(tx))
		var ins []ferry.OutPoint
		b.inputs(tx, func(op ferry.OutPoint) { ins = append(ins, op) })
		var outs []Output
		b.outputs(tx, func(vout uint32, value int64, script []byte) {
			if int(vout) != len(outs) {
				panic("outputs out of order")
			}
			outs = append(outs, Output{Value: value, Script: slices.Clone(script)})
		})
		v.inputs, v.outputs = append(v.inputs, ins), append(v.outputs, outs)
	}
	return v
}

func (v visited) equal(w visited) bool {
	if v.hash != w.hash || v.prev != w.prev || !v.time.Equal(w.time) || v.mweb != w.mweb ||
		!slices.Equal(v.kinds, w.kinds) || !slices.Equal(v.txids, w.txids) || len(v.inputs) != len(w.inputs) {
		return false
	}
	for i := range v.inputs {
		if !slices.Equal(v.inputs[i], w.inputs[i]) || !slices.EqualFunc(v.outputs[i], w.outputs[i], func(a, b Output) bool {
			return a.Value == b.Value && bytes.Equal(a.Script, b.Script)
		}) {
			return false
		}
	}
	return true
}

// checkAgainstWire decodes raw with the raw reader and with the coin's
// wire package: both refuse it, or both show the same block.
func checkAgainstWire(t *testing.T, raw []byte, litecoin bool) {
	t.Helper()
	got, err := readRawBlock(raw, rawDialect{litecoin: litecoin})
	var want blockBody
	var wantErr error
	if litecoin {
		want, wantErr = decodeLtcBlock(raw)
	} else {
		want, wantErr = decodeBtcWire(raw)
	}
	if errors.Is(err, errMWEBTx) {
		return // left to the wire package
	}
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("litecoin=%v: raw reader says %v, the wire package %v", litecoin, err, wantErr)
	}
	if err != nil {
		return
	}
	if g, w := visit(got), visit(want); !g.equal(w) {
		t.Fatalf("litecoin=%v: raw reader shows\n%+v\nthe wire package\n%+v", litecoin, g, w)
	}
}

// testBlock serializes a block of n transactions of random shapes: with
// and without witnesses, several inputs and outputs of every script type.
func testBlock(tb testing.TB, n int, seed uint64, litecoin bool) []byte {
	tb.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	rnd := func(k int) []byte {
		b := make([]byte, k)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	scripts := []func() []byte{
		func() []byte { return append([]byte{0x00, 0x14}, rnd(20)...) },
		func() []byte { return append(append([]byte{0x76, 0xa9, 0x14}, rnd(20)...), 0x88, 0xac) },
		func() []byte { return append([]byte{0x51, 0x20}, rnd(32)...) },
		func() []byte { return rnd(rng.IntN(300)) },
	}
	type in struct {
		hash    [32]byte
		index   uint32
		sig     []byte
		witness [][]byte
	}
	type tx struct {
		ins  []in
		outs []Output
		lock uint32
	}
	var txs []tx
	for i := range n {
		t := tx{lock: rng.Uint32()}
		nin := 1 + rng.IntN(3)
		if i == 0 {
			nin = 1
		}
		witness := i > 0 && rng.IntN(3) > 0
		for range nin {
			x := in{index: rng.Uint32(), sig: rnd(rng.IntN(120))}
			copy(x.hash[:], rnd(32))
			if witness {
				x.witness = [][]byte{rnd(72), rnd(33)}
			}
			t.ins = append(t.ins, x)
		}
		for range 1 + rng.IntN(40)*rng.IntN(2) + rng.IntN(3) {
			t.outs = append(t.outs, Output{Value: int64(rng.Uint64() >> 1), Script: scripts[rng.IntN(len(scripts))]()})
		}
		txs = append(txs, t)
	}
	var buf bytes.Buffer
	if litecoin {
		blk := wire.NewMsgBlock(wire.NewBlockHeader(0x20000000, &chainhash.Hash{1}, &chainhash.Hash{2}, 0x207fffff, rng.Uint32()))
		blk.Header.Timestamp = time.Unix(int64(rng.Uint32()), 0)
		for _, t := range txs {
			m := wire.NewMsgTx(2)
			m.LockTime = t.lock
			for _, x := range t.ins {
				m.AddTxIn(&wire.TxIn{PreviousOutPoint: wire.OutPoint{Hash: x.hash, Index: x.index}, SignatureScript: x.sig, Witness: x.witness, Sequence: rng.Uint32()})
			}
			for _, o := range t.outs {
				m.AddTxOut(wire.NewTxOut(o.Value, o.Script))
			}
			blk.AddTransaction(m)
		}
		if err := blk.Serialize(&buf); err != nil {
			tb.Fatal(err)
		}
		return buf.Bytes()
	}
	blk := btcwire.NewMsgBlock(btcwire.NewBlockHeader(0x20000000, &btcchainhash.Hash{1}, &btcchainhash.Hash{2}, 0x207fffff, rng.Uint32()))
	blk.Header.Timestamp = time.Unix(int64(rng.Uint32()), 0)
	for _, t := range txs {
		m := btcwire.NewMsgTx(2)
		m.LockTime = t.lock
		for _, x := range t.ins {
			m.AddTxIn(&btcwire.TxIn{PreviousOutPoint: btcwire.OutPoint{Hash: x.hash, Index: x.index}, SignatureScript: x.sig, Witness: x.witness, Sequence: rng.Uint32()})
		}
		for _, o := range t.outs {
			m.AddTxOut(btcwire.NewTxOut(o.Value, o.Script))
		}
		blk.AddTransaction(m)
	}
	if err := blk.Serialize(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func readTestBlock(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := hex.DecodeString(string(bytes.TrimSpace(b)))
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

// testBlocks are the blocks the raw reader is checked on: litecoind's
// (before MWEB, at its activation with a peg-in, with a peg-out) and
// made-up ones of both coins.
func testBlocks(tb testing.TB) (ltc, btc [][]byte) {
	for _, name := range []string{"ltc-regtest-432.hex", "ltc-regtest-pegout.hex", "ltc-regtest-300.hex"} {
		ltc = append(ltc, readTestBlock(tb, name))
	}
	for i := range 6 {
		ltc = append(ltc, testBlock(tb, 1+i*3, uint64(i), true))
		btc = append(btc, testBlock(tb, 1+i*3, uint64(i), false))
	}
	return ltc, btc
}

// TestRawBlockMatchesWire holds the raw reader to the wire packages on
// whole blocks and on every way of cutting or damaging them a byte at a
// time (at a stride, to stay quick).
func TestRawBlockMatchesWire(t *testing.T) {
	ltc, btc := testBlocks(t)
	for coin, blocks := range map[bool][][]byte{true: ltc, false: btc} {
		for _, raw := range blocks {
			checkAgainstWire(t, raw, coin)
			for i := 0; i < len(raw); i += 1 + len(raw)/100 {
				checkAgainstWire(t, raw[:i], coin)
				damaged := slices.Clone(raw)
				damaged[i] ^= 0xff
				checkAgainstWire(t, damaged, coin)
				damaged[i] = 0
				checkAgainstWire(t, damaged, coin)
			}
			checkAgainstWire(t, append(slices.Clone(raw), 0), coin)
		}
	}
}

func FuzzDecodeBlock(f *testing.F) {
	ltc, btc := testBlocks(f)
	for _, raw := range append(ltc, btc...) {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkAgainstWire(t, raw, true)
		checkAgainstWire(t, raw, false)
	})
}

// BenchmarkDecodeBlock reads a block of 2,500 transactions
// with the raw reader and with ltcd's wire package, and visits every
// output of it, as a scan does.
func BenchmarkDecodeBlock(b *testing.B) {
	raw := testBlock(b, 2500, 1, true)
	for _, c := range []struct {
		name   string
		decode func([]byte) (blockBody, error)
	}{
		{"wire", decodeLtcBlock},
		{"raw", func(raw []byte) (blockBody, error) { return readRawBlock(raw, rawDialect{litecoin: true}) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for range b.N {
				blk, err := c.decode(raw)
				if err != nil {
					b.Fatal(err)
				}
				for tx := range blk.numTx() {
					blk.inputs(tx, func(ferry.OutPoint) {})
					blk.outputs(tx, func(uint32, int64, []byte) {})
				}
			}
		})
	}
}
