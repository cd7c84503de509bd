package rates

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ferry-relay/ferry/clock"
)

// fetchTimeout bounds a fetch that a Cache runs on behalf of its callers,
// for a Source that sets no timeout of its own.
const fetchTimeout = time.Minute

// FailureTTL is how long a Cache answers a pair with the error of its last
// fetch before it asks the source again (never longer than the cache's
// ttl): a price API that is down or never answers costs one request per
// pair every FailureTTL, whatever the number of callers.
const FailureTTL = 10 * time.Second

// Cache serves prices from a Source, fetching each pair at most once per
// ttl. A fetch asks the source for every pair the cache has served before
// whose price is due, in one request, so that a merchant pricing in USD and
// another in EUR cost one request per ttl, not two. Callers that want a
// pair being fetched wait for that fetch. A failed fetch is cached briefly:
// its error is the answer for that pair until FailureTTL (or the ttl, if
// shorter) has passed since the fetch began, and no price is ever served
// past its ttl, counted from when its fetch began. It is safe for
// concurrent use.
type Cache struct {
	src Source
	ttl time.Duration
	clk clock.Clock

	mu      sync.Mutex
	prices  map[Pair]cached
	failed  map[Pair]failure // pairs whose last fetch failed
	served  map[Pair]bool    // pairs fetched before, refreshed together
	flights map[Pair]*flight // fetches under way, by each pair they fetch
}

// cached is a price and when the fetch that got it began.
type cached struct {
	price Price
	at    time.Time
}

// failure is the error of a pair's last fetch and when that fetch began.
type failure struct {
	err error
	at  time.Time
}

// flight is one fetch under way. Its maps are written before done is
// closed and only read after.
type flight struct {
	done   chan struct{}
	prices map[Pair]Price
	errs   map[Pair]error
}

// NewCache returns a cache of src's prices, each kept for ttl by clk's
// time. A nil clk is clock.System{}.
func NewCache(src Source, ttl time.Duration, clk clock.Clock) *Cache {
	if clk == nil {
		clk = clock.System{}
	}
	return &Cache{
		src:     src,
		ttl:     ttl,
		clk:     clk,
		prices:  make(map[Pair]cached),
		failed:  make(map[Pair]failure),
		served:  make(map[Pair]bool),
		flights: make(map[Pair]*flight),
	}
}

// Price returns the price of p: the cached one while it is younger than
// the ttl, else a new one from the source. The error is the source's (see
// Source), that of the last fetch while it is younger than FailureTTL, or
// ctx's if ctx ends first; an invalid p is refused at once.
func (c *Cache) Price(ctx context.Context, p Pair) (Price, error) {
	if err := p.check(); err != nil {
		return Price{}, err
	}
	c.mu.Lock()
	now := c.clk.Now()
	if e, ok := c.prices[p]; ok && c.fresh(e, now) {
		c.mu.Unlock()
		return e.price, nil
	}
	if e, ok := c.failed[p]; ok && now.Sub(e.at) < min(FailureTTL, c.ttl) {
		c.mu.Unlock()
		return Price{}, e.err
	}
	f := c.flights[p]
	if f == nil {
		f = c.startLocked(ctx, p, now)
	}
	c.mu.Unlock()

	select {
	case <-f.done:
	case <-ctx.Done():
		return Price{}, fmt.Errorf("price of %s: %w", p, ctx.Err())
	}
	if price, ok := f.prices[p]; ok {
		return price, nil
	}
	return Price{}, f.errs[p]
}

// fresh reports whether e may still be served at now.
func (c *Cache) fresh(e cached, now time.Time) bool { return now.Sub(e.at) < c.ttl }

// startLocked starts a fetch of p and of every pair served before that is
// due and not being fetched already. The fetch runs apart from the caller,
// so that one caller giving up fails none of the others.
func (c *Cache) startLocked(ctx context.Context, p Pair, now time.Time) *flight {
	var also []Pair
	for q := range c.served {
		if e, ok := c.prices[q]; q != p && c.flights[q] == nil && !(ok && c.fresh(e, now)) {
			also = append(also, q)
		}
	}
	slices.SortFunc(also, func(a, b Pair) int {
		return cmp.Or(cmp.Compare(a.Coin, b.Coin), cmp.Compare(a.Fiat, b.Fiat))
	})
	pairs := append([]Pair{p}, also...)
	f := &flight{done: make(chan struct{})}
	for _, q := range pairs {
		c.flights[q] = f
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
	go func() {
		defer cancel()
		c.fetch(fctx, f, pairs, now)
	}()
	return f
}

// fetch runs flight f for pairs, begun at time at, and files its outcome.
func (c *Cache) fetch(ctx context.Context, f *flight, pairs []Pair, at time.Time) {
	f.prices, f.errs = make(map[Pair]Price), make(map[Pair]error)
	c.ask(ctx, f, pairs)
	if len(pairs) > 1 && len(f.prices) == 0 && errors.Is(f.errs[pairs[0]], ErrUnsupported) {
		// One pair the source does not quote fails them all: ask for
		// each alone, so that each caller learns of its own.
		for _, q := range pairs {
			c.ask(ctx, f, []Pair{q})
		}
	}

	c.mu.Lock()
	for _, q := range pairs {
		delete(c.flights, q)
		if price, ok := f.prices[q]; ok {
			c.prices[q] = cached{price: price, at: at}
			c.served[q] = true
			delete(c.failed, q)
			continue
		}
		delete(c.prices, q)
		c.failed[q] = failure{err: f.errs[q], at: at}
		if errors.Is(f.errs[q], ErrUnsupported) {
			delete(c.served, q)
		}
	}
	c.mu.Unlock()
	close(f.done)
}

// ask fetches pairs from the source into f, replacing what f held for
// them, and checks that each price answered is the pair's and positive.
func (c *Cache) ask(ctx context.Context, f *flight, pairs []Pair) {
	prices, err := c.src.Prices(ctx, pairs)
	for _, q := range pairs {
		delete(f.prices, q)
		price, ok := prices[q]
		switch {
		case err != nil:
			f.errs[q] = err
		case !ok:
			f.errs[q] = fmt.Errorf("%s: %s: %w: no price in the answer", c.src.Name(), q, ErrUnavailable)
		case price.Pair != q || price.Value.IsZero():
			f.errs[q] = fmt.Errorf("%s: %s: %w: price %s of %s is not valid", c.src.Name(), q, ErrUnavailable, price.Value, price.Pair)
		default:
			f.prices[q] = price
			delete(f.errs, q)
		}
	}
}
