package relay

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/store"
	"github.com/ferry-relay/ferry/store/storetest"
)

// TestMinterDerivesAhead mints from many goroutines while Run keeps a small
// cache of addresses derived ahead (so that calls outrun it and derive on
// demand, and it refills often). Every index is handed out once, in one
// unbroken run, each with its own key's address, recorded; and a minter
// started again on the store goes on after the highest recorded index,
// whatever the first one had derived ahead.
func TestMinterDerivesAhead(t *testing.T) {
	ltc, _ := chain.Litecoin(chain.Regtest)
	db := storetest.Open(t)
	m, dest, stop := startMinter(t, db, 100)
	keys := m.keys

	const n = 2000
	got := make(chan *store.Address, n)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for range n / 32 {
				a, err := m.Mint(dest, "", false)
				if err != nil {
					t.Error(err)
					return
				}
				got <- a
			}
		})
	}
	wg.Wait()
	stop()
	close(got)

	seen := map[uint32]bool{}
	var high uint32
	for a := range got {
		if seen[a.Index] {
			t.Fatalf("index %d handed out twice", a.Index)
		}
		seen[a.Index] = true
		high = max(high, a.Index)
		want, err := keys.Program(a.Index)
		if err != nil || a.Program != want {
			t.Fatalf("index %d: program %x, its key's %x (%v)", a.Index, a.Program, want, err)
		}
		in, _ := ltc.InputAddress(want)
		if a.Address != in.Address {
			t.Fatalf("index %d: address %s, want %s", a.Index, a.Address, in.Address)
		}
		if rec, err := db.Address("ltc", a.Index); err != nil || rec.Address != a.Address {
			t.Fatalf("index %d not recorded: %v", a.Index, err)
		}
	}
	if len(seen) != n/32*32 || int(high) != len(seen)-1 {
		t.Fatalf("%d indexes handed out, the highest %d", len(seen), high)
	}
	if len(m.ahead) == 0 {
		t.Log("the cache was empty at the end")
	}

	again, err := NewMinter(ltc, keys, db, store.NewWatchSet(), clock.System{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := again.Mint(dest, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if a.Index != high+1 {
		t.Fatalf("after a restart: index %d, want %d", a.Index, high+1)
	}
}

// startMinter returns a litecoin minter on st that keeps ahead addresses
// derived ahead, its Run running until stop (or the test's end), and a
// destination to mint for.
func startMinter(t *testing.T, st MintStore, ahead int) (m *Minter, dest chain.Destination, stop func()) {
	t.Helper()
	ltc, _ := chain.Litecoin(chain.Regtest)
	m, err := NewMinter(ltc, testKeys(t, ltc), st, store.NewWatchSet(), clock.System{})
	if err != nil {
		t.Fatal(err)
	}
	m.aheadMax = ahead
	if dest, err = ltc.ParseDestination("rltc1qjmxnz78nmc8nq77wuxh25n2es7rzm5c23g5xdr"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var run sync.WaitGroup
	run.Go(func() { m.Run(ctx) })
	stop = sync.OnceFunc(func() { cancel(); run.Wait() })
	t.Cleanup(stop)
	return m, dest, stop
}

func testKeys(tb testing.TB, coin *chain.Coin) *chain.Keychain {
	tb.Helper()
	seed := make([]byte, 32)
	k, err := chain.NewKeychain(seed, coin.CoinType())
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// gatedStore holds every PutAddress until its gate is closed.
type gatedStore struct {
	*store.DB
	gate chan struct{}
}

func (g gatedStore) PutAddress(a *store.Address) error {
	<-g.gate
	return g.DB.PutAddress(a)
}

// TestMinterDerivesBetweenBursts: while calls are minting, Run derives
// ahead only while fewer than a quarter of aheadMax are left; once no call
// is minting, it fills the cache.
func TestMinterDerivesBetweenBursts(t *testing.T) {
	gate := make(chan struct{})
	m, dest, _ := startMinter(t, gatedStore{storetest.Open(t), gate}, 256)

	cached := func() int {
		m.mu.Lock()
		defer m.mu.Unlock()
		return len(m.ahead)
	}
	// waitCached waits for at least want derived ahead, and returns how
	// many.
	waitCached := func(want int) int {
		t.Helper()
		for range 500 {
			if n := cached(); n >= want {
				return n
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("%d derived ahead, want %d", cached(), want)
		return 0
	}
	// held checks that no more are derived while calls are minting.
	held := func(want int) {
		t.Helper()
		time.Sleep(200 * time.Millisecond)
		if n := cached(); n != want {
			t.Fatalf("derived ahead while calls were minting: %d, want %d", n, want)
		}
	}
	waitCached(256)

	// 100 calls held in the store: 156 left, more than a quarter.
	var calls sync.WaitGroup
	mint := func(n int) {
		for range n {
			calls.Go(func() {
				if _, err := m.Mint(dest, "", false); err != nil {
					t.Error(err)
				}
			})
		}
	}
	mint(100)
	for range 500 {
		if cached() == 156 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	held(156)

	// 100 more: under a quarter left, so it derives while they wait,
	// back to a quarter, and no more.
	mint(100)
	for range 500 {
		m.mu.Lock()
		taken := m.next
		m.mu.Unlock()
		if taken == 200 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	n := waitCached(64)
	if n >= 64+deriveBatch {
		t.Fatalf("%d derived ahead under load, want fewer than %d", n, 64+deriveBatch)
	}
	held(n)

	close(gate)
	calls.Wait()
	waitCached(256)
	if m.minting.Load() != 0 {
		t.Fatalf("%d calls still counted as minting", m.minting.Load())
	}
}
