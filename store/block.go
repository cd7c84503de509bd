package store

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/syndtr/goleveldb/leveldb"
)

// Errors of the block methods.
var (
	// ErrCursorMismatch reports a block that does not extend the scan
	// cursor: the caller's view of the chain is stale.
	ErrCursorMismatch = errors.New("block does not extend the scan cursor")
	// ErrNoUndo reports a rollback past the recorded blocks: a reorg deeper
	// than the store's undo depth.
	ErrNoUndo = errors.New("no undo record for the cursor block")
)

// Cursor is the last block of a coin's chain whose changes are recorded.
type Cursor struct {
	Height int64
	Hash   ferry.Hash
}

// BlockRef places a block in its chain: its height, hash and parent.
type BlockRef struct {
	Height     int64
	Hash, Prev ferry.Hash
}

// A deposit's record (table d) is the ferry.Deposit fields up to
// SpentHeight, and Time: what a block tells of it. Its state is worked out
// by its readers.

func encodeDeposit(d *ferry.Deposit) []byte {
	e := newEnc(120)
	e.u32(d.AddrIndex)
	e.i64(int64(d.Value))
	e.i64(d.Height)
	e.hash(d.BlockHash)
	e.i64(d.Maturity)
	e.hash(d.SpentBy)
	e.i64(d.SpentHeight)
	e.time(d.Time)
	return e.b
}

func decodeDeposit(coin string, op ferry.OutPoint, b []byte) (*ferry.Deposit, error) {
	d := newDec(b)
	dep := &ferry.Deposit{Coin: ferry.Coin(coin), OutPoint: op}
	dep.AddrIndex = d.u32()
	dep.Value = ferry.Amount(d.i64())
	dep.Height = d.i64()
	dep.BlockHash = d.hash()
	dep.Maturity = d.i64()
	dep.SpentBy = d.hash()
	dep.SpentHeight = d.i64()
	if d.more() {
		dep.Time = d.time()
	}
	if err := d.done(); err != nil {
		return nil, fmt.Errorf("deposit %s: %w", coin, err)
	}
	return dep, nil
}

// Spend is a recorded deposit spent by a transaction in a block.
type Spend struct {
	OutPoint ferry.OutPoint
	TxID     ferry.Hash
}

// Changes is everything one block changes in the store: the deposits it
// pays, the deposits it spends, and the addresses that expire with it. Apply
// records them atomically with the cursor.
type Changes struct {
	Coin     string
	Height   int64
	Hash     ferry.Hash
	Prev     ferry.Hash
	Time     time.Time
	Deposits []ferry.Deposit
	Spends   []Spend
	// Now is when the block is applied: the new LastActivity of every
	// address the block pays.
	Now time.Time
	// Expire lists the indexes of addresses that leave the watched set
	// with this block. An address the block pays does not expire.
	Expire []uint32
}

// Cursor returns coin's scan cursor, or ErrNotFound before Start.
func (db *DB) Cursor(coin string) (Cursor, error) {
	v, err := db.get(key(tCursor, coin))
	if err != nil {
		return Cursor{}, fmt.Errorf("cursor %s: %w", coin, err)
	}
	if len(v) != 40 {
		return Cursor{}, fmt.Errorf("cursor %s: %w", coin, ErrCorrupt)
	}
	c := Cursor{Height: int64(binary.BigEndian.Uint64(v))}
	copy(c.Hash[:], v[8:])
	return c, nil
}

func encodeCursor(height int64, hash ferry.Hash) []byte {
	return append(u64(uint64(height)), hash[:]...)
}

// Start sets coin's cursor for the first time at the last of blocks, a run
// of consecutive blocks of the node's chain ending where the scan starts.
// Each is recorded with an empty undo log, as if scanned with nothing found
// (nothing can pay an address not yet handed out), so that a reorg right
// after the first start rolls back through them like through any other
// block. It fails if the coin already has a cursor.
func (db *DB) Start(coin string, blocks []BlockRef) error {
	if len(blocks) == 0 {
		return fmt.Errorf("start %s: no block", coin)
	}
	for i := 1; i < len(blocks); i++ {
		if blocks[i].Height != blocks[i-1].Height+1 || blocks[i].Prev != blocks[i-1].Hash {
			return fmt.Errorf("start %s: blocks %d and %d are not consecutive", coin, blocks[i-1].Height, blocks[i].Height)
		}
	}
	if _, err := db.Cursor(coin); err == nil {
		return fmt.Errorf("start %s: cursor exists", coin)
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	b := new(leveldb.Batch)
	for _, r := range blocks {
		b.Put(key(tBlock, coin, u64(uint64(r.Height))), encodeBlockRecord(r.Hash, r.Prev, time.Time{}, nil))
		b.Put(key(tHead, coin, u64(uint64(r.Height))), encodeBlockRecord(r.Hash, r.Prev, time.Time{}, nil))
	}
	last := blocks[len(blocks)-1]
	b.Put(key(tCursor, coin), encodeCursor(last.Height, last.Hash))
	if err := db.ldb.Write(b, syncWrite); err != nil {
		return fmt.Errorf("start %s: %w", coin, err)
	}
	return nil
}

// Apply records blk's deposits and spends, the block's hash and undo log,
// and moves the cursor to it, in one synced batch: after a crash either
// all of it is on disk or none. blk must extend the cursor
// (ErrCursorMismatch otherwise).
func (db *DB) Apply(blk *Changes) error {
	cur, err := db.Cursor(blk.Coin)
	if err != nil {
		return err
	}
	if cur.Height != blk.Height-1 || cur.Hash != blk.Prev {
		return fmt.Errorf("apply %s block %d: %w", blk.Coin, blk.Height, ErrCursorMismatch)
	}

	tx := db.newUndoTx()
	paid := map[uint32]bool{}
	for i := range blk.Deposits {
		d := &blk.Deposits[i]
		d.Coin = ferry.Coin(blk.Coin)
		if d.Time.IsZero() {
			d.Time = blk.Time
		}
		opk := opKey(d.OutPoint)
		tx.put(key(tDeposit, blk.Coin, opk), encodeDeposit(d))
		tx.put(key(tOpen, blk.Coin, opk), nil)
		tx.put(key(tByAddr, blk.Coin, u32(d.AddrIndex), opk), nil)
		if !paid[d.AddrIndex] {
			paid[d.AddrIndex] = true
			if err := tx.touch(blk.Coin, d.AddrIndex, blk.Now); err != nil {
				return fmt.Errorf("apply %s block %d: %w", blk.Coin, blk.Height, err)
			}
		}
	}
	for _, idx := range blk.Expire {
		if paid[idx] {
			continue
		}
		if err := tx.expire(blk.Coin, idx); err != nil {
			return fmt.Errorf("apply %s block %d: %w", blk.Coin, blk.Height, err)
		}
	}
	for _, s := range blk.Spends {
		opk := opKey(s.OutPoint)
		dk := key(tDeposit, blk.Coin, opk)
		v, ok, err := tx.get(dk)
		if err != nil {
			return fmt.Errorf("apply %s block %d: %w", blk.Coin, blk.Height, err)
		}
		if !ok {
			continue
		}
		d, err := decodeDeposit(blk.Coin, s.OutPoint, v)
		if err != nil {
			return err
		}
		d.SpentBy, d.SpentHeight = s.TxID, blk.Height
		tx.put(dk, encodeDeposit(d))
		tx.del(key(tOpen, blk.Coin, opk))
	}

	if tx.err != nil {
		return fmt.Errorf("apply %s block %d: %w", blk.Coin, blk.Height, tx.err)
	}
	tx.batch.Put(key(tBlock, blk.Coin, u64(uint64(blk.Height))), encodeBlockRecord(blk.Hash, blk.Prev, blk.Time, tx.undo))
	tx.batch.Put(key(tHead, blk.Coin, u64(uint64(blk.Height))), encodeBlockRecord(blk.Hash, blk.Prev, blk.Time, nil))
	if old := blk.Height - db.undoDepth; old >= 0 {
		tx.batch.Delete(key(tBlock, blk.Coin, u64(uint64(old))))
		tx.batch.Delete(key(tHead, blk.Coin, u64(uint64(old))))
	}
	tx.batch.Put(key(tCursor, blk.Coin), encodeCursor(blk.Height, blk.Hash))
	if err := db.ldb.Write(tx.batch, syncWrite); err != nil {
		return fmt.Errorf("apply %s block %d: %w", blk.Coin, blk.Height, err)
	}
	return nil
}

// Undo is what Rollback did.
type Undo struct {
	// Cursor is the new cursor, the parent of the block rolled back.
	Cursor Cursor
	// Rewatched are the witness programs of addresses whose expiry the
	// rollback undid: they are watched again.
	Rewatched [][]byte
}

// Rollback undoes the cursor block of coin, restoring every record it
// changed, and moves the cursor to its parent, in one synced batch. It
// returns ErrNoUndo past the recorded blocks.
func (db *DB) Rollback(coin string) (*Undo, error) {
	cur, err := db.Cursor(coin)
	if err != nil {
		return nil, err
	}
	bk := key(tBlock, coin, u64(uint64(cur.Height)))
	v, err := db.get(bk)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("rollback %s block %d: %w", coin, cur.Height, ErrNoUndo)
	}
	if err != nil {
		return nil, fmt.Errorf("rollback %s block %d: %w", coin, cur.Height, err)
	}
	rec, err := decodeBlockRecord(v)
	if err != nil {
		return nil, fmt.Errorf("rollback %s block %d: %w", coin, cur.Height, err)
	}
	if rec.hash != cur.Hash {
		return nil, fmt.Errorf("rollback %s block %d: %w: record is for another block", coin, cur.Height, ErrCorrupt)
	}

	undo := &Undo{Cursor: Cursor{Height: cur.Height - 1, Hash: rec.prev}}
	watched := key(tWatched, coin)
	b := new(leveldb.Batch)
	for i := len(rec.undo) - 1; i >= 0; i-- {
		u := rec.undo[i]
		if u.present {
			b.Put(u.key, u.value)
			if bytes.HasPrefix(u.key, watched) {
				undo.Rewatched = append(undo.Rewatched, u.key[len(watched):])
			}
		} else {
			b.Delete(u.key)
		}
	}
	b.Delete(bk)
	b.Delete(key(tHead, coin, u64(uint64(cur.Height))))
	b.Put(key(tCursor, coin), encodeCursor(undo.Cursor.Height, undo.Cursor.Hash))
	if err := db.ldb.Write(b, syncWrite); err != nil {
		return nil, fmt.Errorf("rollback %s block %d: %w", coin, cur.Height, err)
	}
	return undo, nil
}

// BlockHash returns the hash recorded for coin's block at height, or
// ErrNotFound if that block is not among the recent ones the store keeps.
func (db *DB) BlockHash(coin string, height int64) (ferry.Hash, error) {
	rec, err := db.blockHead(coin, height)
	if err != nil {
		return ferry.Hash{}, err
	}
	return rec.hash, nil
}

// BlockTime returns the time of coin's block at height, as its header
// gives it, or ErrNotFound if that block is not among the recent ones the
// store keeps.
func (db *DB) BlockTime(coin string, height int64) (time.Time, error) {
	rec, err := db.blockHead(coin, height)
	if err != nil {
		return time.Time{}, err
	}
	return rec.time, nil
}

// blockHead reads the hash, parent and time of coin's block at height
// (no undo log) from its head record, small where the block record holds
// every change of the block: a store written before heads were kept has
// only the block record, which is read whole.
func (db *DB) blockHead(coin string, height int64) (*blockRecord, error) {
	v, err := db.get(key(tHead, coin, u64(uint64(height))))
	if errors.Is(err, ErrNotFound) {
		v, err = db.get(key(tBlock, coin, u64(uint64(height))))
	}
	if err != nil {
		return nil, fmt.Errorf("block %s/%d: %w", coin, height, err)
	}
	d := newDec(v)
	rec := &blockRecord{hash: d.hash(), prev: d.hash(), time: d.time()}
	if d.err != nil {
		return nil, fmt.Errorf("block %s/%d: %w", coin, height, d.err)
	}
	return rec, nil
}

// undoEntry is a key's value before a block changed it.
type undoEntry struct {
	key     []byte
	present bool
	value   []byte
}

type blockRecord struct {
	hash, prev ferry.Hash
	time       time.Time
	undo       []undoEntry
}

func encodeBlockRecord(hash, prev ferry.Hash, t time.Time, undo []undoEntry) []byte {
	e := newEnc(80 + 64*len(undo))
	e.hash(hash)
	e.hash(prev)
	e.time(t)
	e.uvar(uint64(len(undo)))
	for _, u := range undo {
		e.bytes(u.key)
		e.bool(u.present)
		e.bytes(u.value)
	}
	return e.b
}

func decodeBlockRecord(b []byte) (*blockRecord, error) {
	d := newDec(b)
	r := &blockRecord{hash: d.hash(), prev: d.hash(), time: d.time()}
	n := d.uvar()
	if n > uint64(len(b)) {
		return nil, ErrCorrupt
	}
	r.undo = make([]undoEntry, 0, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		r.undo = append(r.undo, undoEntry{key: d.bytes(), present: d.bool(), value: d.bytes()})
	}
	return r, d.done()
}

// undoTx stages a block's writes in a batch and remembers, for every key, the
// value it had before the block first touched it.
type undoTx struct {
	db     *DB
	batch  *leveldb.Batch
	staged map[string]*[]byte // nil pointer: deleted in this block
	undo   []undoEntry
	err    error
}

func (db *DB) newUndoTx() *undoTx {
	return &undoTx{db: db, batch: new(leveldb.Batch), staged: map[string]*[]byte{}}
}

// get reads k as the block has left it so far.
func (t *undoTx) get(k []byte) ([]byte, bool, error) {
	if v, ok := t.staged[string(k)]; ok {
		if v == nil {
			return nil, false, nil
		}
		return *v, true, nil
	}
	v, err := t.db.get(k)
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	return v, err == nil, err
}

// remember logs k's value before the block's first change to it. A read
// error sticks in t.err, and the block is not written.
func (t *undoTx) remember(k []byte) {
	if _, ok := t.staged[string(k)]; ok {
		return
	}
	v, err := t.db.get(k)
	if err != nil && !errors.Is(err, ErrNotFound) {
		t.err = cmp.Or(t.err, err)
	}
	t.undo = append(t.undo, undoEntry{key: k, present: err == nil, value: v})
}

func (t *undoTx) put(k, v []byte) {
	t.remember(k)
	t.staged[string(k)] = &v
	t.batch.Put(k, v)
}

func (t *undoTx) del(k []byte) {
	t.remember(k)
	t.staged[string(k)] = nil
	t.batch.Delete(k)
}

// address reads coin's address at index as the block has left it.
func (t *undoTx) address(coin string, index uint32) (*Address, error) {
	v, ok, err := t.get(key(tAddress, coin, u32(index)))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("address %s/%d: %w", coin, index, ErrNotFound)
	}
	return t.db.decodeAddress(coin, index, v)
}

// touch restarts the idle time of coin's address at index at now (unless
// it is already later: block times may run a little backwards): its record
// and its place in the expiry queue.
func (t *undoTx) touch(coin string, index uint32, now time.Time) error {
	a, err := t.address(coin, index)
	if err != nil || !now.After(a.LastActivity) {
		return err
	}
	t.del(expiryKey(coin, a.LastActivity, index))
	a.LastActivity = now
	t.put(key(tAddress, coin, u32(index)), t.db.encodeAddress(a))
	t.put(expiryKey(coin, now, index), nil)
	return nil
}

// expire takes coin's address at index out of the watched set and the
// expiry queue, into the program table, where it is still found by its
// program.
func (t *undoTx) expire(coin string, index uint32) error {
	a, err := t.address(coin, index)
	if err != nil {
		return err
	}
	t.del(key(tWatched, coin, a.Program[:]))
	t.put(key(tProgram, coin, a.Program[:]), u32(index))
	t.del(expiryKey(coin, a.LastActivity, index))
	return nil
}
