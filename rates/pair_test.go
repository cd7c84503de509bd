package rates_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/ferry-relay/ferry/rates"
)

func TestParsePair(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want rates.Pair
		err  error
	}{
		{"LTC/USD", rates.Pair{Coin: "ltc", Fiat: "USD"}, nil},
		{"ltc/usd", rates.Pair{Coin: "ltc", Fiat: "USD"}, nil},
		{"Btc/Eur", rates.Pair{Coin: "btc", Fiat: "EUR"}, nil},
		{"BTC/JPY", rates.Pair{Coin: "btc", Fiat: "JPY"}, nil},
		{"DOGE/USD", rates.Pair{}, rates.ErrUnknownCoin},
		{"XBT/USD", rates.Pair{}, rates.ErrUnknownCoin},
		{"/USD", rates.Pair{}, rates.ErrUnknownCoin},
		{"LTC/XYZ", rates.Pair{}, rates.ErrUnknownCurrency},
		{"LTC/", rates.Pair{}, rates.ErrUnknownCurrency},
		{"LTC/USD/EUR", rates.Pair{}, rates.ErrUnknownCurrency},
		{"LTC/uſd", rates.Pair{}, rates.ErrUnknownCurrency}, // ſ upper-cases to S in Unicode
		{" LTC/USD", rates.Pair{}, rates.ErrUnknownCoin},
	} {
		got, err := rates.ParsePair(tc.in)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("ParsePair(%q) = %v, %v; want %v, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
	if _, err := rates.ParsePair("LTCUSD"); err == nil {
		t.Error("LTCUSD accepted")
	}
	if s := (rates.Pair{Coin: "ltc", Fiat: "USD"}).String(); s != "LTC/USD" {
		t.Errorf("String() = %s", s)
	}
}

func TestCurrencies(t *testing.T) {
	list := rates.Currencies()
	for _, c := range []string{"USD", "EUR", "GBP", "CHF", "CAD", "AUD", "JPY"} {
		if !slices.Contains(list, c) {
			t.Errorf("%s missing from %v", c, list)
		}
		if got, err := rates.CheckCurrency(c); got != c || err != nil {
			t.Errorf("CheckCurrency(%s) = %s, %v", c, got, err)
		}
	}
	if !slices.IsSorted(list) {
		t.Errorf("not sorted: %v", list)
	}
	list[0] = "XXX"
	if rates.Currencies()[0] == "XXX" {
		t.Error("Currencies hands out its own slice")
	}
	if got, err := rates.CheckCurrency("eur"); got != "EUR" || err != nil {
		t.Errorf("CheckCurrency(eur) = %s, %v", got, err)
	}
	for _, c := range []string{"", "XYZ", "US", "USDT", "usd ", "€"} {
		if _, err := rates.CheckCurrency(c); !errors.Is(err, rates.ErrUnknownCurrency) {
			t.Errorf("CheckCurrency(%q): %v", c, err)
		}
	}
	if rates.MinorUnits("JPY") != 0 || rates.MinorUnits("USD") != 2 {
		t.Error("MinorUnits is wrong")
	}
}
