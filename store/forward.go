package store

import (
	"errors"
	"fmt"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/syndtr/goleveldb/leveldb"
)

// Forward is the record of a deposit's forward: the ferry.Forward (its
// transaction and amounts; State is its readers' to work out), the deposit
// it spends, the signed transaction, and its broadcasts. It is recorded
// before its first broadcast and never rebuilt.
type Forward struct {
	ferry.Forward
	Coin     string
	OutPoint ferry.OutPoint // the deposit it spends
	// AddrIndex is the index of the input address the deposit paid.
	AddrIndex uint32
	Raw       []byte
	// Attempts counts broadcasts; LastAttempt and LastError describe the
	// latest; Accepted is set once a node has taken the transaction.
	Attempts    int64
	LastAttempt time.Time
	LastError   string
	Accepted    bool
}

func (f *Forward) encode() []byte {
	e := newEnc(160 + len(f.Raw) + len(f.LastError))
	e.hash(f.TxID)
	e.bytes(f.Raw)
	e.bool(f.Donation)
	e.i64(int64(f.Value))
	e.i64(int64(f.ServiceFee))
	e.i64(int64(f.NetworkFee))
	e.i64(int64(f.Forwarded))
	e.i64(f.FeeRate)
	e.time(f.Created)
	e.i64(f.Attempts)
	e.time(f.LastAttempt)
	e.str(f.LastError)
	e.bool(f.Accepted)
	e.u32(f.AddrIndex)
	e.bool(f.Refund)
	e.str(f.Destination)
	return e.b
}

func decodeForward(coin string, op ferry.OutPoint, b []byte) (*Forward, error) {
	d := newDec(b)
	f := &Forward{Coin: coin, OutPoint: op}
	f.TxID = d.hash()
	f.Raw = d.bytes()
	f.Donation = d.bool()
	f.Value = ferry.Amount(d.i64())
	f.ServiceFee = ferry.Amount(d.i64())
	f.NetworkFee = ferry.Amount(d.i64())
	f.Forwarded = ferry.Amount(d.i64())
	f.FeeRate = d.i64()
	f.Created = d.time()
	f.Attempts = d.i64()
	f.LastAttempt = d.time()
	f.LastError = d.str()
	f.Accepted = d.bool()
	if d.more() {
		f.AddrIndex = d.u32()
	}
	if d.more() {
		f.Refund, f.Destination = d.bool(), d.str()
	}
	if err := d.done(); err != nil {
		return nil, fmt.Errorf("forward %s: %w", coin, err)
	}
	return f, nil
}

// PutForward records f, synced to disk, with its place among its address's
// forwards. Recording a new forward before its first broadcast is what makes
// a crash at any moment safe: after a restart the same transaction is
// broadcast again, never a new one.
func (db *DB) PutForward(f *Forward) error { return db.PutForwards([]*Forward{f}) }

// PutForwards records fs as PutForward does, in one synced write: all of
// them or, after a crash, none.
func (db *DB) PutForwards(fs []*Forward) error {
	if len(fs) == 0 {
		return nil
	}
	b := new(leveldb.Batch)
	for _, f := range fs {
		opk := opKey(f.OutPoint)
		b.Put(key(tForward, f.Coin, opk), f.encode())
		b.Put(key(tFwdByAddr, f.Coin, u32(f.AddrIndex), opk), nil)
	}
	if err := db.ldb.Write(b, syncWrite); err != nil {
		return fmt.Errorf("put %d forwards of %s: %w", len(fs), fs[0].Coin, err)
	}
	return nil
}

// Forward returns the forward of coin's deposit at op, or ErrNotFound.
func (db *DB) Forward(coin string, op ferry.OutPoint) (*Forward, error) {
	v, err := db.get(key(tForward, coin, opKey(op)))
	if err != nil {
		return nil, fmt.Errorf("forward %s: %w", coin, err)
	}
	return decodeForward(coin, op, v)
}

// ForwardsOf returns the forwards signed for deposits to coin's address at
// index, in outpoint order, those whose deposit a reorg took away included.
func (db *DB) ForwardsOf(coin string, index uint32) ([]*Forward, error) {
	ops, err := db.outPointsIn(tFwdByAddr, coin, u32(index))
	if err != nil {
		return nil, err
	}
	fs := make([]*Forward, 0, len(ops))
	for _, op := range ops {
		f, err := db.Forward(coin, op)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		fs = append(fs, f)
	}
	return fs, nil
}
