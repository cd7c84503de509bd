package rates

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrUnknownCoin reports a coin id other than "ltc" and "btc".
var ErrUnknownCoin = errors.New("unknown coin")

// ErrUnknownCurrency reports a fiat currency outside Currencies.
var ErrUnknownCurrency = errors.New("unknown currency")

// coin is what rates knows of one of ferry's coins.
type coin struct {
	maxSat int64 // the most satoshis there will ever be
}

// coins are ferry's coins by coin id.
var coins = map[string]coin{
	"ltc": {maxSat: 84_000_000 * satPerCoin},
	"btc": {maxSat: 21_000_000 * satPerCoin},
}

// currencies are the fiat currencies ferry accepts, with the decimals of
// their minor unit (ISO 4217).
var currencies = map[string]int{
	"AUD": 2,
	"CAD": 2,
	"CHF": 2,
	"EUR": 2,
	"GBP": 2,
	"JPY": 0,
	"USD": 2,
}

// Pair names a coin, by ferry's coin id ("ltc" or "btc"), and a fiat
// currency, by its ISO 4217 code in upper case ("USD"). ParsePair makes
// pairs from text; a Pair built by hand must use these exact forms.
type Pair struct {
	Coin, Fiat string
}

// ParsePair parses a pair written COIN/FIAT in either case: "LTC/USD" and
// "ltc/usd" are both Pair{"ltc", "USD"}. A coin other than ltc and btc is an
// error wrapping ErrUnknownCoin; a currency outside Currencies, one wrapping
// ErrUnknownCurrency.
func ParsePair(s string) (Pair, error) {
	c, f, ok := strings.Cut(s, "/")
	if !ok {
		return Pair{}, fmt.Errorf("pair %q: want COIN/FIAT, such as LTC/USD", clip(s))
	}
	p := Pair{Coin: asciiLower(c)}
	if _, ok := coins[p.Coin]; !ok {
		return Pair{}, fmt.Errorf("pair %q: %w %q: want ltc or btc", clip(s), ErrUnknownCoin, clip(c))
	}
	fiat, err := CheckCurrency(f)
	if err != nil {
		return Pair{}, fmt.Errorf("pair %q: %w", clip(s), err)
	}
	p.Fiat = fiat
	return p, nil
}

// String returns the pair as "LTC/USD".
func (p Pair) String() string { return asciiUpper(p.Coin) + "/" + p.Fiat }

// check returns an error wrapping ErrUnknownCoin or ErrUnknownCurrency
// unless p names a coin and a currency in their exact forms.
func (p Pair) check() error {
	if _, ok := coins[p.Coin]; !ok {
		return fmt.Errorf("pair %s: %w %q", p, ErrUnknownCoin, clip(p.Coin))
	}
	if _, ok := currencies[p.Fiat]; !ok {
		return fmt.Errorf("pair %s: %w %q", p, ErrUnknownCurrency, clip(p.Fiat))
	}
	return nil
}

// Currencies returns the ISO 4217 codes of the fiat currencies ferry
// accepts, sorted: AUD CAD CHF EUR GBP JPY USD. The slice is the caller's.
func Currencies() []string {
	list := make([]string, 0, len(currencies))
	for c := range currencies {
		list = append(list, c)
	}
	slices.Sort(list)
	return list
}

// CheckCurrency returns code in upper case ("usd" gives "USD") if it is one
// of Currencies, and otherwise an error wrapping ErrUnknownCurrency.
func CheckCurrency(code string) (string, error) {
	up := asciiUpper(code)
	if _, ok := currencies[up]; !ok {
		return "", fmt.Errorf("%w %q: want one of %s", ErrUnknownCurrency, clip(code), strings.Join(Currencies(), ", "))
	}
	return up, nil
}

// MinorUnits returns the decimals of a currency's minor unit: 2 for USD
// (cents), 0 for JPY. It returns 2 for a currency outside Currencies.
func MinorUnits(currency string) int {
	if n, ok := currencies[currency]; ok {
		return n
	}
	return 2
}

// asciiUpper upper-cases the ASCII letters of s and nothing else, so that
// no other script's letter turns into one of a currency code.
func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// asciiLower lower-cases the ASCII letters of s and nothing else.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c - 'A' + 'a'
		}
	}
	return string(b)
}
