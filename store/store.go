package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/syndtr/goleveldb/leveldb"
	lerrors "github.com/syndtr/goleveldb/leveldb/errors"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/util"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
)

// Errors callers branch on.
var (
	// ErrNotFound reports a record that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrSeedMismatch reports a data directory whose addresses were derived
	// from another seed than the one given.
	ErrSeedMismatch = errors.New("store was created with another seed")
	// ErrNetworkMismatch reports a store of another network than the one
	// given.
	ErrNetworkMismatch = errors.New("store is on another network")
)

// DB is ferry's persistent state in a goleveldb database. It is safe for
// concurrent use; the block methods of one coin (Apply, Rollback,
// Start) must be called from one goroutine at a time.
type DB struct {
	ldb *leveldb.DB
	// undoDepth is how many recent blocks keep their undo log, and so the
	// deepest reorg that can be rolled back.
	undoDepth int64
	// cbMu serializes the read-modify-writes of callback records, which
	// the scanner and the callback workers make; invMu those of vendors and
	// invoices' indexes and counter; mailMu those of mail records (PutMail's
	// check for an existing ID, RecordMail), so that a message is neither
	// queued twice nor brought back after it was sent.
	cbMu, invMu, mailMu sync.Mutex
	// openOf counts each vendor's open invoices, once countOpen has
	// walked the open set (nil before); invMu guards it.
	openOf map[string]int
	// coins are the coins on the store's network, by id, once the store
	// knows its network: address records leave out what they derive.
	coins atomic.Pointer[map[string]*chain.Coin]
	// addresses writes new addresses in groups.
	addresses committer
	// destinations caches the texts of destination scripts.
	destinations destinationNames
}

var syncWrite = &opt.WriteOptions{Sync: true}

// DefaultUndoDepth is the number of recent blocks whose changes Rollback can
// undo: deeper than any reorg Litecoin or Bitcoin has seen since their early
// days, and more than the 100 confirmations callbacks run to.
const DefaultUndoDepth = 288

// Open opens (creating if needed) the database in dir/db. Only one process
// may hold it open. dir and dir/db are made private first (PrivateDir):
// the store holds vendors' webhook secrets.
func Open(dir string) (*DB, error) {
	path := filepath.Join(dir, "db")
	for _, d := range []string{dir, path} {
		if _, err := PrivateDir(d); err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
	}
	ldb, err := leveldb.OpenFile(path, &opt.Options{
		// Keep the watch set's index and recent records in memory.
		BlockCacheCapacity: 32 << 20,
		WriteBuffer:        16 << 20,
	})
	if lerrors.IsCorrupted(err) {
		return nil, fmt.Errorf("open store %s: %w (back up the directory, then recover it with leveldb's RecoverFile)", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db := &DB{ldb: ldb, undoDepth: DefaultUndoDepth, addresses: committer{ldb: ldb}}
	if network, err := db.get(networkKey); err == nil {
		db.setNetwork(string(network))
	} else if !errors.Is(err, ErrNotFound) {
		ldb.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return db, nil
}

// setNetwork makes the coins of network known to the store.
func (db *DB) setNetwork(network string) {
	net, err := chain.ParseNetwork(network)
	if err != nil {
		return // not a network this ferry knows: records keep their texts
	}
	coins := map[string]*chain.Coin{}
	for _, id := range []string{"ltc", "btc"} {
		if c, err := chain.CoinByID(id, net); err == nil {
			coins[id] = c
		}
	}
	db.coins.Store(&coins)
}

// coin returns the coin with id on the store's network, or nil before the
// store knows its network.
func (db *DB) coin(id string) *chain.Coin {
	if m := db.coins.Load(); m != nil {
		return (*m)[id]
	}
	return nil
}

// Close closes the database. Pending writes have all been synced already.
func (db *DB) Close() error { return db.ldb.Close() }

// seedKey holds the fingerprint of the operator's seed.
var seedKey = []byte("m/seed")

// networkKey holds the network the store's addresses are on.
var networkKey = []byte("m/network")

// CheckNetwork records the network ("mainnet", "testnet", "regtest") in a
// store that has none, and refuses another one later: addresses of one
// network are no use on another.
func (db *DB) CheckNetwork(network string) error {
	old, err := db.get(networkKey)
	switch {
	case errors.Is(err, ErrNotFound):
		if err := db.ldb.Put(networkKey, []byte(network), syncWrite); err != nil {
			return err
		}
		db.setNetwork(network)
		return nil
	case err != nil:
		return fmt.Errorf("check network: %w", err)
	case string(old) != network:
		return fmt.Errorf("%w: the store is on %s, not %s", ErrNetworkMismatch, old, network)
	}
	return nil
}

// Network returns the network the store is on, or ErrNotFound before the
// daemon first ran on it.
func (db *DB) Network() (string, error) {
	v, err := db.get(networkKey)
	if err != nil {
		return "", fmt.Errorf("network: %w", err)
	}
	return string(v), nil
}

// Fresh reports whether the store is new: no seed has been recorded in it,
// so it has never handed out an address.
func (db *DB) Fresh() (bool, error) {
	_, err := db.get(seedKey)
	if errors.Is(err, ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("check seed: %w", err)
	}
	return false, nil
}

// CheckSeed records the fingerprint of the operator's seed in a new store and
// compares it in an existing one, returning ErrSeedMismatch if it differs:
// addresses handed out under one seed cannot be spent with another.
func (db *DB) CheckSeed(fingerprint []byte) error {
	old, err := db.ldb.Get(seedKey, nil)
	switch {
	case errors.Is(err, leveldb.ErrNotFound):
		return db.ldb.Put(seedKey, fingerprint, syncWrite)
	case err != nil:
		return fmt.Errorf("check seed: %w", err)
	case !bytes.Equal(old, fingerprint):
		return ErrSeedMismatch
	}
	return nil
}

// get returns the value at key, or ErrNotFound.
func (db *DB) get(key []byte) ([]byte, error) {
	v, err := db.ldb.Get(key, nil)
	if errors.Is(err, leveldb.ErrNotFound) {
		return nil, ErrNotFound
	}
	return v, err
}

// Tables: the first byte of every key. doc.go lays them out.
const (
	tMeta      = 'm'
	tAddress   = 'a'
	tProgram   = 'p'
	tWatched   = 'w'
	tCursor    = 'c'
	tBlock     = 'b'
	tHead      = 't'
	tDeposit   = 'd'
	tOpen      = 'o'
	tByAddr    = 'i'
	tForward   = 'f'
	tFwdByAddr = 'F'
	tExpiry    = 'x'
	tCallback  = 'k'
	tAttempt   = 'K'
	tQueue     = 'q'
	tHosts     = 'h'
)

// key builds "<table>/<coin>/" followed by parts.
func key(table byte, coin string, parts ...[]byte) []byte {
	n := 2 + len(coin) + 1
	for _, p := range parts {
		n += len(p)
	}
	k := make([]byte, 0, n)
	k = append(k, table, '/')
	k = append(k, coin...)
	k = append(k, '/')
	for _, p := range parts {
		k = append(k, p...)
	}
	return k
}

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func opKey(o ferry.OutPoint) []byte {
	return binary.BigEndian.AppendUint32(append(make([]byte, 0, 36), o.Hash[:]...), o.Index)
}

func decodeOpKey(k []byte) ferry.OutPoint {
	var o ferry.OutPoint
	copy(o.Hash[:], k[:32])
	o.Index = binary.BigEndian.Uint32(k[32:36])
	return o
}

func prefix(table byte, coin string, parts ...[]byte) *util.Range {
	return util.BytesPrefix(key(table, coin, parts...))
}
