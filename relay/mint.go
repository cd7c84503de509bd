package relay

import (
	"errors"
	"math"
	"sync"

	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/store"
)

// MintStore is what the minter records and reads. *store.DB implements it.
type MintStore interface {
	NextIndex(coin string) (uint32, error)
	PutAddress(a *store.Address) error
	AddressByProgram(coin string, program []byte) (*store.Address, error)
}

var _ MintStore = (*store.DB)(nil)

// Minter hands out input addresses: the next index of the coin's
// derivation path, never one handed out before, recorded and synced before
// it is returned. It is safe for concurrent use; concurrent calls derive
// keys in parallel and the store merges their writes.
type Minter struct {
	coin  *chain.Coin
	keys  *chain.Keychain
	store MintStore
	watch *store.WatchSet
	clock clock.Clock

	mu   sync.Mutex
	next uint32 // next derivation index to hand out
}

// NewMinter returns a minter that continues after the store's last index.
func NewMinter(coin *chain.Coin, keys *chain.Keychain, st MintStore, watch *store.WatchSet, clk clock.Clock) (*Minter, error) {
	next, err := st.NextIndex(coin.ID())
	if err != nil {
		return nil, err
	}
	return &Minter{coin: coin, keys: keys, store: st, watch: watch, clock: clk, next: next}, nil
}

// Mint hands out a new input address paying to dest, with the merchant's
// callback (empty for none). It is recorded, synced, and added to the
// watch set before it is returned.
func (m *Minter) Mint(dest chain.Destination, callback string, callbackReq bool) (*store.Address, error) {
	for {
		m.mu.Lock()
		idx := m.next
		if idx >= math.MaxInt32 {
			m.mu.Unlock()
			return nil, errorf(KindUnavailable, "no input addresses left on this server's derivation path")
		}
		m.next++
		m.mu.Unlock()

		prog, err := m.keys.Program(idx)
		if errors.Is(err, chain.ErrSkipIndex) {
			continue
		}
		if err != nil {
			return nil, internal("derive input address", err)
		}
		in, err := m.coin.InputAddress(prog)
		if err != nil {
			return nil, internal("encode input address", err)
		}
		a := &store.Address{
			Coin:        m.coin.ID(),
			Index:       idx,
			Program:     prog,
			Address:     in.Address,
			Destination: dest.Address,
			DestScript:  dest.Script,
			Callback:    callback,
			CallbackReq: callbackReq,
			Created:     m.clock.Now().UTC(),
		}
		if err := m.store.PutAddress(a); err != nil {
			return nil, internal("record input address", err)
		}
		m.watch.Add(prog[:])
		return a, nil
	}
}

// IsInputAddress reports whether dest pays to one of the coin's input
// addresses, expired ones included, which would send the money in a circle
// or where nothing watches it.
func (m *Minter) IsInputAddress(dest chain.Destination) (bool, error) {
	prog, ok := chain.P2WPKHProgram(dest.Script)
	if !ok {
		return false, nil
	}
	_, err := m.store.AddressByProgram(m.coin.ID(), prog)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
