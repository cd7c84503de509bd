package rates_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/rates"
)

const ttl = 5 * time.Minute

func TestCacheTTL(t *testing.T) {
	a := newAPI(t, coinGeckoReply(t))
	clk := clock.NewTest(start)
	c := rates.NewCache(newSource(t, "coingecko", a, clk), ttl, clk)
	ltcUSD := rates.Pair{Coin: "ltc", Fiat: "USD"}

	for range 3 {
		p, err := c.Price(t.Context(), ltcUSD)
		if err != nil || p.Value.String() != "80.12" || p.Pair != ltcUSD {
			t.Fatalf("%+v, %v", p, err)
		}
	}
	clk.Advance(ttl - time.Nanosecond)
	if _, err := c.Price(t.Context(), ltcUSD); err != nil {
		t.Fatal(err)
	}
	if a.requests() != 1 {
		t.Fatalf("%d requests within the ttl, want 1", a.requests())
	}

	clk.Advance(time.Nanosecond)
	p, err := c.Price(t.Context(), ltcUSD)
	if err != nil || !p.Time.Equal(start.Add(ttl)) {
		t.Fatalf("%+v, %v", p, err)
	}
	if a.requests() != 2 {
		t.Fatalf("%d requests after the ttl, want 2", a.requests())
	}
}

// TestCacheBatches: pairs served before are fetched again together, in
// one request, once they are due.
func TestCacheBatches(t *testing.T) {
	a := newAPI(t, coinGeckoReply(t))
	clk := clock.NewTest(start)
	c := rates.NewCache(newSource(t, "coingecko", a, clk), ttl, clk)
	ltcUSD, btcEUR := rates.Pair{Coin: "ltc", Fiat: "USD"}, rates.Pair{Coin: "btc", Fiat: "EUR"}

	for _, p := range []rates.Pair{ltcUSD, btcEUR} {
		if _, err := c.Price(t.Context(), p); err != nil {
			t.Fatal(err)
		}
	}
	if a.requests() != 2 {
		t.Fatalf("%d requests, want 2", a.requests())
	}

	clk.Advance(ttl)
	if _, err := c.Price(t.Context(), ltcUSD); err != nil {
		t.Fatal(err)
	}
	q := a.lastQuery(t)
	if q.Get("ids") != "bitcoin,litecoin" || q.Get("vs_currencies") != "eur,usd" {
		t.Errorf("the refresh asked %v", q)
	}
	p, err := c.Price(t.Context(), btcEUR)
	if err != nil || p.Value.String() != "83000.5" {
		t.Fatalf("%+v, %v", p, err)
	}
	if a.requests() != 3 {
		t.Errorf("%d requests, want 3", a.requests())
	}
}

// TestCacheFailureCachedBriefly: a failed fetch answers its pair for
// FailureTTL, with no request, then the pair is fetched again.
func TestCacheFailureCachedBriefly(t *testing.T) {
	a := newAPI(t, nil)
	clk := clock.NewTest(start)
	c := rates.NewCache(newSource(t, "coingecko", a, clk), ttl, clk)
	ltcUSD := rates.Pair{Coin: "ltc", Fiat: "USD"}

	a.set(http.StatusTooManyRequests, readFile(t, "coingecko/rate_limited.json"))
	for range 3 {
		if _, err := c.Price(t.Context(), ltcUSD); !errors.Is(err, rates.ErrUnavailable) {
			t.Fatalf("got %v, want ErrUnavailable", err)
		}
	}
	if a.requests() != 1 {
		t.Fatalf("%d requests for a failure, want 1", a.requests())
	}
	a.set(http.StatusOK, `{"litecoin":{"usd":0}}`)
	clk.Advance(rates.FailureTTL - time.Nanosecond)
	if _, err := c.Price(t.Context(), ltcUSD); !errors.Is(err, rates.ErrUnavailable) || a.requests() != 1 {
		t.Fatalf("within FailureTTL: %v, %d requests", err, a.requests())
	}
	clk.Advance(time.Nanosecond)
	if _, err := c.Price(t.Context(), ltcUSD); !errors.Is(err, rates.ErrUnavailable) {
		t.Fatalf("a zero price: %v", err)
	}

	// Once FailureTTL has passed, the pair is fetched again.
	a.set(http.StatusOK, `{"litecoin":{"usd":80.12}}`)
	clk.Advance(rates.FailureTTL)
	p, err := c.Price(t.Context(), ltcUSD)
	if err != nil || p.Value.String() != "80.12" {
		t.Fatalf("%+v, %v", p, err)
	}
	if a.requests() != 3 {
		t.Fatalf("%d requests, want 3", a.requests())
	}

	// A failure once the price is due serves no stale price.
	clk.Advance(ttl)
	a.set(http.StatusInternalServerError, "")
	if p, err := c.Price(t.Context(), ltcUSD); !errors.Is(err, rates.ErrUnavailable) {
		t.Fatalf("got %+v, %v; want ErrUnavailable", p, err)
	}
}

func TestCacheConcurrent(t *testing.T) {
	a := newAPI(t, coinGeckoReply(t))
	hold, arrived := make(chan struct{}), make(chan struct{}, 64)
	a.hold, a.arrived = hold, arrived
	clk := clock.NewTest(start)
	c := rates.NewCache(newSource(t, "coingecko", a, clk), ttl, clk)
	pairs := []rates.Pair{{Coin: "ltc", Fiat: "USD"}, {Coin: "btc", Fiat: "USD"}}

	const callers = 16
	var wg sync.WaitGroup
	errs := make(chan error, 2*callers)
	for i := range 2 * callers {
		wg.Go(func() {
			p, err := c.Price(t.Context(), pairs[i%2])
			if err == nil && p.Pair != pairs[i%2] {
				err = errors.New("price of another pair")
			}
			if err == nil && p.Value.String() == "" {
				err = errors.New("no price") // reads the shared value, for -race
			}
			errs <- err
		})
	}
	<-arrived
	close(hold)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	// One fetch per pair, however the callers met.
	if n := a.requests(); n != 2 {
		t.Errorf("%d requests for 2 pairs", n)
	}
}

// TestCacheCallerGivesUp: a caller whose context ends gets its error; the
// fetch goes on for the others.
func TestCacheCallerGivesUp(t *testing.T) {
	a := newAPI(t, coinGeckoReply(t))
	hold, arrived := make(chan struct{}), make(chan struct{}, 1)
	a.hold, a.arrived = hold, arrived
	clk := clock.NewTest(start)
	c := rates.NewCache(newSource(t, "coingecko", a, clk), ttl, clk)
	ltcUSD := rates.Pair{Coin: "ltc", Fiat: "USD"}

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := c.Price(ctx, ltcUSD)
		done <- err
	}()
	<-arrived
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	close(hold)
	p, err := c.Price(t.Context(), ltcUSD)
	if err != nil || p.Value.String() != "80.12" {
		t.Fatalf("%+v, %v", p, err)
	}
	if a.requests() != 1 {
		t.Errorf("%d requests, want 1", a.requests())
	}
}

// TestCacheUnsupportedAmongOthers: a pair the source does not quote, asked
// for along with pairs due for a refresh, fails alone.
func TestCacheUnsupportedAmongOthers(t *testing.T) {
	a := newAPI(t, krakenReply(t))
	clk := clock.NewTest(start)
	c := rates.NewCache(newSource(t, "kraken", a, clk), ttl, clk)
	ltcUSD, ltcCAD := rates.Pair{Coin: "ltc", Fiat: "USD"}, rates.Pair{Coin: "ltc", Fiat: "CAD"}

	if _, err := c.Price(t.Context(), ltcUSD); err != nil {
		t.Fatal(err)
	}
	clk.Advance(ttl)
	if _, err := c.Price(t.Context(), ltcCAD); !errors.Is(err, rates.ErrUnsupported) {
		t.Fatalf("LTC/CAD: %v", err)
	}
	// LTCCAD,LTCUSD together, then each alone.
	if a.requests() != 4 {
		t.Fatalf("%d requests, want 4", a.requests())
	}
	if p, err := c.Price(t.Context(), ltcUSD); err != nil || p.Value.String() != "80.12" {
		t.Fatalf("%+v, %v", p, err)
	}
	if a.requests() != 4 {
		t.Errorf("LTC/USD fetched again: %d requests", a.requests())
	}

	// The unsupported pair is not asked for again with the others.
	clk.Advance(ttl)
	if _, err := c.Price(t.Context(), ltcUSD); err != nil {
		t.Fatal(err)
	}
	if got := a.lastQuery(t).Get("pair"); got != "LTCUSD" {
		t.Errorf("pair=%s", got)
	}
}

func TestCacheRefusesBadPair(t *testing.T) {
	a := newAPI(t, coinGeckoReply(t))
	c := rates.NewCache(newSource(t, "coingecko", a, nil), ttl, nil)
	if _, err := c.Price(t.Context(), rates.Pair{Coin: "doge", Fiat: "USD"}); !errors.Is(err, rates.ErrUnknownCoin) {
		t.Errorf("doge: %v", err)
	}
	if _, err := c.Price(t.Context(), rates.Pair{Coin: "ltc", Fiat: "SEK"}); !errors.Is(err, rates.ErrUnknownCurrency) {
		t.Errorf("SEK: %v", err)
	}
	if a.requests() != 0 {
		t.Errorf("%d requests", a.requests())
	}
}
