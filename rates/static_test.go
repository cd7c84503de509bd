package rates_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/rates"
)

func TestStatic(t *testing.T) {
	clk := clock.NewTest(start)
	src, err := rates.New("static:LTC/USD=80,BTC/USD=90000,ltc/eur=74.5", rates.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if src.Name() != "static" {
		t.Errorf("name %q", src.Name())
	}
	clk.Advance(time.Hour)
	ltcEUR := rates.Pair{Coin: "ltc", Fiat: "EUR"}
	prices, err := src.Prices(t.Context(), []rates.Pair{ltcEUR, {Coin: "btc", Fiat: "USD"}})
	if err != nil {
		t.Fatal(err)
	}
	got := prices[ltcEUR]
	if got.Value.String() != "74.5" || got.Source != "static" || !got.Time.Equal(start.Add(time.Hour)) || got.Pair != ltcEUR {
		t.Errorf("LTC/EUR: %+v", got)
	}
	if _, err := src.Prices(t.Context(), []rates.Pair{{Coin: "btc", Fiat: "EUR"}}); !errors.Is(err, rates.ErrUnsupported) {
		t.Errorf("BTC/EUR, not set: %v", err)
	}
	if _, err := src.Prices(t.Context(), []rates.Pair{{Coin: "ltc", Fiat: "usd"}}); !errors.Is(err, rates.ErrUnknownCurrency) {
		t.Errorf("a pair not in its exact form: %v", err)
	}
}

func TestNewRefuses(t *testing.T) {
	for _, spec := range []string{
		"",
		"coinmarketcap",
		"Kraken",
		"static",
		"static:",
		"static:LTC/USD",
		"static:LTC/USD=",
		"static:LTC/USD=0",
		"static:LTC/USD=0.00",
		"static:LTC/USD=-1",
		"static:LTC/USD=abc",
		"static:LTC/USD=1e3",
		"static:DOGE/USD=1",
		"static:LTC/XYZ=1",
		"static:LTCUSD=1",
		"static:LTC/USD=80,",
		"static:LTC/USD=80,ltc/usd=81",
		"static:LTC/USD=80;BTC/USD=90000",
		"static: LTC/USD=80",
	} {
		if src, err := rates.New(spec, rates.Options{}); err == nil {
			t.Errorf("New(%q) = %v", spec, src)
		}
	}
	for _, base := range []string{"ftp://example.com", "example.com", "http://", ":"} {
		if _, err := rates.New("kraken", rates.Options{BaseURL: base}); err == nil {
			t.Errorf("base url %q accepted", base)
		}
	}
}
