package rates_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/rates"
)

func TestCoinGeckoPrices(t *testing.T) {
	a := newAPI(t, coinGeckoReply(t))
	clk := clock.NewTest(start)
	src := newSource(t, "coingecko", a, clk)
	if src.Name() != "coingecko" {
		t.Errorf("name %q", src.Name())
	}
	want := map[string]string{
		"LTC/USD": "80.12",
		"LTC/EUR": "74.3",
		"LTC/GBP": "61.07",
		"LTC/JPY": "12000.5",
		"BTC/USD": "90123.456789",
		"BTC/EUR": "83000.5",
		"BTC/CHF": "79550",
	}
	var pairs []rates.Pair
	for s := range want {
		pairs = append(pairs, mustPair(t, s))
	}
	pairs = append(pairs, pairs[0]) // a repeat is asked for once

	prices, err := src.Prices(t.Context(), pairs)
	if err != nil {
		t.Fatal(err)
	}
	if len(prices) != len(want) {
		t.Errorf("%d prices, want %d", len(prices), len(want))
	}
	for s, v := range want {
		p := mustPair(t, s)
		got, ok := prices[p]
		switch {
		case !ok:
			t.Errorf("%s: no price", s)
		case got.Value.String() != v || got.Value.Cmp(mustDecimal(t, v)) != 0:
			t.Errorf("%s: price %s, want exactly %s", s, got.Value, v)
		case got.Pair != p || got.Source != "coingecko" || !got.Time.Equal(start):
			t.Errorf("%s: %+v", s, got)
		}
	}

	// One request, in CoinGecko's form.
	if a.requests() != 1 {
		t.Fatalf("%d requests, want 1", a.requests())
	}
	q := a.lastQuery(t)
	if q.Get("ids") != "bitcoin,litecoin" || q.Get("vs_currencies") != "chf,eur,gbp,jpy,usd" {
		t.Errorf("query %v", q)
	}
	if a.agents[0] != "ferry/1" {
		t.Errorf("user agent %q", a.agents[0])
	}
}

// TestCoinGeckoNumberForms: JSON numbers in any form are read exactly.
func TestCoinGeckoNumberForms(t *testing.T) {
	a := newAPI(t, nil)
	a.set(http.StatusOK, `{"litecoin":{"usd":8.012e1,"eur":7430E-2,"gbp":61.070000000000000000000000000000000000000000}}`)
	src := newSource(t, "coingecko", a, clock.NewTest(start))
	prices, err := src.Prices(t.Context(), []rates.Pair{{Coin: "ltc", Fiat: "USD"}, {Coin: "ltc", Fiat: "EUR"}, {Coin: "ltc", Fiat: "GBP"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := prices[rates.Pair{Coin: "ltc", Fiat: "USD"}].Value.String(); got != "80.12" {
		t.Errorf("8.012e1 read as %s", got)
	}
	if got := prices[rates.Pair{Coin: "ltc", Fiat: "EUR"}].Value.String(); got != "74.3" {
		t.Errorf("7430E-2 read as %s", got)
	}
	if got := prices[rates.Pair{Coin: "ltc", Fiat: "GBP"}].Value.String(); got != "61.07" {
		t.Errorf("61.07000… read as %s", got)
	}
}

func TestCoinGeckoErrors(t *testing.T) {
	ltcUSD := rates.Pair{Coin: "ltc", Fiat: "USD"}
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   error
	}{
		{"server error", 500, `{"error":"internal"}`, rates.ErrUnavailable},
		{"rate limited", 429, readFile(t, "coingecko/rate_limited.json"), rates.ErrUnavailable},
		{"malformed", 200, `{"litecoin":{"usd":80.12}`, rates.ErrUnavailable},
		{"not json", 200, `<html>busy</html>`, rates.ErrUnavailable},
		{"null", 200, `null`, rates.ErrUnavailable},
		{"trailing data", 200, `{"litecoin":{"usd":80.12}} {}`, rates.ErrUnavailable},
		{"array", 200, `[80.12]`, rates.ErrUnavailable},
		{"missing coin", 200, `{"bitcoin":{"usd":90000}}`, rates.ErrUnsupported},
		{"empty", 200, `{}`, rates.ErrUnsupported},
		{"missing currency", 200, `{"litecoin":{"eur":74.3}}`, rates.ErrUnsupported},
		{"coin not an object", 200, `{"litecoin":80.12}`, rates.ErrUnavailable},
		{"zero", 200, `{"litecoin":{"usd":0}}`, rates.ErrUnavailable},
		{"zero decimals", 200, `{"litecoin":{"usd":0.000}}`, rates.ErrUnavailable},
		{"negative", 200, `{"litecoin":{"usd":-80.12}}`, rates.ErrUnavailable},
		{"huge", 200, `{"litecoin":{"usd":1e30}}`, rates.ErrUnavailable},
		{"huge exponent", 200, `{"litecoin":{"usd":1e999999999}}`, rates.ErrUnavailable},
		{"tiny", 200, `{"litecoin":{"usd":1e-25}}`, rates.ErrUnavailable},
		{"string", 200, `{"litecoin":{"usd":"80.12"}}`, rates.ErrUnavailable},
		{"null price", 200, `{"litecoin":{"usd":null}}`, rates.ErrUnavailable},
		{"object price", 200, `{"litecoin":{"usd":{"value":80}}}`, rates.ErrUnavailable},
		{"over 1 MiB", 200, `{"litecoin":{"usd":80.12},"pad":"` + strings.Repeat("x", 1<<20) + `"}`, rates.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAPI(t, nil)
			a.set(tc.status, tc.body)
			src := newSource(t, "coingecko", a, clock.NewTest(start))
			prices, err := src.Prices(t.Context(), []rates.Pair{ltcUSD})
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, %v; want an error wrapping %q", prices, err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "coingecko: ") {
				t.Errorf("error %q does not name the source", err)
			}
		})
	}
}

func TestCoinGeckoRateLimitMessage(t *testing.T) {
	a := newAPI(t, nil)
	a.set(http.StatusTooManyRequests, readFile(t, "coingecko/rate_limited.json"))
	src := newSource(t, "coingecko", a, clock.NewTest(start))
	_, err := src.Prices(t.Context(), []rates.Pair{{Coin: "btc", Fiat: "EUR"}})
	if err == nil || !strings.Contains(err.Error(), "429") || !strings.Contains(err.Error(), "Rate Limit") {
		t.Errorf("error %v does not give the status and CoinGecko's reason", err)
	}
}
