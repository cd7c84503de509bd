package relay_test

import (
	"context"
	"fmt"
	"os"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/relay/relaytest"
	"github.com/ferry-relay/ferry/store"
)

// Example builds an engine for Litecoin on regtest over a store, hands out
// an input address (recorded, synced, before it is shown) and reports
// where its deposits stand: none yet. Run would then follow the node's
// blocks, forward each deposit and call the merchant back.
func Example() {
	dir, _ := os.MkdirTemp("", "ferry-example")
	defer os.RemoveAll(dir)
	db, err := store.Open(dir)
	if err != nil {
		panic(err)
	}
	defer db.Close()
	// The scan cursor, as a first start records it at the node's best block.
	if err := db.Start("ltc", []store.BlockRef{{Height: 100, Hash: ferry.Hash{100}, Prev: ferry.Hash{99}}}); err != nil {
		panic(err)
	}

	coin, err := relaytest.OfflineCoin() // a node that cannot be reached
	if err != nil {
		panic(err)
	}
	e, err := relay.New(relay.DefaultConfig(), relay.Deps{Store: db, Coins: []relay.Coin{coin}, Hosts: relaytest.Offline{}, Waker: relaytest.Offline{}})
	if err != nil {
		panic(err)
	}

	ctx := context.Background()
	a, err := e.Mint(ctx, relay.MintRequest{Coin: "ltc", Destination: "rltc1qjmxnz78nmc8nq77wuxh25n2es7rzm5c23g5xdr"})
	if err != nil {
		panic(err)
	}
	fmt.Println(a.Index, a.Address)
	rep, err := e.Report(ctx, "ltc", a.Address)
	if err != nil {
		panic(err)
	}
	fmt.Println(rep.Path, rep.Watched, len(rep.Deposits))
	// Output:
	// 0 rltc1qk8hjy3lf245r7ppr2lfy8zxn8nwrmuas7tq53e
	// m/84'/2'/0'/0/0 true 0
}
