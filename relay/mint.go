package relay

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"

	"github.com/ferry-relay/ferry"
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

// Keys derived ahead of demand (see Minter).
const (
	// DefaultDeriveAhead is how many input addresses a minter keeps
	// derived ahead: a burst of three quarters of that many is served
	// without deriving a key. 16,384 take about half a second of one
	// core to derive, and 2 MB to keep (65,536 measured 31 MB more RSS at
	// ten million addresses, for bursts no shop makes).
	DefaultDeriveAhead = 16384
	// deriveBatch is how many keys the minter derives at once (they share
	// one field inversion).
	deriveBatch = 64
)

// Minter hands out input addresses: the next index of the coin's
// derivation path, never one handed out before, recorded and synced before
// it is returned. It is safe for concurrent use; concurrent calls are
// recorded together (the store's group commit).
//
// Deriving an input address's key is most of a mint's work, so a minter
// that runs (Run) keeps the next addresses derived ahead, from the next
// index to hand out on. It derives them while no call is minting (between
// bursts, not during one) unless it runs low. They are only a cache: the
// next index is still the one after the highest the store holds when the
// minter starts, an index is taken for good when it is handed to a call,
// and an address the cache does not hold is derived on demand.
type Minter struct {
	coin  *chain.Coin
	keys  *chain.Keychain
	store MintStore
	watch *store.WatchSet
	clock clock.Clock
	// aheadMax is how many addresses Run keeps derived ahead.
	aheadMax int

	mu   sync.Mutex
	next uint32 // next derivation index to hand out
	// ahead holds the addresses of indexes next, next+1, … derived ahead.
	ahead []derived
	// minting counts the calls in Mint.
	minting atomic.Int32
	// idle tells Run that the last call minting has returned.
	idle chan struct{}
	// wake tells Run that the cache has run low.
	wake chan struct{}
}

// derived is an input address derived ahead, or why its index has none.
type derived struct {
	index   uint32
	program [20]byte
	address string
	err     error
}

// NewMinter returns a minter that continues after the store's last index.
// It derives keys on demand until Run runs.
func NewMinter(coin *chain.Coin, keys *chain.Keychain, st MintStore, watch *store.WatchSet, clk clock.Clock) (*Minter, error) {
	next, err := st.NextIndex(coin.ID())
	if err != nil {
		return nil, err
	}
	return &Minter{coin: coin, keys: keys, store: st, watch: watch, clock: clk, next: next,
		aheadMax: DefaultDeriveAhead, wake: make(chan struct{}, 1), idle: make(chan struct{}, 1)}, nil
}

// Mint hands out a new input address paying to dest, with the merchant's
// callback (empty for none). It is recorded, synced, and added to the
// watch set before it is returned.
func (m *Minter) Mint(dest chain.Destination, callback string, callbackReq bool) (*store.Address, error) {
	m.minting.Add(1)
	defer func() {
		if m.minting.Add(-1) == 0 {
			signal(m.idle)
		}
	}()
	for {
		d, err := m.take()
		if err != nil {
			return nil, err
		}
		if errors.Is(d.err, chain.ErrSkipIndex) {
			continue
		}
		if d.err != nil {
			return nil, ferry.Internal("derive input address", d.err)
		}
		a := &store.Address{
			Coin:        m.coin.ID(),
			Index:       d.index,
			Program:     d.program,
			Address:     d.address,
			Destination: dest.Address,
			DestScript:  dest.Script,
			Callback:    callback,
			CallbackReq: callbackReq,
			Created:     m.clock.Now().UTC(),
		}
		if err := m.store.PutAddress(a); err != nil {
			return nil, ferry.Internal("record input address", err)
		}
		m.watch.Add(d.program[:])
		return a, nil
	}
}

// take hands out the next index, with its address: from the cache, or
// derived now.
func (m *Minter) take() (derived, error) {
	m.mu.Lock()
	index := m.next
	if index >= math.MaxInt32 {
		m.mu.Unlock()
		return derived{}, ferry.Errorf(ferry.KindUnavailable, "no input addresses left on this server's derivation path")
	}
	m.next++
	var d derived
	cached := len(m.ahead) > 0 && m.ahead[0].index == index
	if cached {
		d, m.ahead[0] = m.ahead[0], derived{}
		m.ahead = m.ahead[1:]
	}
	low := len(m.ahead) < m.aheadMax/4
	m.mu.Unlock()
	if low {
		signal(m.wake)
	}
	if !cached {
		d = m.derive(index, 1)[0]
	}
	return d, nil
}

// derive derives the n addresses from index first on.
func (m *Minter) derive(first uint32, n int) []derived {
	progs, errs := m.keys.Programs(first, n)
	out := make([]derived, n)
	for i := range n {
		out[i] = derived{index: first + uint32(i), program: progs[i], err: errs[i]}
		if errs[i] == nil {
			in, err := m.coin.InputAddress(progs[i])
			out[i].address, out[i].err = in.Address, err
		}
	}
	return out
}

// Run keeps addresses derived ahead of demand until ctx is done, a batch
// at a time: at once while it holds fewer than a quarter of them, and
// otherwise while no call is minting: between bursts, not during one.
func (m *Minter) Run(ctx context.Context) {
	for {
		m.fill(ctx)
		select {
		case <-ctx.Done():
			return
		case <-m.wake:
		case <-m.idle:
		}
	}
}

// fill derives addresses ahead until the cache is full or ctx is done.
func (m *Minter) fill(ctx context.Context) {
	for ctx.Err() == nil {
		m.mu.Lock()
		end := m.next + uint32(len(m.ahead))
		want := min(m.aheadMax-len(m.ahead), deriveBatch, int(math.MaxInt32-min(end, math.MaxInt32)))
		busy := m.minting.Load() > 0 && len(m.ahead) >= m.aheadMax/4
		m.mu.Unlock()
		if want <= 0 {
			return
		}
		if busy {
			select {
			case <-ctx.Done():
			case <-m.idle:
			case <-m.wake:
			}
			continue
		}
		batch := m.derive(end, want)

		// Calls may have taken indexes past end meanwhile (deriving
		// them on demand): keep what follows the cache.
		m.mu.Lock()
		end = m.next + uint32(len(m.ahead))
		for _, d := range batch {
			if d.index >= end {
				m.ahead = append(m.ahead, d)
			}
		}
		m.mu.Unlock()
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

// signal wakes the one waiting on c, or leaves a wake-up for the next.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
