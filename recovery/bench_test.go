package recovery_test

import (
	"context"
	"testing"

	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/chain/regtest"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/recovery"
	"github.com/ferry-relay/ferry/store/storetest"
)

// BenchmarkScan measures a recovery of b.N regtest blocks, one in 50
// paying one of the seed's addresses, from a real litecoind into a real
// store: what a block costs (two RPCs, a decode, a synced batch), and the
// rebuild and the listing of what is stranded once, spread over them.
// Regtest blocks are nearly empty: mainnet's cost more to fetch and decode.
func BenchmarkScan(b *testing.B) {
	ctx := context.Background()
	n := regtest.NewLitecoind(b)
	coin, _ := chain.Litecoin(chain.Regtest)
	keys, err := chain.NewKeychain(make([]byte, 32), coin.CoinType())
	if err != nil {
		b.Fatal(err)
	}
	from, err := n.NodeClient().BlockCount(ctx)
	if err != nil {
		b.Fatal(err)
	}
	// A payment every 50 blocks: most blocks a recovery reads pay none of
	// the seed's addresses.
	payments := 0
	for mined := 0; mined < b.N; {
		if mined%50 == 0 {
			prog, _ := keys.Program(uint32(payments))
			in, _ := coin.InputAddress(prog)
			if _, err := n.Pay(ctx, in.Address, 1_000_000); err != nil {
				b.Fatal(err)
			}
			payments++
		}
		count := min(50, b.N-mined)
		if _, err := n.Mine(ctx, count); err != nil {
			b.Fatal(err)
		}
		mined += count
	}
	fee, _ := n.NewAddress(ctx)
	feeDest, _ := coin.ParseDestination(fee)
	cfg := recovery.Config{Store: storetest.Open(b), Gap: 1000, FeeTarget: 3, Clock: clock.System{}, Progress: progressFunc(func(recovery.Event) {}),
		Coins: []recovery.Coin{{Chain: coin, Keys: keys, Node: n.NodeClient(), FeeAddress: feeDest, MinDeposit: 1_000_000, FallbackFeeRate: 10_000, From: from + 1}}}
	b.ResetTimer()
	reps, err := recovery.Run(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if reps[0].Payments != payments {
		b.Fatalf("%d payments found, want %d", reps[0].Payments, payments)
	}
}
