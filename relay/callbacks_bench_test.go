package relay_test

import (
	"encoding/binary"
	"flag"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/notify"
	"github.com/ferry-relay/ferry/notify/notifytest"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/relay/relaytest"
	"github.com/ferry-relay/ferry/store"
)

// callbackCount is how many callbacks BenchmarkCallbacks queues: make
// test runs it at 1,000, make bench at 100,000.
var callbackCount = flag.Int("callbacks", 1000, "callbacks queued by BenchmarkCallbacks")

// queueCallbacks records n deposits to addresses whose callbacks go to
// base, each forwarded and its callback pending, the way the engine
// records them; it returns the store and the coin's callback queue.
func queueCallbacks(tb testing.TB, n int, base string) (*store.DB, *notify.BlockQueue) {
	tb.Helper()
	ltc, _ := chain.Litecoin(chain.Regtest)
	db := relaytest.OpenStore(tb)
	if err := db.Start("ltc", []store.BlockRef{{Height: 100, Hash: ferry.Hash{100}}}); err != nil {
		tb.Fatal(err)
	}
	d, _ := ltc.ParseDestination(dest)
	m, err := relay.NewMinter(ltc, relaytest.Keys(tb, ltc), db, store.NewWatchSet(), clock.System{})
	if err != nil {
		tb.Fatal(err)
	}
	c := &store.Changes{Coin: "ltc", Height: 101, Hash: ferry.Hash{101}, Prev: ferry.Hash{100}}
	var host string
	for i := range n {
		a, err := m.Mint(d, base+"/cb?order=1", true)
		if err != nil {
			tb.Fatal(err)
		}
		var txid ferry.Hash
		binary.BigEndian.PutUint64(txid[:], uint64(i)+1)
		c.Deposits = append(c.Deposits, ferry.Deposit{OutPoint: ferry.OutPoint{Hash: txid}, AddrIndex: a.Index, Value: 2_000_000, Height: 101})
		host = a.Callback
	}
	if err := db.Apply(c); err != nil {
		tb.Fatal(err)
	}
	host = host[len("http://"):]
	host = host[:len(host)-len("/cb?order=1")]
	for _, dep := range c.Deposits {
		if err := db.PutForward(&store.Forward{Forward: ferry.Forward{TxID: ferry.Hash{1}, Value: dep.Value}, Coin: "ltc", OutPoint: dep.OutPoint, AddrIndex: dep.AddrIndex, Accepted: true}); err != nil {
			tb.Fatal(err)
		}
		if err := db.StartCallback("ltc", store.OutPointRef(dep.OutPoint), host, 101); err != nil {
			tb.Fatal(err)
		}
	}
	q := relay.NewCallbackQueue(relay.CallbackQueueConfig{Coin: ltc, Store: db, Key: []byte("k"), MaxConfirmations: 100, Clock: clock.System{}, Log: zerolog.Nop()})
	return db, q
}

// sampleHeap samples the heap in use every 50 ms from now until the
// function it returns is called, which returns the most the heap grew
// above where it was, in MB.
func sampleHeap() (peak func() float64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, top := ms.HeapInuse, ms.HeapInuse
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				runtime.ReadMemStats(&ms)
				top = max(top, ms.HeapInuse)
			}
		}
	}()
	return func() float64 {
		close(done)
		<-stopped
		return float64(top-base) / (1 << 20)
	}
}

// BenchmarkCallbacks delivers -callbacks callbacks due at once, through
// the store-backed queue and the notifier with its defaults (32 workers,
// 2 per host), to a local endpoint answering *ok* ("sink", in callbacks
// per second, all delivered and recorded, and in MB of heap added at the
// most while delivering them); and keeps as many pending to a host that
// refuses every connection ("dead", in MB of heap added while the
// notifier runs over them).
func BenchmarkCallbacks(b *testing.B) {
	n := *callbackCount
	b.Run("sink", func(b *testing.B) {
		sink := notifytest.NewEndpoint(b, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("*ok*")) })
		var rate, grown float64
		for range b.N {
			b.StopTimer()
			db, q := queueCallbacks(b, n, sink.URL)
			sent := sink.Requests.Load()
			peak := sampleHeap()
			b.StartTimer()
			start := time.Now()
			stop := notifytest.Run(b, q)
			relaytest.WaitWithin(b, 10*time.Minute, "every callback", func() bool { return sink.Requests.Load()-sent >= int64(n) })
			// Each ack is recorded before its worker takes the next one:
			// with the workers stopped, the queue is empty.
			stop()
			elapsed := time.Since(start)
			grown = peak()
			if left, err := db.QueuedCallbacks("ltc"); err != nil || left != 0 {
				b.Fatalf("%d callbacks left in the queue, %v", left, err)
			}
			rate = float64(n) / elapsed.Seconds()
		}
		b.ReportMetric(rate, "callbacks/s")
		b.ReportMetric(grown, "MB")
	})
	b.Run("dead", func(b *testing.B) {
		dead := notifytest.DeadURL(b)
		var grown float64
		for range b.N {
			b.StopTimer()
			_, q := queueCallbacks(b, n, dead)
			b.StartTimer()
			// The first attempts fail and the host is paused.
			grown = notifytest.HeapAdded(b, 2*time.Second, q)
		}
		b.ReportMetric(grown, "MB")
	})
}
