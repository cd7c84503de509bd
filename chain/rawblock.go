package chain

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/ferry-relay/ferry"
)

// rawBlock is a block read in place: decoding finds where each
// transaction and each of its parts lie, checking the layout as the coin's
// wire package would, and the visitors read inputs and outputs from the
// bytes when asked. Nothing is copied or allocated per transaction, which
// makes the scan of a block several times cheaper than its full decode.
type rawBlock struct {
	raw    []byte
	hashed ferry.Hash
	txs    []rawTx
	mweb   bool
}

// rawTx locates one transaction in its block: the parts its id hashes
// are raw[start:start+4] (the version), raw[ins:wit] (its inputs and
// outputs) and raw[lock:lock+4] (the lock time).
type rawTx struct {
	start, ins, outs, wit, lock int
	hogex                       bool
}

// Limits of the wire packages (ltcd's and btcd's agree), so that a block
// is refused here when they would refuse it.
const (
	maxMessagePayload  = 32 << 20
	maxTxPerBlock      = 4_000_000/10 + 1
	maxTxInPerMessage  = maxMessagePayload/(9+32) + 1
	maxTxOutPerMessage = maxMessagePayload/9 + 1
	maxWitnessItems    = 4_000_000
	maxWitnessItemSize = 4_000_000
)

// The layout of blocks and transactions.
const (
	blockHeaderLen = 80
	versionLen     = 4
	outPointLen    = 36
	sequenceLen    = 4
	valueLen       = 8
	lockTimeLen    = 4
	witnessFlag    = 0x01
	// Litecoin: the transaction flag of an MWEB part, the block version
	// bit of blocks that may carry an MWEB body after their HogEx, and
	// the byte before the body that says it is there.
	mwebFlag        = 0x08
	mwebVersionBit  = 0x20000000
	mwebBodyFollows = 1
)

// errMWEBTx reports a canonical transaction that carries an MWEB
// transaction of its own, which the raw reader leaves to the wire package.
var errMWEBTx = errors.New("transaction carries an MWEB body")

// rawDialect is what differs between the coins' block layouts.
type rawDialect struct {
	// litecoin: the MWEB flag, the HogEx and the MWEB block body; no
	// check that a witness-flagged transaction has a witness (ltcd makes
	// none), and input and output scripts bounded by the message size.
	litecoin bool
}

// reader reads a block's bytes.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.off = len(r.b)
}

func (r *reader) skip(n uint64) {
	if r.err != nil {
		return
	}
	if n > uint64(len(r.b)-r.off) {
		r.fail(errShort)
		return
	}
	r.off += int(n)
}

func (r *reader) byte() byte {
	if r.err != nil || r.off >= len(r.b) {
		r.fail(errShort)
		return 0
	}
	v := r.b[r.off]
	r.off++
	return v
}

// varint reads a canonical compact size, as the wire packages require.
func (r *reader) varint() uint64 {
	d := r.byte()
	var v, floor uint64
	switch d {
	case 0xff:
		v, floor = r.fixed(8), 0x100000000
	case 0xfe:
		v, floor = r.fixed(4), 0x10000
	case 0xfd:
		v, floor = r.fixed(2), 0xfd
	default:
		return uint64(d)
	}
	if r.err == nil && v < floor {
		r.fail(fmt.Errorf("non-canonical varint %x", v))
	}
	return v
}

func (r *reader) fixed(n int) uint64 {
	if r.err != nil || len(r.b)-r.off < n {
		r.fail(errShort)
		return 0
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(r.b[r.off+i])
	}
	r.off += n
	return v
}

// script skips a length-prefixed script of at most limit bytes.
func (r *reader) script(limit uint64) {
	n := r.varint()
	if r.err == nil && n > limit {
		r.fail(fmt.Errorf("script of %d bytes", n))
	}
	r.skip(n)
}

var errShort = errors.New("unexpected end of block")

// readRawBlock locates the transactions of raw, checking them as the
// wire package of the coin would. It returns errMWEBTx for a Litecoin
// block with an MWEB transaction among its canonical ones.
func readRawBlock(raw []byte, d rawDialect) (*rawBlock, error) {
	if len(raw) < blockHeaderLen {
		return nil, errShort
	}
	b := &rawBlock{raw: raw, hashed: doubleSHA256(raw[:blockHeaderLen])}
	r := &reader{b: raw, off: blockHeaderLen}
	n := r.varint()
	if r.err == nil && n > maxTxPerBlock {
		return nil, fmt.Errorf("%d transactions", n)
	}
	if r.err != nil {
		return nil, r.err
	}
	b.txs = make([]rawTx, 0, min(n, uint64(len(raw))/10))
	for i := uint64(0); i < n; i++ {
		tx, err := readRawTx(r, d)
		if err != nil {
			return nil, fmt.Errorf("transaction %d: %w", i, err)
		}
		if tx.hogex && i != n-1 {
			return nil, errors.New("HogEx must be the last transaction")
		}
		b.txs = append(b.txs, tx)
	}
	version := binary.LittleEndian.Uint32(raw)
	if d.litecoin && version&mwebVersionBit != 0 && n > 0 && b.txs[n-1].hogex {
		// The MWEB block body: its presence byte, then, if 1, the body,
		// which only the wire package knows how to read.
		tail := raw[r.off:]
		if r.byte() == mwebBodyFollows {
			hogex := b.txs[n-1]
			if err := checkMWEBTail(raw[:blockHeaderLen], raw[hogex.start:hogex.lock+lockTimeLen], tail); err != nil {
				return nil, err
			}
			b.mweb = true
			r.off = len(raw)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	if r.off != len(raw) {
		return nil, fmt.Errorf("%d trailing bytes", len(raw)-r.off)
	}
	return b, nil
}

// readRawTx reads the transaction at r's offset.
func readRawTx(r *reader, d rawDialect) (rawTx, error) {
	tx := rawTx{start: r.off}
	r.skip(versionLen)
	tx.ins = r.off
	n := r.varint()
	var witness, mweb bool
	if r.err == nil && n == 0 {
		// The marker: a flag follows, then the input count.
		flag := r.byte()
		if d.litecoin {
			witness, mweb = flag&witnessFlag != 0, flag&mwebFlag != 0
			if flag&^(witnessFlag|mwebFlag) != 0 {
				r.fail(fmt.Errorf("unknown flag %x", flag))
			}
		} else if witness = flag == witnessFlag; !witness {
			r.fail(fmt.Errorf("witness flag %x", flag))
		}
		tx.ins = r.off
		n = r.varint()
	}
	if r.err == nil && n > maxTxInPerMessage {
		r.fail(fmt.Errorf("%d inputs", n))
	}
	scriptLimit := uint64(maxWitnessItemSize)
	if d.litecoin {
		scriptLimit = maxMessagePayload
	}
	inputs := n
	for i := uint64(0); i < n && r.err == nil; i++ {
		r.skip(outPointLen)
		r.script(scriptLimit)
		r.skip(sequenceLen)
	}
	tx.outs = r.off
	n = r.varint()
	if r.err == nil && n > maxTxOutPerMessage {
		r.fail(fmt.Errorf("%d outputs", n))
	}
	outputs := n
	for i := uint64(0); i < n && r.err == nil; i++ {
		r.skip(valueLen)
		r.script(scriptLimit)
	}
	tx.wit = r.off
	if witness {
		any := false
		for i := uint64(0); i < inputs && r.err == nil; i++ {
			items := r.varint()
			if r.err == nil && items > maxWitnessItems {
				r.fail(fmt.Errorf("%d witness items", items))
			}
			any = any || items > 0
			for j := uint64(0); j < items && r.err == nil; j++ {
				r.script(maxWitnessItemSize)
			}
		}
		if r.err == nil && !d.litecoin && !any {
			r.fail(errors.New("witness flag without a witness"))
		}
	}
	if mweb && r.err == nil {
		if r.byte() != 0 {
			return tx, errMWEBTx
		}
		tx.hogex = true
		if r.err == nil && outputs == 0 {
			r.fail(errors.New("HogEx without outputs"))
		}
	}
	tx.lock = r.off
	r.skip(lockTimeLen)
	return tx, r.err
}

func doubleSHA256(b []byte) ferry.Hash {
	h := sha256.Sum256(b)
	return ferry.Hash(sha256.Sum256(h[:]))
}

func (b *rawBlock) hash() ferry.Hash { return b.hashed }
func (b *rawBlock) prev() ferry.Hash { return ferry.Hash(b.raw[4:36]) }
func (b *rawBlock) timestamp() time.Time {
	return time.Unix(int64(binary.LittleEndian.Uint32(b.raw[68:72])), 0)
}
func (b *rawBlock) numTx() int    { return len(b.txs) }
func (b *rawBlock) hasMWEB() bool { return b.mweb }

func (b *rawBlock) kind(tx int) TxKind {
	switch {
	case tx == 0:
		return Coinbase
	case b.txs[tx].hogex:
		return HogEx
	}
	return Regular
}

// txid hashes the transaction without its marker, flag, witnesses and
// HogEx byte: its version, inputs, outputs and lock time, as they lie.
func (b *rawBlock) txid(tx int) ferry.Hash {
	t := b.txs[tx]
	h := sha256.New()
	h.Write(b.raw[t.start : t.start+versionLen])
	h.Write(b.raw[t.ins:t.wit])
	h.Write(b.raw[t.lock : t.lock+lockTimeLen])
	var first [sha256.Size]byte
	return ferry.Hash(sha256.Sum256(h.Sum(first[:0])))
}

func (b *rawBlock) inputs(tx int, fn func(ferry.OutPoint)) {
	if tx == 0 {
		return
	}
	t := b.txs[tx]
	r := reader{b: b.raw[:t.outs], off: t.ins}
	n := r.varint()
	for i := uint64(0); i < n && r.err == nil; i++ {
		var op ferry.OutPoint
		copy(op.Hash[:], b.raw[r.off:r.off+32])
		op.Index = binary.LittleEndian.Uint32(b.raw[r.off+32:])
		r.skip(outPointLen)
		r.skip(r.varint())
		r.skip(sequenceLen)
		fn(op)
	}
}

func (b *rawBlock) outputs(tx int, fn func(uint32, int64, []byte)) {
	t := b.txs[tx]
	r := reader{b: b.raw[:t.wit], off: t.outs}
	n := r.varint()
	for i := uint64(0); i < n && r.err == nil; i++ {
		value := int64(binary.LittleEndian.Uint64(b.raw[r.off:]))
		r.skip(valueLen)
		l := r.varint()
		start := r.off
		r.skip(l)
		fn(uint32(i), value, b.raw[start:r.off:r.off])
	}
}
