package relay

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/ltcsuite/ltcd/chaincfg/chainhash"
	"github.com/ltcsuite/ltcd/wire"
	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/store"
	"github.com/ferry-relay/ferry/store/storetest"
)

// benchBlock builds a Litecoin block of about 1 MB: a coinbase and 2,500
// transactions, each spending two P2WPKH outputs to two outputs (P2WPKH,
// P2PKH or P2TR), with real-sized witnesses. The first len(pay) transactions
// pay the given scripts.
func benchBlock(tb testing.TB, pay [][]byte) []byte {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	rnd := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	scripts := []func() []byte{
		func() []byte { return append([]byte{0x00, 0x14}, rnd(20)...) },
		func() []byte { return append(append([]byte{0x76, 0xa9, 0x14}, rnd(20)...), 0x88, 0xac) },
		func() []byte { return append([]byte{0x51, 0x20}, rnd(32)...) },
	}
	blk := wire.NewMsgBlock(wire.NewBlockHeader(0x20000000, &chainhash.Hash{}, &chainhash.Hash{}, 0x207fffff, 0))
	cb := wire.NewMsgTx(2)
	cb.AddTxIn(&wire.TxIn{PreviousOutPoint: wire.OutPoint{Index: 0xffffffff}, SignatureScript: []byte{1, 2, 3, 4}, Sequence: 0xffffffff})
	cb.AddTxOut(wire.NewTxOut(625_000_000, scripts[0]()))
	blk.AddTransaction(cb)
	for i := range 2500 {
		tx := wire.NewMsgTx(2)
		for range 2 {
			var h chainhash.Hash
			copy(h[:], rnd(32))
			tx.AddTxIn(&wire.TxIn{PreviousOutPoint: wire.OutPoint{Hash: h, Index: 1}, Sequence: 0xfffffffd,
				Witness: wire.TxWitness{rnd(72), append([]byte{0x02}, rnd(32)...)}})
		}
		for j := range 2 {
			s := scripts[rng.IntN(3)]()
			if j == 0 && i < len(pay) {
				s = pay[i]
			}
			tx.AddTxOut(wire.NewTxOut(int64(1_000_000+rng.IntN(1e9)), s))
		}
		blk.AddTransaction(tx)
	}
	var buf bytes.Buffer
	if err := blk.Serialize(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// benchParts is a scanner and a minter over a synced store in a temporary
// directory, sharing a watch set.
type benchParts struct {
	scanner *Scanner
	minter  *Minter
	watch   *store.WatchSet
	coin    *chain.Coin
	dest    chain.Destination
}

// newBenchParts returns a coin's scanner and minter with watched programs:
// the first paid are real minted addresses, and filler pseudo-random
// programs bring the set to n. It returns the scripts paying the minted
// ones.
func newBenchParts(tb testing.TB, n int, paid int) (*benchParts, [][]byte) {
	tb.Helper()
	db := storetest.Open(tb)
	if err := db.Start("ltc", []store.BlockRef{{Height: 0, Hash: ferry.Hash{1}}}); err != nil {
		tb.Fatal(err)
	}
	coin, _ := chain.Litecoin(chain.Regtest)
	dest, _ := coin.ParseDestination("rltc1qjmxnz78nmc8nq77wuxh25n2es7rzm5c23g5xdr")
	watch := store.NewWatchSet()
	p := &benchParts{watch: watch, coin: coin, dest: dest}
	seed, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	keys, _ := chain.NewKeychain(seed, coin.CoinType())
	var err error
	if p.minter, err = NewMinter(coin, keys, db, watch, clock.System{}); err != nil {
		tb.Fatal(err)
	}
	if p.scanner, err = NewScanner(ScannerConfig{Coin: coin, Store: db, Watch: watch, Clock: clock.System{}, Log: zerolog.Nop()}); err != nil {
		tb.Fatal(err)
	}
	var pay [][]byte
	for range paid {
		a, err := p.minter.Mint(dest, "", false)
		if err != nil {
			tb.Fatal(err)
		}
		pay = append(pay, chain.P2WPKHScript(a.Program))
	}
	var prog [20]byte
	for i := watch.Len(); i < n; i++ {
		binary.BigEndian.PutUint64(prog[:], uint64(i)*0x9E3779B97F4A7C15)
		binary.BigEndian.PutUint64(prog[8:], uint64(i))
		watch.Add(prog[:])
	}
	return p, pay
}

// watched lists the sizes of watch set the benchmarks run at: make test
// runs them small.
var watched = flag.String("watched", "1000000,10000000", "watch set sizes of BenchmarkScanBlock, comma-separated")

func watchedSizes(tb testing.TB) []int {
	tb.Helper()
	var ns []int
	for _, f := range strings.Split(*watched, ",") {
		n, err := strconv.Atoi(f)
		if err != nil {
			tb.Fatalf("-watched: %v", err)
		}
		ns = append(ns, n)
	}
	return ns
}

// millions names a size: "10M", or "2000" below a million.
func millions(n int) string {
	if n >= 1_000_000 && n%1_000_000 == 0 {
		return fmt.Sprintf("%dM", n/1_000_000)
	}
	return strconv.Itoa(n)
}

// BenchmarkScanBlock scans a 1 MB, 2,500-transaction block (read in place,
// watch set lookups, store lookups for the ten deposits it pays) against
// 1M and 10M watched addresses (-watched); "deserialize" is ltcd's plain
// wire.MsgBlock.Deserialize of the same block, the decode a scan used to
// start with.
func BenchmarkScanBlock(b *testing.B) {
	_, pay := newBenchParts(b, 0, 10)
	raw := benchBlock(b, pay)
	b.Run("deserialize", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			var m wire.MsgBlock
			if err := m.Deserialize(bytes.NewReader(raw)); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, n := range watchedSizes(b) {
		b.Run(fmt.Sprintf("watched=%s", millions(n)), func(b *testing.B) {
			p, pay := newBenchParts(b, n, 10)
			raw := benchBlock(b, pay)
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				blk, err := p.coin.DecodeBlock(raw)
				if err != nil {
					b.Fatal(err)
				}
				upd, err := p.scanner.scan(blk, 1000)
				if err != nil || len(upd.Deposits) != 10 {
					b.Fatalf("%d deposits, %v", len(upd.Deposits), err)
				}
			}
		})
	}
}

// BenchmarkMint measures minting an input address: derivation, a synced
// store write, the watch set; one client, and many in parallel (the store
// merges their synced writes).
func BenchmarkMint(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		p, _ := newBenchParts(b, 0, 0)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := p.minter.Mint(p.dest, "https://shop.example/cb?id=1", true); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel=64", func(b *testing.B) {
		p, _ := newBenchParts(b, 0, 0)
		b.SetParallelism(32) // 64 goroutines on 2 CPUs
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := p.minter.Mint(p.dest, "https://shop.example/cb?id=1", true); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
