package store

import (
	"fmt"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/syndtr/goleveldb/leveldb"
)

// Sweep is a signed transaction that spends stranded outputs of the seed's
// addresses (ferry recover --sweep-to) to one address. Like a forward, it
// is recorded before its first broadcast and never rebuilt.
type Sweep struct {
	Coin   string
	TxID   ferry.Hash
	Raw    []byte
	Inputs []SweepInput
	// To is the address swept to, and Value what it receives.
	To    string
	Value int64
	// NetworkFee is the inputs' total less Value; FeeRate, in satoshis
	// per 1000 vbytes, is the rate it was built at.
	NetworkFee int64
	FeeRate    int64
	Created    time.Time
	// Attempts counts broadcasts; LastAttempt and LastError describe the
	// latest; Accepted is set once a node has taken the transaction.
	Attempts    int64
	LastAttempt time.Time
	LastError   string
	Accepted    bool
}

// SweepInput is one output a sweep spends.
type SweepInput struct {
	OutPoint  ferry.OutPoint
	AddrIndex uint32
	Value     int64
}

func (s *Sweep) encode() []byte {
	e := newEnc(128 + len(s.Raw) + 48*len(s.Inputs))
	e.hash(s.TxID)
	e.bytes(s.Raw)
	e.uvar(uint64(len(s.Inputs)))
	for _, in := range s.Inputs {
		e.raw(opKey(in.OutPoint))
		e.u32(in.AddrIndex)
		e.i64(in.Value)
	}
	e.str(s.To)
	e.i64(s.Value)
	e.i64(s.NetworkFee)
	e.i64(s.FeeRate)
	e.time(s.Created)
	e.i64(s.Attempts)
	e.time(s.LastAttempt)
	e.str(s.LastError)
	e.bool(s.Accepted)
	return e.b
}

func decodeSweep(coin string, b []byte) (*Sweep, error) {
	d := newDec(b)
	s := &Sweep{Coin: coin, TxID: d.hash(), Raw: d.bytes()}
	n := d.uvar()
	if n > uint64(len(b)) {
		return nil, fmt.Errorf("sweep %s: %w", coin, ErrCorrupt)
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		op := d.take(36)
		if op == nil {
			break
		}
		s.Inputs = append(s.Inputs, SweepInput{OutPoint: decodeOpKey(op), AddrIndex: d.u32(), Value: d.i64()})
	}
	s.To = d.str()
	s.Value = d.i64()
	s.NetworkFee = d.i64()
	s.FeeRate = d.i64()
	s.Created = d.time()
	s.Attempts = d.i64()
	s.LastAttempt = d.time()
	s.LastError = d.str()
	s.Accepted = d.bool()
	if err := d.done(); err != nil {
		return nil, fmt.Errorf("sweep %s: %w", coin, err)
	}
	return s, nil
}

// PutSweep records a new sweep, synced, before its first broadcast: the
// sweep, the sweep of each of its inputs, and fwds, the forward records
// of the inputs that are open deposits (each holding the sweep itself, so
// that ferry broadcasts it again rather than forwarding the deposit), in
// one batch.
func (db *DB) PutSweep(s *Sweep, fwds []*Forward) error {
	b := new(leveldb.Batch)
	b.Put(key(tSweep, s.Coin, s.TxID[:]), s.encode())
	for _, in := range s.Inputs {
		b.Put(key(tSweepOf, s.Coin, opKey(in.OutPoint)), s.TxID[:])
	}
	for _, f := range fwds {
		if f.Coin != s.Coin || f.TxID != s.TxID {
			return fmt.Errorf("put sweep %s: forward of %s is not the sweep", s.Coin, f.OutPoint)
		}
		opk := opKey(f.OutPoint)
		b.Put(key(tForward, f.Coin, opk), f.encode())
		b.Put(key(tFwdByAddr, f.Coin, u32(f.AddrIndex), opk), nil)
	}
	if err := db.ldb.Write(b, syncWrite); err != nil {
		return fmt.Errorf("put sweep %s: %w", s.Coin, err)
	}
	return nil
}

// UpdateSweep records a broadcast attempt of a recorded sweep, synced.
func (db *DB) UpdateSweep(s *Sweep) error {
	if err := db.ldb.Put(key(tSweep, s.Coin, s.TxID[:]), s.encode(), syncWrite); err != nil {
		return fmt.Errorf("update sweep %s: %w", s.Coin, err)
	}
	return nil
}

// Sweeps returns coin's recorded sweeps, in transaction id order.
func (db *DB) Sweeps(coin string) ([]*Sweep, error) {
	it := db.ldb.NewIterator(prefix(tSweep, coin), nil)
	defer it.Release()
	var ss []*Sweep
	for it.Next() {
		s, err := decodeSweep(coin, it.Value())
		if err != nil {
			return nil, err
		}
		ss = append(ss, s)
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("sweeps %s: %w", coin, err)
	}
	return ss, nil
}

// SweepOf returns the id of the recorded sweep that spends coin's output
// op, or ErrNotFound.
func (db *DB) SweepOf(coin string, op ferry.OutPoint) (ferry.Hash, error) {
	var h ferry.Hash
	v, err := db.get(key(tSweepOf, coin, opKey(op)))
	if err != nil {
		return h, fmt.Errorf("sweep of %s %s: %w", coin, op, err)
	}
	if len(v) != 32 {
		return h, fmt.Errorf("sweep of %s %s: %w", coin, op, ErrCorrupt)
	}
	copy(h[:], v)
	return h, nil
}
