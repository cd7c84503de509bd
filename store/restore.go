package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/ferry-relay/ferry"
	"github.com/syndtr/goleveldb/leveldb"
)

// ErrNoDestination reports a restored address whose destination is not
// known that would be watched or hold an open deposit: ferry would have
// nowhere to forward its payments.
var ErrNoDestination = errors.New("address has no destination")

// FirstAddress returns coin's address of the lowest index, the oldest
// handed out, or ErrNotFound if the coin has none.
func (db *DB) FirstAddress(coin string) (*Address, error) {
	it := db.ldb.NewIterator(prefix(tAddress, coin), nil)
	defer it.Release()
	if !it.First() {
		if err := it.Error(); err != nil {
			return nil, fmt.Errorf("first address %s: %w", coin, err)
		}
		return nil, fmt.Errorf("first address %s: %w", coin, ErrNotFound)
	}
	k := it.Key()
	if len(k) != len(key(tAddress, coin))+4 {
		return nil, fmt.Errorf("first address %s: %w", coin, ErrCorrupt)
	}
	return db.decodeAddress(coin, binary.BigEndian.Uint32(k[len(k)-4:]), it.Value())
}

// RestoreAddress records an input address rebuilt from the chain, with the
// deposits it had as of the scan cursor the store is rebuilt at, in one
// synced batch, unless coin already has an address at a.Index: it reports
// whether it wrote anything. A watched address (see Watched) is idle since
// a.LastActivity. An address whose destination is unknown (no DestScript)
// is never watched and has no open deposit (ErrNoDestination): nothing
// would tell ferry where to forward its money.
//
// The deposits are written outside Apply, as history below the scan
// cursor: no undo log knows them.
func (db *DB) RestoreAddress(a *Address, watched bool, deps []ferry.Deposit) (bool, error) {
	if len(a.DestScript) == 0 {
		if watched {
			return false, fmt.Errorf("restore address %s/%d: watched: %w", a.Coin, a.Index, ErrNoDestination)
		}
		for _, d := range deps {
			if !d.Spent() {
				return false, fmt.Errorf("restore address %s/%d: open deposit %s: %w", a.Coin, a.Index, d.ID(), ErrNoDestination)
			}
		}
	}
	if _, err := db.Address(a.Coin, a.Index); err == nil {
		return false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return false, err
	}
	if a.LastActivity.IsZero() {
		a.LastActivity = a.Created
	}
	b := new(leveldb.Batch)
	b.Put(key(tAddress, a.Coin, u32(a.Index)), db.encodeAddress(a))
	// Found by its program in the watched table while watched, in the
	// program table otherwise, as PutAddress and Apply keep them.
	if watched {
		b.Put(key(tWatched, a.Coin, a.Program[:]), u32(a.Index))
		b.Put(expiryKey(a.Coin, a.LastActivity, a.Index), nil)
	} else {
		b.Put(key(tProgram, a.Coin, a.Program[:]), u32(a.Index))
	}
	for i := range deps {
		d := &deps[i]
		if d.AddrIndex != a.Index {
			return false, fmt.Errorf("restore address %s/%d: deposit %s is of index %d", a.Coin, a.Index, d.ID(), d.AddrIndex)
		}
		opk := opKey(d.OutPoint)
		b.Put(key(tDeposit, a.Coin, opk), encodeDeposit(d))
		b.Put(key(tByAddr, a.Coin, u32(a.Index), opk), nil)
		if !d.Spent() {
			b.Put(key(tOpen, a.Coin, opk), nil)
		}
	}
	if err := db.ldb.Write(b, syncWrite); err != nil {
		return false, fmt.Errorf("restore address %s/%d: %w", a.Coin, a.Index, err)
	}
	return true, nil
}

// AddressEnd returns the index after coin's highest address, 0 if it has
// none: unlike NextIndex, it leaves out the first index set apart.
func (db *DB) AddressEnd(coin string) (uint32, error) {
	it := db.ldb.NewIterator(prefix(tAddress, coin), nil)
	defer it.Release()
	if !it.Last() {
		return 0, it.Error()
	}
	k := it.Key()
	return binary.BigEndian.Uint32(k[len(k)-4:]) + 1, nil
}
