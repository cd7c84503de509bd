package relay

import (
	"context"
	"sync"
	"testing"

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
	keys := testKeys(t, ltc)
	m, err := NewMinter(ltc, keys, db, store.NewWatchSet(), clock.System{})
	if err != nil {
		t.Fatal(err)
	}
	m.aheadMax = 100
	dest, _ := ltc.ParseDestination("rltc1qjmxnz78nmc8nq77wuxh25n2es7rzm5c23g5xdr")
	ctx, cancel := context.WithCancel(context.Background())
	var run sync.WaitGroup
	run.Go(func() { m.Run(ctx) })

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
	cancel()
	run.Wait()
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

func testKeys(tb testing.TB, coin *chain.Coin) *chain.Keychain {
	tb.Helper()
	seed := make([]byte, 32)
	k, err := chain.NewKeychain(seed, coin.CoinType())
	if err != nil {
		tb.Fatal(err)
	}
	return k
}
