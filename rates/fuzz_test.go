package rates_test

import (
	"errors"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/rates"
)

func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"0", "80.12", "61.07", "90123.456789", ".5", "5.", "074.30",
		"", ".", "-1", "1e5", "1,000", "999999999999999999.999999999999999999", "1.2.3", "١"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := rates.ParseDecimal(s)
		if err != nil {
			if !errors.Is(err, rates.ErrBadDecimal) {
				t.Fatalf("%q: error %v does not wrap ErrBadDecimal", s, err)
			}
			return
		}
		// An accepted decimal prints exactly and parses back to itself.
		again, err := rates.ParseDecimal(d.String())
		if err != nil || again.Cmp(d) != 0 {
			t.Fatalf("%q printed as %q: %v", s, d, err)
		}
		again, err = rates.ParseDecimal(d.Fixed(18))
		if err != nil || again.Cmp(d) != 0 {
			t.Fatalf("%q fixed as %q: %v", s, d.Fixed(18), err)
		}
		if d.Rat().Sign() < 0 {
			t.Fatalf("%q is negative", s)
		}
	})
}

func FuzzParseFiatAmount(f *testing.F) {
	for _, s := range []string{"10", "10.50", "0.01", "1000000000", "0", "-1", "1e9999", "abc", "1,000", "", "1.000", "1500.5"} {
		f.Add(s, "USD")
		f.Add(s, "JPY")
	}
	f.Add("10", "xyz")
	f.Fuzz(func(t *testing.T, s, currency string) {
		d, err := rates.ParseFiatAmount(s, currency)
		if err != nil {
			if !errors.Is(err, rates.ErrBadAmount) && !errors.Is(err, rates.ErrUnknownCurrency) {
				t.Fatalf("%q %q: error %v wraps no sentinel", s, currency, err)
			}
			return
		}
		cur, err := rates.CheckCurrency(currency)
		if err != nil {
			t.Fatalf("%q accepted in unknown currency %q", s, currency)
		}
		if d.IsZero() || d.Cmp(mustDecimal(t, "1000000000")) > 0 {
			t.Fatalf("%q %s accepted as %s", s, cur, d)
		}
		// Accepted amounts print exactly in the currency's decimals.
		again, err := rates.ParseFiatAmount(d.Fixed(rates.MinorUnits(cur)), cur)
		if err != nil || again.Cmp(d) != 0 {
			t.Fatalf("%q %s: Fixed gives %q: %v", s, cur, d.Fixed(rates.MinorUnits(cur)), err)
		}
		again, err = rates.ParseFiatAmount(d.String(), cur)
		if err != nil || again.Cmp(d) != 0 {
			t.Fatalf("%q %s: String gives %q: %v", s, cur, d, err)
		}
		if _, err := rates.Satoshis(d, rates.Price{Pair: rates.Pair{Coin: "btc", Fiat: cur}, Value: mustDecimal(t, "90000")}); err != nil {
			t.Fatalf("%q %s: %v", s, cur, err)
		}
	})
}

// fuzzAPI is an api whose answer a fuzz target sets for each input.
type fuzzAPI struct {
	*api
	mu   sync.Mutex
	body string
}

func newFuzzAPI(f *testing.F) *fuzzAPI {
	fa := &fuzzAPI{}
	fa.api = newAPI(f, func(url.Values) (int, string) {
		fa.mu.Lock()
		defer fa.mu.Unlock()
		return http.StatusOK, fa.body
	})
	return fa
}

// fuzzSource feeds body to the source spec and checks what it accepts.
func fuzzSource(t *testing.T, fa *fuzzAPI, spec, body string) {
	fa.mu.Lock()
	fa.body = body
	fa.mu.Unlock()
	fa.api.mu.Lock()
	fa.queries, fa.agents = nil, nil // long fuzz runs keep no record
	fa.api.mu.Unlock()
	src := newSource(t, spec, fa.api, clock.NewTest(start))
	pairs := []rates.Pair{{Coin: "ltc", Fiat: "USD"}, {Coin: "btc", Fiat: "USD"}, {Coin: "ltc", Fiat: "EUR"}}
	prices, err := src.Prices(t.Context(), pairs)
	if err != nil {
		if !errors.Is(err, rates.ErrUnavailable) && !errors.Is(err, rates.ErrUnsupported) {
			t.Fatalf("error %v wraps no sentinel", err)
		}
		return
	}
	if len(prices) != len(pairs) {
		t.Fatalf("%d prices for %d pairs", len(prices), len(pairs))
	}
	for _, p := range pairs {
		got := prices[p]
		if got.Pair != p || got.Value.IsZero() || got.Value.Rat().Sign() <= 0 {
			t.Fatalf("%s: accepted %+v (%s)", p, got, got.Value)
		}
		if _, err := rates.Satoshis(mustDecimal(t, "0.01"), got); err != nil && !errors.Is(err, rates.ErrBadAmount) {
			t.Fatalf("%s at %s: %v", p, got.Value, err)
		}
	}
}

func FuzzCoinGecko(f *testing.F) {
	f.Add(readFile(f, "coingecko/simple_price.json"))
	f.Add(readFile(f, "coingecko/rate_limited.json"))
	f.Add(`{"litecoin":{"usd":80.12,"eur":74.3},"bitcoin":{"usd":90123.456789}}`)
	f.Add(`{"litecoin":{"usd":0,"eur":-1},"bitcoin":{"usd":1e30}}`)
	f.Add(`{"litecoin":{"usd":"80","eur":null},"bitcoin":{"usd":1e-25}}`)
	f.Add(`{"litecoin":{"usd":8.012e1,"eur":7430E-2},"bitcoin":{"usd":9e4}}`)
	f.Add(`null`)
	fa := newFuzzAPI(f)
	f.Fuzz(func(t *testing.T, body string) {
		fuzzSource(t, fa, "coingecko", body)
	})
}

func FuzzKraken(f *testing.F) {
	f.Add(readFile(f, "kraken/ticker.json"))
	f.Add(readFile(f, "kraken/unknown_pair.json"))
	f.Add(`{"error":[],"result":{"XLTCZUSD":{"c":["80.12000","1"]},"XXBTZUSD":{"c":["90123.4","1"]},"XLTCZEUR":{"c":["74.3","1"]}}}`)
	f.Add(`{"error":[],"result":{"XLTCZUSD":{"c":["0","1"]},"XXBTZUSD":{"c":["-1","1"]},"XLTCZEUR":{"c":["1e30","1"]}}}`)
	f.Add(`{"error":["WGeneral:x"],"result":{"LTCUSD":{"c":["80"]},"XBTUSD":{"c":["9e4"]},"LTCEUR":{"c":[".5"]}}}`)
	f.Add(`{"error":["EService:Busy"]}`)
	fa := newFuzzAPI(f)
	f.Fuzz(func(t *testing.T, body string) {
		fuzzSource(t, fa, "kraken", body)
	})
}
