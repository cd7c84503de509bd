package ferry

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Amount is an amount of a coin in satoshis (litoshis for Litecoin): ferry
// counts money in integers only, never in floats.
type Amount int64

// SatoshiPerCoin is the number of satoshis in one coin, for Litecoin and
// Bitcoin alike.
const SatoshiPerCoin = 100_000_000

// MaxAmount is the largest amount ParseAmount accepts: Litecoin's 84 million
// coins. Bitcoin amounts are smaller still.
const MaxAmount Amount = 84_000_000 * SatoshiPerCoin

// ErrBadAmount reports a decimal amount that ParseAmount cannot represent
// exactly in satoshis.
var ErrBadAmount = errors.New("bad amount")

// ParseAmount parses a decimal coin amount such as "0.010" or "12.5" into
// satoshis, exactly: digits and at most one point, no sign, no exponent, no
// thousands separator, at most eight decimals and at most MaxAmount. It
// never goes through a float. It is the one parser of coin amounts that
// every dialect uses.
func ParseAmount(s string) (Amount, error) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" {
		return 0, fmt.Errorf("%w: %.40q", ErrBadAmount, s)
	}
	if len(frac) > 8 {
		return 0, fmt.Errorf("%w: %.40q has more than 8 decimals", ErrBadAmount, s)
	}
	if !digits(whole) || !digits(frac) || len(whole) > 9 {
		return 0, fmt.Errorf("%w: %.40q", ErrBadAmount, s)
	}
	var w, f int64
	if whole != "" {
		w, _ = strconv.ParseInt(whole, 10, 64)
	}
	if frac != "" {
		f, _ = strconv.ParseInt(frac+strings.Repeat("0", 8-len(frac)), 10, 64)
	}
	v := Amount(w*SatoshiPerCoin + f)
	if v > MaxAmount {
		return 0, fmt.Errorf("%w: %.40q exceeds %d coins", ErrBadAmount, s, MaxAmount/SatoshiPerCoin)
	}
	return v, nil
}

// ParseBaseUnits parses an amount given in satoshis, as a string of digits
// ("123456"): no point, sign or exponent, at most MaxAmount.
func ParseBaseUnits(s string) (Amount, error) {
	if s == "" || !digits(s) || len(s) > 16 {
		return 0, fmt.Errorf("%w: %.40q is not a whole number of base units", ErrBadAmount, s)
	}
	v, _ := strconv.ParseInt(s, 10, 64)
	if Amount(v) > MaxAmount {
		return 0, fmt.Errorf("%w: %.40q exceeds %d coins", ErrBadAmount, s, MaxAmount/SatoshiPerCoin)
	}
	return Amount(v), nil
}

// String renders the amount in coins with eight decimals, as the nodes
// print amounts: "0.01000000".
func (a Amount) String() string {
	sign := ""
	if a < 0 {
		sign, a = "-", -a
	}
	return fmt.Sprintf("%s%d.%08d", sign, a/SatoshiPerCoin, a%SatoshiPerCoin)
}

// Short renders the amount in coins without trailing zeros, as LitePay's
// later API writes amounts: "0.2", "1", "0".
func (a Amount) Short() string {
	s := strings.TrimRight(a.String(), "0")
	return strings.TrimSuffix(s, ".")
}

// digits reports whether s holds only ASCII digits (the empty string does).
func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
