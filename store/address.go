package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/syndtr/goleveldb/leveldb"

	"github.com/ferry-relay/ferry/chain"
)

// Address is an input address handed out by /api/receive: where the
// customer pays, and what ferry does with the money.
type Address struct {
	Coin string
	// Index is the address's position on the coin's derivation path.
	Index uint32
	// Program is the 20-byte witness program of the P2WPKH input address.
	Program [20]byte
	// Address is the input address's text.
	Address string
	// Destination is the merchant's address, and DestScript its output
	// script.
	Destination string
	DestScript  []byte
	// Callback is the merchant's callback URL ("" for none); CallbackReq
	// records the callback_req the address was asked for with.
	Callback    string
	CallbackReq bool
	Created     time.Time
	// LastActivity is when the address was minted or last paid in a
	// block: the start of its idle time.
	LastActivity time.Time
}

func (a *Address) encode() []byte {
	e := newEnc(96 + len(a.Address) + len(a.Destination) + len(a.DestScript) + len(a.Callback))
	e.raw(a.Program[:])
	e.str(a.Address)
	e.str(a.Destination)
	e.bytes(a.DestScript)
	e.str(a.Callback)
	e.bool(a.CallbackReq)
	e.time(a.Created)
	e.time(a.LastActivity)
	return e.b
}

// addressCompact is the layout of address records that leave out the
// texts the store can derive: the input address's, from its program, and
// the destination's, from its script; and the time of last activity while
// it is the time of creation. It takes about half the space of the full
// layout (recordVersion), which the store still writes when it cannot
// derive the texts (a store that does not know its network yet) and
// reads in records written before.
const addressCompact = 2

// encodeAddress encodes a in the compact layout if the store can derive
// its texts back exactly, and in the full one otherwise.
func (db *DB) encodeAddress(a *Address) []byte {
	c := db.coin(a.Coin)
	if c == nil {
		return a.encode()
	}
	in, err := c.InputAddress(a.Program)
	if err != nil || in.Address != a.Address {
		return a.encode()
	}
	if d, err := db.destinations.of(c, a.DestScript); err != nil || d != a.Destination {
		return a.encode()
	}
	e := newEncVersion(48+len(a.DestScript)+len(a.Callback), addressCompact)
	e.raw(a.Program[:])
	e.bytes(a.DestScript)
	e.str(a.Callback)
	e.bool(a.CallbackReq)
	e.time(a.Created)
	if unixNano(a.LastActivity) != unixNano(a.Created) {
		e.time(a.LastActivity)
	}
	return e.b
}

// destinationNames caches the texts of the destination scripts last seen:
// merchants pay out to the same few addresses, and deriving a text means
// encoding it and parsing it back. It is safe for concurrent use.
type destinationNames struct {
	mu    sync.Mutex
	names map[string]string // coin id, script: text
}

// maxDestinationNames bounds the cache; it starts over when full.
const maxDestinationNames = 4096

// of returns the text of the destination script pays to on c.
func (n *destinationNames) of(c *chain.Coin, script []byte) (string, error) {
	k := c.ID() + string(script)
	n.mu.Lock()
	name, ok := n.names[k]
	n.mu.Unlock()
	if ok {
		return name, nil
	}
	d, err := c.DestinationOf(script)
	if err != nil {
		return "", err
	}
	n.mu.Lock()
	if n.names == nil || len(n.names) >= maxDestinationNames {
		n.names = map[string]string{}
	}
	n.names[k] = d.Address
	n.mu.Unlock()
	return d.Address, nil
}

func (db *DB) decodeAddress(coin string, index uint32, b []byte) (*Address, error) {
	d, version := newDecVersion(b, addressCompact)
	if version != addressCompact {
		return decodeAddressFull(coin, index, d)
	}
	a := &Address{Coin: coin, Index: index}
	copy(a.Program[:], d.take(20))
	a.DestScript = d.bytes()
	if err := decodeAddressRest(a, d); err != nil {
		return nil, err
	}
	c := db.coin(coin)
	if c == nil {
		return nil, fmt.Errorf("address %s/%d: %w: compact record in a store without a network", coin, index, ErrCorrupt)
	}
	in, err := c.InputAddress(a.Program)
	if err != nil {
		return nil, fmt.Errorf("address %s/%d: %w: %v", coin, index, ErrCorrupt, err)
	}
	dest, err := db.destinations.of(c, a.DestScript)
	if err != nil {
		return nil, fmt.Errorf("address %s/%d: %w: destination: %v", coin, index, ErrCorrupt, err)
	}
	a.Address, a.Destination = in.Address, dest
	return a, nil
}

// decodeAddressRest reads what both layouts of an address record end
// with: its callback and its times.
func decodeAddressRest(a *Address, d *dec) error {
	a.Callback = d.str()
	a.CallbackReq = d.bool()
	a.Created = d.time()
	a.LastActivity = a.Created
	if d.more() {
		a.LastActivity = d.time()
	}
	if err := d.done(); err != nil {
		return fmt.Errorf("address %s/%d: %w", a.Coin, a.Index, err)
	}
	return nil
}

// decodeAddressFull reads the rest of a record in the full layout.
func decodeAddressFull(coin string, index uint32, d *dec) (*Address, error) {
	a := &Address{Coin: coin, Index: index}
	copy(a.Program[:], d.take(20))
	a.Address = d.str()
	a.Destination = d.str()
	a.DestScript = d.bytes()
	if err := decodeAddressRest(a, d); err != nil {
		return nil, err
	}
	return a, nil
}

// NextIndex returns the first index of coin never handed out: the index
// after the highest address ever stored, or the first index set by
// SetFirstIndex if that is higher.
func (db *DB) NextIndex(coin string) (uint32, error) {
	var next uint32
	it := db.ldb.NewIterator(prefix(tAddress, coin), nil)
	defer it.Release()
	if it.Last() {
		k := it.Key()
		next = binary.BigEndian.Uint32(k[len(k)-4:]) + 1
	}
	if err := it.Error(); err != nil {
		return 0, fmt.Errorf("next index %s: %w", coin, err)
	}
	v, err := db.get(firstIndexKey(coin))
	switch {
	case errors.Is(err, ErrNotFound):
		return next, nil
	case err != nil:
		return 0, fmt.Errorf("next index %s: %w", coin, err)
	case len(v) != 4:
		return 0, fmt.Errorf("next index %s: %w", coin, ErrCorrupt)
	}
	return max(next, binary.BigEndian.Uint32(v)), nil
}

func firstIndexKey(coin string) []byte { return key(tMeta, coin, []byte("first-index")) }

// SetFirstIndex makes coin's addresses start at index first at the
// earliest, synced: for a data directory rebuilt around a seed whose lower
// indexes were handed out before. It never lowers the first index.
func (db *DB) SetFirstIndex(coin string, first uint32) error {
	next, err := db.NextIndex(coin)
	if err != nil || first <= next {
		return err
	}
	if err := db.ldb.Put(firstIndexKey(coin), u32(first), syncWrite); err != nil {
		return fmt.Errorf("set first index %s: %w", coin, err)
	}
	return nil
}

// PutAddress records a new input address, synced to disk, and adds it to the
// watched set, idle since a.LastActivity (a.Created if zero). It must be
// called before the address is handed out, so that a restart can neither
// forget the address nor hand its index out again. It is safe for
// concurrent use: the addresses of concurrent calls are written together,
// in one synced write (group commit), and each call returns once the
// write that holds its address is synced.
func (db *DB) PutAddress(a *Address) error {
	if a.LastActivity.IsZero() {
		a.LastActivity = a.Created
	}
	rec := db.encodeAddress(a)
	err := db.addresses.write(func(b *leveldb.Batch) {
		b.Put(key(tAddress, a.Coin, u32(a.Index)), rec)
		b.Put(key(tWatched, a.Coin, a.Program[:]), u32(a.Index))
		b.Put(expiryKey(a.Coin, a.LastActivity, a.Index), nil)
	})
	if err != nil {
		return fmt.Errorf("put address %s/%d: %w", a.Coin, a.Index, err)
	}
	return nil
}

// Address returns the address of coin at index, or ErrNotFound.
func (db *DB) Address(coin string, index uint32) (*Address, error) {
	v, err := db.get(key(tAddress, coin, u32(index)))
	if err != nil {
		return nil, fmt.Errorf("address %s/%d: %w", coin, index, err)
	}
	return db.decodeAddress(coin, index, v)
}

// AddressByProgram returns the address of coin whose witness program is
// program, or ErrNotFound. A watched address is found in the watched
// table, an expired one in the program table (and, in a store written
// before watched entries carried their index, every address).
func (db *DB) AddressByProgram(coin string, program []byte) (*Address, error) {
	v, err := db.get(key(tWatched, coin, program))
	if err == nil && len(v) == 0 || errors.Is(err, ErrNotFound) {
		v, err = db.get(key(tProgram, coin, program))
	}
	if err != nil {
		return nil, fmt.Errorf("address %s/%x: %w", coin, program, err)
	}
	if len(v) != 4 {
		return nil, fmt.Errorf("address %s/%x: %w", coin, program, ErrCorrupt)
	}
	return db.Address(coin, binary.BigEndian.Uint32(v))
}

// ForEachWatched calls fn with the witness program of every watched address
// of coin, in byte order, stopping at fn's first error.
func (db *DB) ForEachWatched(coin string, fn func(program []byte) error) error {
	it := db.ldb.NewIterator(prefix(tWatched, coin), nil)
	defer it.Release()
	n := len(key(tWatched, coin))
	for it.Next() {
		if err := fn(it.Key()[n:]); err != nil {
			return err
		}
	}
	return it.Error()
}

// Watched reports whether coin's address with witness program program is in
// the watched set, that is, has not expired.
func (db *DB) Watched(coin string, program []byte) (bool, error) {
	_, err := db.get(key(tWatched, coin, program))
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// expiryKey is an address's entry in the expiry queue, ordered by the start
// of its idle time.
func expiryKey(coin string, activity time.Time, index uint32) []byte {
	return key(tExpiry, coin, u64(uint64(unixNano(activity))), u32(index))
}

// IdleAddresses returns up to limit watched addresses of coin idle since
// before t, the longest idle first.
func (db *DB) IdleAddresses(coin string, before time.Time, limit int) ([]*Address, error) {
	it := db.ldb.NewIterator(prefix(tExpiry, coin), nil)
	defer it.Release()
	n := len(key(tExpiry, coin))
	var as []*Address
	for len(as) < limit && it.Next() {
		k := it.Key()
		if len(k) != n+12 {
			return nil, fmt.Errorf("expiry queue %s: %w", coin, ErrCorrupt)
		}
		if int64(binary.BigEndian.Uint64(k[n:])) >= unixNano(before) {
			break
		}
		a, err := db.Address(coin, binary.BigEndian.Uint32(k[n+8:]))
		if err != nil {
			return nil, err
		}
		as = append(as, a)
	}
	return as, it.Error()
}
