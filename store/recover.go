package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/syndtr/goleveldb/leveldb"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
)

// Tables of a recovery from the chain (ferry recover): its state, the
// outputs it found paying the seed's addresses, the hashes of the blocks
// its main pass recorded, its sweeps and the sweep of each output.
const (
	tRecovery  = 'r'
	tRecovered = 'R'
	tRecHash   = 'H'
	tSweep     = 's'
	tSweepOf   = 'S'
)

// RecoveryState is where a coin's recovery from the chain stands. The
// recovery scans blocks From up in a main pass; when an address found lies
// so far along the derivation path that the window must grow, the blocks
// already scanned are scanned again for the new addresses (the catch-up)
// before the main pass goes on.
type RecoveryState struct {
	// From is the first height scanned.
	From int64
	// Window is how many derivation indexes are looked for: 0 to
	// Window-1.
	Window uint32
	// Cursor is the last block of the main pass recorded.
	Cursor Cursor
	// CatchUpTo is the last height a catch-up scans again, or -1 when
	// none is under way; CatchUpAt is the last height it has scanned.
	CatchUpTo, CatchUpAt int64
	// MergeAt is the height as of which the rebuilt store's history was
	// written, where its scan cursor was set, or -1 before that.
	MergeAt int64
}

func (s *RecoveryState) encode() []byte {
	e := newEnc(96)
	e.i64(s.From)
	e.u32(s.Window)
	e.i64(s.Cursor.Height)
	e.hash(s.Cursor.Hash)
	e.i64(s.CatchUpTo)
	e.i64(s.CatchUpAt)
	e.i64(s.MergeAt)
	return e.b
}

func decodeRecoveryState(coin string, b []byte) (*RecoveryState, error) {
	d := newDec(b)
	s := &RecoveryState{From: d.i64(), Window: d.u32()}
	s.Cursor.Height = d.i64()
	s.Cursor.Hash = d.hash()
	s.CatchUpTo, s.CatchUpAt, s.MergeAt = d.i64(), d.i64(), d.i64()
	if err := d.done(); err != nil {
		return nil, fmt.Errorf("recovery state %s: %w", coin, err)
	}
	return s, nil
}

// RecoveredOutput is an output the chain shows paying one of the seed's
// input addresses, as a recovery found it: the deposit (its fields up to
// SpentHeight, and Time), and the shape of what spent it.
type RecoveredOutput struct {
	ferry.Deposit
	// SpendInputs counts the spending transaction's inputs, and
	// SpendOutputs lists its outputs when it has one input only: the shape
	// of ferry's forwards, which tell the address's destination.
	SpendInputs  int64
	SpendOutputs []chain.Output
}

func (o *RecoveredOutput) encode() []byte {
	e := newEnc(160)
	e.u32(o.AddrIndex)
	e.i64(int64(o.Value))
	e.i64(o.Height)
	e.hash(o.BlockHash)
	e.time(o.Time)
	e.i64(o.Maturity)
	e.hash(o.SpentBy)
	e.i64(o.SpentHeight)
	e.i64(o.SpendInputs)
	e.uvar(uint64(len(o.SpendOutputs)))
	for _, out := range o.SpendOutputs {
		e.i64(out.Value)
		e.bytes(out.Script)
	}
	return e.b
}

func decodeRecoveredOutput(coin string, op ferry.OutPoint, b []byte) (*RecoveredOutput, error) {
	d := newDec(b)
	o := &RecoveredOutput{Deposit: ferry.Deposit{Coin: ferry.Coin(coin), OutPoint: op}}
	o.AddrIndex = d.u32()
	o.Value = ferry.Amount(d.i64())
	o.Height = d.i64()
	o.BlockHash = d.hash()
	o.Time = d.time()
	o.Maturity = d.i64()
	o.SpentBy = d.hash()
	o.SpentHeight = d.i64()
	o.SpendInputs = d.i64()
	n := d.uvar()
	if n > uint64(len(b)) {
		return nil, fmt.Errorf("recovered output %s: %w", coin, ErrCorrupt)
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		o.SpendOutputs = append(o.SpendOutputs, chain.Output{Value: d.i64(), Script: d.bytes()})
	}
	if err := d.done(); err != nil {
		return nil, fmt.Errorf("recovered output %s: %w", coin, err)
	}
	return o, nil
}

// RecoveredSpend is a transaction spending a recovered output.
type RecoveredSpend struct {
	OutPoint ferry.OutPoint
	TxID     ferry.Hash
	Height   int64
	// Inputs counts the transaction's inputs; Outputs lists its outputs
	// when it has one input.
	Inputs  int64
	Outputs []chain.Output
}

// RecoveredBlock is what a recovery found in one block: outputs paying the
// seed's addresses, spends of outputs found before, and the state the
// recovery is in once the block is recorded.
type RecoveredBlock struct {
	Coin   string
	Height int64
	Hash   ferry.Hash
	// Main marks a block of the main pass, whose hash is kept to find a
	// reorg; a catch-up rescans blocks already kept.
	Main    bool
	Outputs []RecoveredOutput
	Spends  []RecoveredSpend
	State   RecoveryState
}

// RecoveryState returns coin's recovery state, or ErrNotFound if no
// recovery has started.
func (db *DB) RecoveryState(coin string) (*RecoveryState, error) {
	v, err := db.get(key(tRecovery, coin))
	if err != nil {
		return nil, fmt.Errorf("recovery state %s: %w", coin, err)
	}
	return decodeRecoveryState(coin, v)
}

// SaveRecoveryState records coin's recovery state, synced.
func (db *DB) SaveRecoveryState(coin string, s *RecoveryState) error {
	if err := db.ldb.Put(key(tRecovery, coin), s.encode(), syncWrite); err != nil {
		return fmt.Errorf("save recovery state %s: %w", coin, err)
	}
	return nil
}

// ResetRecovery starts coin's recovery over at s: what an earlier one
// found is forgotten (its sweeps are kept), in one synced batch.
func (db *DB) ResetRecovery(coin string, s *RecoveryState) error {
	b := new(leveldb.Batch)
	for _, t := range []byte{tRecovered, tRecHash} {
		it := db.ldb.NewIterator(prefix(t, coin), nil)
		for it.Next() {
			b.Delete(append([]byte(nil), it.Key()...))
		}
		it.Release()
		if err := it.Error(); err != nil {
			return fmt.Errorf("reset recovery %s: %w", coin, err)
		}
	}
	b.Put(key(tRecovery, coin), s.encode())
	if err := db.ldb.Write(b, syncWrite); err != nil {
		return fmt.Errorf("reset recovery %s: %w", coin, err)
	}
	return nil
}

// ApplyRecovered records what a recovery found in one block with the
// recovery's new state, in one synced batch. It is idempotent: an output
// already recorded keeps its record, and a spend of an output not recorded
// is ignored, so that a block scanned again changes nothing.
func (db *DB) ApplyRecovered(rb *RecoveredBlock) error {
	b := new(leveldb.Batch)
	staged := map[ferry.OutPoint]*RecoveredOutput{}
	load := func(op ferry.OutPoint) (*RecoveredOutput, error) {
		if o, ok := staged[op]; ok {
			return o, nil
		}
		v, err := db.get(key(tRecovered, rb.Coin, opKey(op)))
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return decodeRecoveredOutput(rb.Coin, op, v)
	}
	for i := range rb.Outputs {
		o := rb.Outputs[i]
		old, err := load(o.OutPoint)
		if err != nil {
			return fmt.Errorf("apply recovered %s block %d: %w", rb.Coin, rb.Height, err)
		}
		if old == nil {
			o.Coin = ferry.Coin(rb.Coin)
			staged[o.OutPoint] = &o
		}
	}
	for _, s := range rb.Spends {
		o, err := load(s.OutPoint)
		if err != nil {
			return fmt.Errorf("apply recovered %s block %d: %w", rb.Coin, rb.Height, err)
		}
		if o == nil {
			continue
		}
		o.SpentBy, o.SpentHeight, o.SpendInputs, o.SpendOutputs = s.TxID, s.Height, s.Inputs, s.Outputs
		staged[s.OutPoint] = o
	}
	for op, o := range staged {
		b.Put(key(tRecovered, rb.Coin, opKey(op)), o.encode())
	}
	if rb.Main {
		b.Put(key(tRecHash, rb.Coin, u64(uint64(rb.Height))), rb.Hash[:])
		if old := rb.Height - db.undoDepth; old >= 0 {
			b.Delete(key(tRecHash, rb.Coin, u64(uint64(old))))
		}
	}
	b.Put(key(tRecovery, rb.Coin), rb.State.encode())
	if err := db.ldb.Write(b, syncWrite); err != nil {
		return fmt.Errorf("apply recovered %s block %d: %w", rb.Coin, rb.Height, err)
	}
	return nil
}

// RecoveryHash returns the hash of the block at height as coin's recovery
// recorded it, or ErrNotFound if it is not among the last DefaultUndoDepth
// blocks of its main pass.
func (db *DB) RecoveryHash(coin string, height int64) (ferry.Hash, error) {
	var h ferry.Hash
	v, err := db.get(key(tRecHash, coin, u64(uint64(height))))
	if err != nil {
		return h, fmt.Errorf("recovery block %s/%d: %w", coin, height, err)
	}
	if len(v) != 32 {
		return h, fmt.Errorf("recovery block %s/%d: %w", coin, height, ErrCorrupt)
	}
	copy(h[:], v)
	return h, nil
}

// RewindRecovery takes coin's recovery back to fork, a block of its main
// pass, after a reorg: outputs found above it are forgotten, and so are
// spends found above it, in one synced batch with s, the new state.
func (db *DB) RewindRecovery(coin string, s *RecoveryState) error {
	fork := s.Cursor.Height
	outs, err := db.RecoveredOutputs(coin)
	if err != nil {
		return err
	}
	b := new(leveldb.Batch)
	for _, o := range outs {
		k := key(tRecovered, coin, opKey(o.OutPoint))
		switch {
		case o.Height > fork:
			b.Delete(k)
		case o.SpentHeight > fork:
			o.SpentBy, o.SpentHeight, o.SpendInputs, o.SpendOutputs = ferry.Hash{}, 0, 0, nil
			b.Put(k, o.encode())
		}
	}
	it := db.ldb.NewIterator(prefix(tRecHash, coin), nil)
	n := len(key(tRecHash, coin))
	for it.Next() {
		if k := it.Key(); len(k) == n+8 && int64(binary.BigEndian.Uint64(k[n:])) > fork {
			b.Delete(append([]byte(nil), k...))
		}
	}
	it.Release()
	if err := it.Error(); err != nil {
		return fmt.Errorf("rewind recovery %s: %w", coin, err)
	}
	b.Put(key(tRecovery, coin), s.encode())
	if err := db.ldb.Write(b, syncWrite); err != nil {
		return fmt.Errorf("rewind recovery %s: %w", coin, err)
	}
	return nil
}

// RecoveredOutputs returns every output coin's recovery has found, in
// outpoint order.
func (db *DB) RecoveredOutputs(coin string) ([]*RecoveredOutput, error) {
	it := db.ldb.NewIterator(prefix(tRecovered, coin), nil)
	defer it.Release()
	n := len(key(tRecovered, coin))
	var outs []*RecoveredOutput
	for it.Next() {
		k := it.Key()
		if len(k) != n+36 {
			return nil, fmt.Errorf("recovered outputs %s: %w", coin, ErrCorrupt)
		}
		o, err := decodeRecoveredOutput(coin, decodeOpKey(k[n:]), it.Value())
		if err != nil {
			return nil, err
		}
		outs = append(outs, o)
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("recovered outputs %s: %w", coin, err)
	}
	return outs, nil
}
