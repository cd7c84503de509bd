package chain

import (
	"time"

	"github.com/ferry-relay/ferry"
)

// TxKind tells the transactions of a block apart where it matters for
// spending their outputs.
type TxKind uint8

// The kinds of transaction in a block.
const (
	// Regular is any transaction but the two below.
	Regular TxKind = iota
	// Coinbase is a block's first transaction; its outputs mature after
	// CoinbaseMaturity confirmations.
	Coinbase
	// HogEx is a Litecoin block's last transaction, the MWEB integrating
	// transaction; its outputs beyond the first are MWEB peg-outs.
	HogEx
)

// String returns "regular", "coinbase" or "hogex".
func (k TxKind) String() string {
	switch k {
	case Coinbase:
		return "coinbase"
	case HogEx:
		return "hogex"
	}
	return "regular"
}

// Block is a decoded block. Its visitors walk the transactions in block
// order without copying them; transaction ids are computed only on demand,
// since hashing every transaction would cost more than the scan itself.
// A Block is not safe for concurrent use.
type Block struct {
	coin *Coin
	body blockBody
}

// blockBody is a block decoded by a coin's own library.
type blockBody interface {
	hash() ferry.Hash
	prev() ferry.Hash
	timestamp() time.Time
	numTx() int
	kind(tx int) TxKind
	txid(tx int) ferry.Hash
	// inputs calls fn with the outpoint each input of tx spends; the
	// coinbase's null input is skipped.
	inputs(tx int, fn func(prev ferry.OutPoint))
	// outputs calls fn for each output of tx.
	outputs(tx int, fn func(vout uint32, value int64, script []byte))
	hasMWEB() bool
}

// Hash returns the block's hash.
func (b *Block) Hash() ferry.Hash { return b.body.hash() }

// Prev returns the hash of the block's parent.
func (b *Block) Prev() ferry.Hash { return b.body.prev() }

// Time returns the block's header timestamp.
func (b *Block) Time() time.Time { return b.body.timestamp() }

// NumTx returns the number of transactions in the block, the HogEx included
// and the MWEB body's transactions excluded.
func (b *Block) NumTx() int { return b.body.numTx() }

// Kind returns the kind of the block's tx'th transaction.
func (b *Block) Kind(tx int) TxKind { return b.body.kind(tx) }

// TxID returns the id of the block's tx'th transaction. It hashes the
// transaction on every call.
func (b *Block) TxID(tx int) ferry.Hash { return b.body.txid(tx) }

// Inputs calls fn with the outpoint spent by each input of the block's tx'th
// transaction. A coinbase has none.
func (b *Block) Inputs(tx int, fn func(prev ferry.OutPoint)) { b.body.inputs(tx, fn) }

// Outputs calls fn for each output of the block's tx'th transaction. script
// aliases the block's memory: copy it to keep it.
func (b *Block) Outputs(tx int, fn func(vout uint32, value int64, script []byte)) {
	b.body.outputs(tx, fn)
}

// HasMWEB reports whether the block carries an MWEB body.
func (b *Block) HasMWEB() bool { return b.body.hasMWEB() }

// Tx is a decoded transaction, for callers that look at single transactions
// (the mempool, or a forward read back from the node).
type Tx struct {
	ID      ferry.Hash
	Inputs  []ferry.OutPoint
	Outputs []Output
}
