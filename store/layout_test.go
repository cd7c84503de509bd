package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/store"
	"github.com/ferry-relay/ferry/store/storetest"
)

// realAddress returns an address of coin on regtest at index, with a real
// input address and destination (the texts the store derives).
func realAddress(t testing.TB, coin string, index uint32, dest string) *store.Address {
	t.Helper()
	c, err := chain.CoinByID(coin, chain.Regtest)
	if err != nil {
		t.Fatal(err)
	}
	var prog [20]byte
	h := hashOf(int64(index) + 7e9)
	copy(prog[:], h[:])
	in, err := c.InputAddress(prog)
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.ParseDestination(dest)
	if err != nil {
		t.Fatal(err)
	}
	return &store.Address{Coin: coin, Index: index, Program: prog, Address: in.Address, Destination: d.Address, DestScript: d.Script,
		Callback: "https://shop.example/cb.php?id=7", CallbackReq: true, Created: time.Unix(1700000000, 123).UTC()}
}

// TestAddressRecords puts addresses whose texts the store derives (every
// destination type, both coins, a later activity) and some it cannot
// (made-up texts, a store without a network), and reads each back whole,
// after a reopen.
func TestAddressRecords(t *testing.T) {
	dests := map[string][]string{
		"ltc": {"rltc1qqypqxpq9qcrsszg2pvxq6rs0zqg3yyc5l62ze4", "mfcHP2WMCVLsVZA8yrovmhMgxNFW9r98xw", "QLhKCGi5ZvnS9amYgdA353vzbdbWYBoxD8",
			"rltc1pgpq5ys6yg4rywjzfff95cn2wfag9z5jn2324v46ct9d9khzate0sqvyz88"},
		"btc": {"bcrt1qqypqxpq9qcrsszg2pvxq6rs0zqg3yyc5phstwt", "bcrt1qgpq5ys6yg4rywjzfff95cn2wfag9z5jn2324v46ct9d9khzate0szcw5sk"},
	}
	for _, network := range []string{"regtest", ""} {
		t.Run("network="+network, func(t *testing.T) {
			dir := t.TempDir()
			db, err := store.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			if network != "" {
				if err := db.CheckNetwork(network); err != nil {
					t.Fatal(err)
				}
			}
			var want []*store.Address
			for coin, ds := range dests {
				for i, d := range ds {
					a := realAddress(t, coin, uint32(i), d)
					if i == 1 {
						a.LastActivity = a.Created.Add(time.Hour)
					}
					want = append(want, a)
				}
			}
			madeUp := &store.Address{Coin: "ltc", Index: 90, Address: "rltc1q…", Destination: "ltc1qdest", DestScript: []byte{0, 20, 1},
				Created: time.Unix(1600000000, 0).UTC()}
			copy(madeUp.Program[:], "made-up-program-0001")
			want = append(want, madeUp)
			for _, a := range want {
				if err := db.PutAddress(a); err != nil {
					t.Fatal(err)
				}
			}
			db.Close()
			if db, err = store.Open(dir); err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			for _, a := range want {
				got, err := db.AddressByProgram(a.Coin, a.Program[:])
				if err != nil {
					t.Fatalf("%s/%d: %v", a.Coin, a.Index, err)
				}
				if got.Address != a.Address || got.Destination != a.Destination || string(got.DestScript) != string(a.DestScript) ||
					got.Callback != a.Callback || got.CallbackReq != a.CallbackReq || got.Program != a.Program ||
					!got.Created.Equal(a.Created) || !got.LastActivity.Equal(a.LastActivity) || got.Index != a.Index {
					t.Errorf("%s/%d: got %+v, want %+v", a.Coin, a.Index, got, a)
				}
			}
		})
	}
}

// TestExpiredAddressFound checks that an address is found by its program
// while watched, after it expires, and after the expiry is rolled back.
func TestExpiredAddressFound(t *testing.T) {
	db := storetest.Open(t)
	mustStart(t, db, "ltc")
	a := realAddress(t, "ltc", 5, "rltc1qqypqxpq9qcrsszg2pvxq6rs0zqg3yyc5l62ze4")
	if err := db.PutAddress(a); err != nil {
		t.Fatal(err)
	}
	find := func(when string, watched bool) {
		t.Helper()
		got, err := db.AddressByProgram("ltc", a.Program[:])
		if err != nil || got.Index != a.Index || got.Address != a.Address {
			t.Fatalf("%s: AddressByProgram = %+v, %v", when, got, err)
		}
		if w, err := db.Watched("ltc", a.Program[:]); err != nil || w != watched {
			t.Fatalf("%s: Watched = %v, %v; want %v", when, w, err, watched)
		}
	}
	find("watched", true)
	b := chainBlock("ltc", 101, 0)
	b.Now = a.Created.Add(24 * time.Hour)
	b.Expire = []uint32{5}
	if err := db.Apply(b); err != nil {
		t.Fatal(err)
	}
	find("expired", false)
	if _, err := db.Rollback("ltc"); err != nil {
		t.Fatal(err)
	}
	find("rolled back", true)
	var other [20]byte
	if _, err := db.AddressByProgram("ltc", other[:]); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown program: %v", err)
	}
}
