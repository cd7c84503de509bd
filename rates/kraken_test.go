package rates_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/rates"
)

func TestKrakenPrices(t *testing.T) {
	a := newAPI(t, krakenReply(t))
	clk := clock.NewTest(start)
	src := newSource(t, "kraken", a, clk)
	if src.Name() != "kraken" {
		t.Errorf("name %q", src.Name())
	}
	// Both of Kraken's naming forms: XLTCZUSD and LTCGBP, XXBTZUSD and
	// XBTCHF.
	want := []struct{ pair, price string }{
		{"LTC/USD", "80.12"},
		{"LTC/EUR", "74.3"},
		{"LTC/GBP", "61.07"},
		{"LTC/CHF", "71.9"},
		{"LTC/AUD", "123.45"},
		{"LTC/JPY", "12000.5"},
		{"BTC/USD", "90123.456789"},
		{"BTC/EUR", "83000.5"},
		{"BTC/GBP", "71234.12"},
		{"BTC/CHF", "79550"},
		{"BTC/CAD", "124301.77"},
		{"BTC/AUD", "138905.3"},
		{"BTC/JPY", "13456789"},
	}
	var pairs []rates.Pair
	for _, w := range want {
		pairs = append(pairs, mustPair(t, w.pair))
	}
	prices, err := src.Prices(t.Context(), pairs)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		p := mustPair(t, w.pair)
		got := prices[p]
		if got.Value.String() != w.price || got.Pair != p || got.Source != "kraken" || !got.Time.Equal(start) {
			t.Errorf("%s: %+v (%s), want %s", w.pair, got, got.Value, w.price)
		}
	}
	if a.requests() != 1 {
		t.Fatalf("%d requests, want 1", a.requests())
	}
	if got := a.lastQuery(t).Get("pair"); got != "LTCUSD,LTCEUR,LTCGBP,LTCCHF,LTCAUD,LTCJPY,XBTUSD,XBTEUR,XBTGBP,XBTCHF,XBTCAD,XBTAUD,XBTJPY" {
		t.Errorf("pair=%s", got)
	}
	if a.agents[0] != "ferry/1" {
		t.Errorf("user agent %q", a.agents[0])
	}
}

// TestKrakenUnforeseenName: a pair answered under a name of neither known
// form is asked for alone, and the one ticker of that answer is taken.
func TestKrakenUnforeseenName(t *testing.T) {
	recorded := krakenReply(t)
	a := newAPI(t, func(q url.Values) (int, string) {
		status, body := recorded(q)
		return status, strings.ReplaceAll(body, `"XLTCZUSD"`, `"LTCUSD.new"`)
	})
	src := newSource(t, "kraken", a, clock.NewTest(start))
	usd, btc := rates.Pair{Coin: "ltc", Fiat: "USD"}, rates.Pair{Coin: "btc", Fiat: "USD"}
	prices, err := src.Prices(t.Context(), []rates.Pair{usd, btc})
	if err != nil {
		t.Fatal(err)
	}
	if prices[usd].Value.String() != "80.12" || prices[btc].Value.String() != "90123.456789" {
		t.Errorf("prices %v", prices)
	}
	if a.requests() != 2 || a.lastQuery(t).Get("pair") != "LTCUSD" {
		t.Errorf("%d requests, last %v", a.requests(), a.lastQuery(t))
	}
}

func TestKrakenUnknownPair(t *testing.T) {
	a := newAPI(t, krakenReply(t))
	src := newSource(t, "kraken", a, clock.NewTest(start))
	// Kraken has no LTC/CAD market.
	_, err := src.Prices(t.Context(), []rates.Pair{{Coin: "ltc", Fiat: "CAD"}})
	if !errors.Is(err, rates.ErrUnsupported) || !strings.Contains(err.Error(), "LTC/CAD") {
		t.Errorf("LTC/CAD: %v", err)
	}
	_, err = src.Prices(t.Context(), []rates.Pair{{Coin: "ltc", Fiat: "USD"}, {Coin: "ltc", Fiat: "CAD"}})
	if !errors.Is(err, rates.ErrUnsupported) || !strings.Contains(err.Error(), "one of LTC/USD, LTC/CAD") {
		t.Errorf("LTC/USD and LTC/CAD: %v", err)
	}
}

func TestKrakenErrors(t *testing.T) {
	ticker := func(c string) string {
		return `{"error":[],"result":{"XLTCZUSD":{"a":["80.13000","1","1.000"],"c":` + c + `}}}`
	}
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   error
	}{
		{"server error", 500, `{"error":["EService:Unavailable"]}`, rates.ErrUnavailable},
		{"rate limited status", 429, ``, rates.ErrUnavailable},
		{"unavailable", 200, readFile(t, "kraken/unavailable.json"), rates.ErrUnavailable},
		{"too many requests", 200, readFile(t, "kraken/rate_limited.json"), rates.ErrUnavailable},
		{"unknown pair", 200, readFile(t, "kraken/unknown_pair.json"), rates.ErrUnsupported},
		{"malformed", 200, `{"error":[],"result":{"XLTCZUSD":`, rates.ErrUnavailable},
		{"no result", 200, `{"error":[]}`, rates.ErrUnavailable},
		{"error not a list", 200, `{"error":"EService:Busy"}`, rates.ErrUnavailable},
		{"missing pair", 200, `{"error":[],"result":{}}`, rates.ErrUnavailable},
		{"another pair", 200, `{"error":[],"result":{"XXBTZUSD":{"c":["90000.0","1"]}}}`, rates.ErrUnavailable},
		{"other pairs", 200, `{"error":[],"result":{"XXBTZUSD":{"c":["90000.0","1"]},"XETHZUSD":{"c":["3000.0","1"]}}}`, rates.ErrUnavailable},
		{"no last trade", 200, `{"error":[],"result":{"XLTCZUSD":{"a":["80.13000","1","1.000"]}}}`, rates.ErrUnavailable},
		{"empty last trade", 200, ticker(`[]`), rates.ErrUnavailable},
		{"zero", 200, ticker(`["0.00000","1.0"]`), rates.ErrUnavailable},
		{"negative", 200, ticker(`["-80.12000","1.0"]`), rates.ErrUnavailable},
		{"huge", 200, ticker(`["1000000000000000000.0","1.0"]`), rates.ErrUnavailable},
		{"non-numeric", 200, ticker(`["eighty","1.0"]`), rates.ErrUnavailable},
		{"empty price", 200, ticker(`["","1.0"]`), rates.ErrUnavailable},
		{"number not string", 200, ticker(`[80.12,1.0]`), rates.ErrUnavailable},
		{"spaces", 200, ticker(`[" 80.12","1.0"]`), rates.ErrUnavailable},
		{"ticker not an object", 200, `{"error":[],"result":{"XLTCZUSD":"80.12"}}`, rates.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAPI(t, nil)
			a.set(tc.status, tc.body)
			src := newSource(t, "kraken", a, clock.NewTest(start))
			prices, err := src.Prices(t.Context(), []rates.Pair{{Coin: "ltc", Fiat: "USD"}})
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, %v; want an error wrapping %q", prices, err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "kraken: ") {
				t.Errorf("error %q does not name the source", err)
			}
		})
	}
}

// TestKrakenWarning: warnings beside a result do not fail it.
func TestKrakenWarning(t *testing.T) {
	a := newAPI(t, nil)
	a.set(http.StatusOK, `{"error":["WGeneral:Deprecated"],"result":{"XLTCZUSD":{"c":["80.12000","1.0"]}}}`)
	src := newSource(t, "kraken", a, clock.NewTest(start))
	prices, err := src.Prices(t.Context(), []rates.Pair{{Coin: "ltc", Fiat: "USD"}})
	if err != nil || prices[rates.Pair{Coin: "ltc", Fiat: "USD"}].Value.String() != "80.12" {
		t.Errorf("%v, %v", prices, err)
	}
}
