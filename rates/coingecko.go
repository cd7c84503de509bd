package rates

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ferry-relay/ferry/clock"
)

// coinGeckoIDs are CoinGecko's ids of ferry's coins.
var coinGeckoIDs = map[string]string{
	"ltc": "litecoin",
	"btc": "bitcoin",
}

// coinGecko is the source "coingecko": CoinGecko's public simple price API,
// which quotes every coin in every currency in one request.
type coinGecko struct {
	base   string
	client *http.Client
	clock  clock.Clock
}

var _ Source = (*coinGecko)(nil)

// Name returns "coingecko".
func (*coinGecko) Name() string { return "coingecko" }

// Prices asks GET /api/v3/simple/price?ids=…&vs_currencies=… for all pairs
// at once. CoinGecko leaves out what it does not quote: such a pair is an
// error wrapping ErrUnsupported.
func (g *coinGecko) Prices(ctx context.Context, pairs []Pair) (map[Pair]Price, error) {
	pairs, err := wanted(pairs)
	if err != nil {
		return nil, fmt.Errorf("coingecko: %w", err)
	}
	if len(pairs) == 0 {
		return map[Pair]Price{}, nil
	}
	var ids, vs []string
	for _, p := range pairs {
		ids = append(ids, coinGeckoIDs[p.Coin])
		vs = append(vs, strings.ToLower(p.Fiat))
	}
	slices.Sort(ids)
	slices.Sort(vs)
	q := url.Values{
		"ids":           {strings.Join(slices.Compact(ids), ",")},
		"vs_currencies": {strings.Join(slices.Compact(vs), ",")},
	}
	body, err := get(ctx, g.client, g.base+"/api/v3/simple/price?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("coingecko: %w", err)
	}
	prices, err := parseCoinGecko(body, pairs, g.clock.Now())
	if err != nil {
		return nil, fmt.Errorf("coingecko: %w", err)
	}
	return prices, nil
}

// parseCoinGecko reads the prices of pairs from a simple price answer:
// {"litecoin":{"usd":80.12,"eur":74.3},"bitcoin":{"usd":90123}}. The numbers
// are read from their JSON text, exactly.
func parseCoinGecko(body []byte, pairs []Pair, now time.Time) (map[Pair]Price, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var answer map[string]any
	if err := dec.Decode(&answer); err != nil {
		return nil, fmt.Errorf("%w: answer is not a json object: %w", ErrUnavailable, err)
	}
	if answer == nil {
		return nil, fmt.Errorf("%w: answer is null", ErrUnavailable)
	}
	if len(bytes.TrimSpace(body[dec.InputOffset():])) > 0 {
		return nil, fmt.Errorf("%w: answer has data after its json object", ErrUnavailable)
	}
	prices := make(map[Pair]Price, len(pairs))
	for _, p := range pairs {
		id, vs := coinGeckoIDs[p.Coin], strings.ToLower(p.Fiat)
		raw, ok := answer[id]
		if !ok {
			return nil, fmt.Errorf("%s: %w: no price of %s in the answer", p, ErrUnsupported, id)
		}
		quotes, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: %w: %s is not a json object", p, ErrUnavailable, id)
		}
		raw, ok = quotes[vs]
		if !ok {
			return nil, fmt.Errorf("%s: %w: no %s price of %s in the answer", p, ErrUnsupported, vs, id)
		}
		n, ok := raw.(json.Number)
		if !ok {
			return nil, fmt.Errorf("%s: %w: the price is not a number", p, ErrUnavailable)
		}
		v, err := parseQuote(n.String())
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %w", p, ErrUnavailable, err)
		}
		prices[p] = Price{Pair: p, Value: v, Source: "coingecko", Time: now}
	}
	return prices, nil
}
