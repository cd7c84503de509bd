package store

import (
	"fmt"

	"github.com/ferry-relay/ferry"
)

// Deposit returns coin's deposit at op, or ErrNotFound.
func (db *DB) Deposit(coin string, op ferry.OutPoint) (*ferry.Deposit, error) {
	v, err := db.get(key(tDeposit, coin, opKey(op)))
	if err != nil {
		return nil, fmt.Errorf("deposit %s: %w", coin, err)
	}
	return decodeDeposit(coin, op, v)
}

// OpenDeposits returns coin's deposits that no recorded block has spent yet,
// in outpoint order: those still to be forwarded, or whose forward is not
// yet confirmed.
func (db *DB) OpenDeposits(coin string) ([]*ferry.Deposit, error) {
	return db.depositsIn(tOpen, coin)
}

// DepositsOf returns the deposits recorded for coin's address at index, in
// outpoint order.
func (db *DB) DepositsOf(coin string, index uint32) ([]*ferry.Deposit, error) {
	return db.depositsIn(tByAddr, coin, u32(index))
}

// depositsIn loads the deposits whose outpoints end the keys of an index
// table.
func (db *DB) depositsIn(table byte, coin string, parts ...[]byte) ([]*ferry.Deposit, error) {
	ops, err := db.outPointsIn(table, coin, parts...)
	if err != nil {
		return nil, err
	}
	ds := make([]*ferry.Deposit, 0, len(ops))
	for _, op := range ops {
		d, err := db.Deposit(coin, op)
		if err != nil {
			return nil, err
		}
		ds = append(ds, d)
	}
	return ds, nil
}

// outPointsIn returns the outpoints that end the keys of an index table
// (o, i, F) under a prefix, in key order.
func (db *DB) outPointsIn(table byte, coin string, parts ...[]byte) ([]ferry.OutPoint, error) {
	it := db.ldb.NewIterator(prefix(table, coin, parts...), nil)
	defer it.Release()
	var ops []ferry.OutPoint
	for it.Next() {
		k := it.Key()
		if len(k) < 36 {
			return nil, fmt.Errorf("index %c/%s: %w", table, coin, ErrCorrupt)
		}
		ops = append(ops, decodeOpKey(k[len(k)-36:]))
	}
	return ops, it.Error()
}
