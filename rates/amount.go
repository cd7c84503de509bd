package rates

import (
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/ferry-relay/ferry"
)

// ErrBadAmount reports a fiat amount that ferry refuses: malformed, not
// positive, too precise for its currency, or too large.
var ErrBadAmount = errors.New("bad amount")

// satPerCoin is the number of satoshis in one coin, Litecoin and Bitcoin
// alike.
const satPerCoin = 100_000_000

// MaxFiatAmount is the largest fiat amount ParseFiatAmount accepts, in
// whole units of any currency.
const MaxFiatAmount = 1_000_000_000

// Satoshis returns the amount of coin, in satoshis, that pays fiat at price
// p: fiat / price × 100,000,000, rounded up to the satoshi so that the
// merchant is never short. fiat must be more than zero (else the error wraps
// ErrBadAmount) and p.Value too; an amount over all the coin there will
// ever be (21 million BTC, 84 million LTC) is an error wrapping
// ErrBadAmount; a coin other than ltc and btc, one wrapping ErrUnknownCoin.
func Satoshis(fiat Decimal, p Price) (ferry.Amount, error) {
	c, ok := coins[p.Coin]
	if !ok {
		return 0, fmt.Errorf("satoshis: %w %q", ErrUnknownCoin, clip(p.Coin))
	}
	if fiat.IsZero() {
		return 0, fmt.Errorf("satoshis: %w: the amount must be more than 0", ErrBadAmount)
	}
	if p.Value.IsZero() {
		return 0, fmt.Errorf("satoshis: the price of %s is 0", p.Pair)
	}

	// fiat × 10^8 / price, rounded up: both are positive, so the quotient
	// of numerator and denominator is the floor.
	q := new(big.Rat).Quo(fiat.rat(), p.Value.rat())
	q.Mul(q, new(big.Rat).SetInt64(satPerCoin))
	sat, rem := new(big.Int).QuoRem(q.Num(), q.Denom(), new(big.Int))
	if rem.Sign() != 0 {
		sat.Add(sat, big.NewInt(1))
	}
	if !sat.IsInt64() || sat.Int64() > c.maxSat {
		return 0, fmt.Errorf("satoshis: %w: %s %s is more than %d %s at %s", ErrBadAmount,
			fiat, p.Fiat, c.maxSat/satPerCoin, asciiUpper(p.Coin), p.Value)
	}
	return ferry.Amount(sat.Int64()), nil
}

// Fiat returns what sat satoshis are worth at price p, exactly: sat ×
// price / 100,000,000. It returns 0 for sat <= 0.
func Fiat(sat ferry.Amount, p Price) Decimal {
	if sat <= 0 || p.Value.IsZero() {
		return Decimal{}
	}
	r := new(big.Rat).SetInt64(int64(sat))
	r.Mul(r, p.Value.rat())
	r.Quo(r, new(big.Rat).SetInt64(satPerCoin))
	return Decimal{r: r}
}

// ParseFiatAmount parses an amount a merchant sends in currency: a decimal
// more than 0 and at most MaxFiatAmount, with no more decimals than the
// currency's minor unit (2; none for JPY), written with digits and one '.'
// only. "0", "-1", "1e9999", "abc", "1,000" and "" are refused with an error
// wrapping ErrBadAmount whose text the merchant may be shown; a currency
// outside Currencies is refused with one wrapping ErrUnknownCurrency.
func ParseFiatAmount(s, currency string) (Decimal, error) {
	cur, err := CheckCurrency(currency)
	if err != nil {
		return Decimal{}, err
	}

	// Name the common mistakes before the general one.
	switch {
	case s == "":
		return Decimal{}, fmt.Errorf("%w: the amount is empty", ErrBadAmount)
	case strings.HasPrefix(s, "-"):
		return Decimal{}, fmt.Errorf("%w: %q: the amount must be more than 0", ErrBadAmount, clip(s))
	case strings.ContainsAny(s, ", '_"):
		return Decimal{}, fmt.Errorf("%w: %q: write the amount without separators or spaces, with '.' before the decimals, such as 1000.50", ErrBadAmount, clip(s))
	}
	d, err := ParseDecimal(s)
	if err != nil {
		return Decimal{}, fmt.Errorf("%w: %q is not an amount: write digits with an optional '.' before the decimals, such as 12.50", ErrBadAmount, clip(s))
	}

	// The decimals count as written: "1.000" in EUR may mean a thousand.
	_, frac, _ := strings.Cut(s, ".")
	switch minor := currencies[cur]; {
	case d.IsZero():
		return Decimal{}, fmt.Errorf("%w: %q: the amount must be more than 0", ErrBadAmount, clip(s))
	case len(frac) > minor && minor == 0:
		return Decimal{}, fmt.Errorf("%w: %q: %s amounts have no decimals", ErrBadAmount, clip(s), cur)
	case len(frac) > minor:
		return Decimal{}, fmt.Errorf("%w: %q: %s amounts have at most %d decimals", ErrBadAmount, clip(s), cur, minor)
	case d.Cmp(Decimal{r: new(big.Rat).SetInt64(MaxFiatAmount)}) > 0:
		return Decimal{}, fmt.Errorf("%w: %q: the amount must be at most %d %s", ErrBadAmount, clip(s), MaxFiatAmount, cur)
	}
	return d, nil
}
