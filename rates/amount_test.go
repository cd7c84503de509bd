package rates_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/rates"
)

// price returns a price of pair at value.
func price(tb testing.TB, pair, value string) rates.Price {
	tb.Helper()
	return rates.Price{Pair: mustPair(tb, pair), Value: mustDecimal(tb, value), Source: "static", Time: start}
}

func TestSatoshis(t *testing.T) {
	for _, tc := range []struct {
		name        string
		fiat, price string
		pair        string
		want        ferry.Amount
	}{
		{"exact", "10", "80", "LTC/USD", 12_500_000},
		{"rounded up", "10", "3", "LTC/USD", 333_333_334},
		{"a cent of bitcoin", "0.01", "90000", "BTC/USD", 12},
		{"cents at cents", "10", "80.12", "LTC/USD", 12_481_279},
		{"awkward", "49.99", "61.07", "LTC/GBP", 81_856_886},
		{"long price", "10", "90123.456789", "BTC/USD", 11_096},
		{"yen", "1000", "13456789", "BTC/JPY", 7432},
		{"one coin", "80.12", "80.12", "LTC/USD", 100_000_000},
		{"cheap coin", "100", "0.5", "LTC/USD", 20_000_000_000},
		{"all the bitcoin", "21000000", "1", "BTC/USD", 2_100_000_000_000_000},
		{"all the litecoin", "84000000", "1", "LTC/USD", 8_400_000_000_000_000},
		{"tiny amount", "0.000000000000000001", "90000", "BTC/USD", 1},
	} {
		got, err := rates.Satoshis(mustDecimal(t, tc.fiat), price(t, tc.pair, tc.price))
		if err != nil || got != tc.want {
			t.Errorf("%s: %s at %s: %d, %v; want %d", tc.name, tc.fiat, tc.price, got, err, tc.want)
		}
	}
}

func TestSatoshisRefused(t *testing.T) {
	for _, tc := range []struct {
		name        string
		fiat, price string
		pair        string
		want        error
	}{
		{"zero amount", "0", "80", "LTC/USD", rates.ErrBadAmount},
		{"over all the bitcoin", "21000000.01", "1", "BTC/USD", rates.ErrBadAmount},
		{"over all the litecoin", "84000001", "1", "LTC/USD", rates.ErrBadAmount},
		{"beyond int64", "999999999999999999", "0.000000000000000001", "LTC/USD", rates.ErrBadAmount},
	} {
		got, err := rates.Satoshis(mustDecimal(t, tc.fiat), price(t, tc.pair, tc.price))
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %d, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	if _, err := rates.Satoshis(mustDecimal(t, "10"), rates.Price{Pair: rates.Pair{Coin: "ltc", Fiat: "USD"}}); err == nil {
		t.Error("a zero price accepted")
	}
	if _, err := rates.Satoshis(mustDecimal(t, "10"), rates.Price{Pair: rates.Pair{Coin: "doge", Fiat: "USD"}, Value: mustDecimal(t, "1")}); !errors.Is(err, rates.ErrUnknownCoin) {
		t.Errorf("doge: %v", err)
	}
}

func TestFiat(t *testing.T) {
	for _, tc := range []struct {
		sat         int64
		pair, price string
		want        string
	}{
		{12_500_000, "LTC/USD", "80", "10"},
		{333_333_334, "LTC/USD", "3", "10.00000002"},
		{12, "BTC/USD", "90000", "0.0108"},
		{1, "BTC/USD", "90123.456789", "0.00090123456789"},
		{100_000_000, "LTC/USD", "80.12", "80.12"},
		{0, "LTC/USD", "80", "0"},
		{-5, "LTC/USD", "80", "0"},
	} {
		if got := rates.Fiat(ferry.Amount(tc.sat), price(t, tc.pair, tc.price)).String(); got != tc.want {
			t.Errorf("%d sat at %s: %s, want %s", tc.sat, tc.price, got, tc.want)
		}
	}
}

// TestSatoshisRoundTrip: the satoshis asked for are always worth at least
// the amount, and one satoshi less is worth less.
func TestSatoshisRoundTrip(t *testing.T) {
	for _, fiat := range []string{"0.01", "1", "9.99", "10", "123.45", "1000000"} {
		for _, pv := range []string{"3", "61.07", "80.12", "90123.456789", "0.7"} {
			f, p := mustDecimal(t, fiat), price(t, "LTC/EUR", pv)
			sat, err := rates.Satoshis(f, p)
			if err != nil {
				t.Fatal(err)
			}
			if rates.Fiat(sat, p).Cmp(f) < 0 || rates.Fiat(sat-1, p).Cmp(f) >= 0 {
				t.Errorf("%s at %s: %d sat", fiat, pv, sat)
			}
		}
	}
}

func TestParseFiatAmount(t *testing.T) {
	for _, tc := range []struct {
		in, currency string
		want         string // "" means refused
		msg          string // a part of the refusal
	}{
		{"10", "USD", "10", ""},
		{"10.5", "USD", "10.5", ""},
		{"10.50", "EUR", "10.5", ""},
		{"0.01", "usd", "0.01", ""},
		{"1000000000", "USD", "1000000000", ""},
		{"1000000000.00", "USD", "1000000000", ""},
		{"1500", "JPY", "1500", ""},
		{"0", "USD", "", "more than 0"},
		{"0.00", "USD", "", "more than 0"},
		{"-1", "USD", "", "more than 0"},
		{"+5", "USD", "", "not an amount"},
		{"1e9999", "USD", "", "not an amount"},
		{"abc", "USD", "", "not an amount"},
		{"1,000", "USD", "", "without separators"},
		{"1 000", "USD", "", "without separators"},
		{" 10", "USD", "", "without separators"},
		{"", "USD", "", "empty"},
		{"1.2.3", "USD", "", "not an amount"},
		{"10.555", "USD", "", "at most 2 decimals"},
		{"1.000", "EUR", "", "at most 2 decimals"},
		{"1500.5", "JPY", "", "no decimals"},
		{"1000000000.01", "USD", "", "at most 1000000000 USD"},
		{"99999999999999999999", "USD", "", "not an amount"},
	} {
		d, err := rates.ParseFiatAmount(tc.in, tc.currency)
		switch {
		case tc.want == "" && (!errors.Is(err, rates.ErrBadAmount) || !strings.Contains(err.Error(), tc.msg)):
			t.Errorf("ParseFiatAmount(%q, %s) = %s, %v; want ErrBadAmount saying %q", tc.in, tc.currency, d, err, tc.msg)
		case tc.want != "" && (err != nil || d.String() != tc.want):
			t.Errorf("ParseFiatAmount(%q, %s) = %s, %v; want %s", tc.in, tc.currency, d, err, tc.want)
		}
	}
	if _, err := rates.ParseFiatAmount("10", "XYZ"); !errors.Is(err, rates.ErrUnknownCurrency) {
		t.Errorf("XYZ: %v", err)
	}
}
