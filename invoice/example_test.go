package invoice_test

import (
	"context"
	"fmt"
	"os"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/rates"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/relay/relaytest"
	"github.com/ferry-relay/ferry/store"
)

// Example wires the parts as the daemon does, in order: the hold policy,
// the relay it is handed to, the invoice engine over both; then a vendor
// and a $10 invoice, quoted at a static $80 a litecoin and given an input
// address, waiting to be paid.
func Example() {
	dir, _ := os.MkdirTemp("", "ferry-example")
	defer os.RemoveAll(dir)
	db, err := store.Open(dir)
	if err != nil {
		panic(err)
	}
	defer db.Close()
	if err := db.Start("ltc", []store.BlockRef{{Height: 100, Hash: ferry.Hash{100}, Prev: ferry.Hash{99}}}); err != nil {
		panic(err)
	}
	coin, err := relaytest.OfflineCoin() // a node that cannot be reached
	if err != nil {
		panic(err)
	}
	coins, node := []relay.Coin{coin}, relaytest.Offline{}

	// The hold policy first, then the relay that asks it, then the
	// invoice engine over both, following the relay's events.
	hc := invoice.DefaultHoldsConfig()
	hc.Store, hc.Ledger = db, relay.NewLedger(db, coins)
	holds, err := invoice.NewHolds(hc)
	if err != nil {
		panic(err)
	}
	events := make(chan relay.Event, 64)
	engine, err := relay.New(relay.DefaultConfig(), relay.Deps{Store: db, Coins: coins, Hosts: node, Waker: node, Releaser: holds, Events: events})
	if err != nil {
		panic(err)
	}
	src, _ := rates.New("static:LTC/USD=80", rates.Options{})
	cfg := invoice.DefaultConfig()
	cfg.Network, cfg.Relay, cfg.Store, cfg.Quoter, cfg.Waker, cfg.Holds, cfg.Events = chain.Regtest, engine, db, rates.NewCache(src, 0, nil), node, holds, events
	invoices, err := invoice.New(cfg)
	if err != nil {
		panic(err)
	}

	ctx := context.Background()
	creds, err := invoices.AddVendor(ctx, invoice.NewVendor{Name: "Coffee Shop", Email: "owner@shop.example",
		Payout: map[string]string{"ltc": "rltc1qjmxnz78nmc8nq77wuxh25n2es7rzm5c23g5xdr"}})
	if err != nil {
		panic(err)
	}
	v, err := invoices.Create(ctx, invoice.Request{Vendor: creds.Vendor, Dialect: "litepay", Number: "22", Amount: "10", Currency: "USD", Prefix: "LTPP-"})
	if err != nil {
		panic(err)
	}
	c := v.Coins[0]
	fmt.Println(v.Status, v.Amount, v.Currency, c.Due, c.Rate, c.Address)
	// Output: pending 10 USD 0.12500000 80 rltc1qk8hjy3lf245r7ppr2lfy8zxn8nwrmuas7tq53e
}
