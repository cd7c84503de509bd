package chain

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// SatoshiPerCoin is the number of satoshis in one coin, for Litecoin and
// Bitcoin alike.
const SatoshiPerCoin = 100_000_000

// MaxAmount is the largest amount ParseAmount accepts: Litecoin's 84 million
// coins, in satoshis. Bitcoin amounts are smaller still.
const MaxAmount = 84_000_000 * SatoshiPerCoin

// ErrBadAmount reports a decimal amount that ParseAmount cannot represent
// exactly in satoshis.
var ErrBadAmount = errors.New("bad amount")

// ParseAmount parses a decimal coin amount such as "0.010" or "12.5" into
// satoshis, exactly: no sign, no exponent, at most eight decimals and at most
// MaxAmount. It never goes through a float.
func ParseAmount(s string) (int64, error) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" {
		return 0, fmt.Errorf("%w: %q", ErrBadAmount, s)
	}
	if len(frac) > 8 {
		return 0, fmt.Errorf("%w: %q has more than 8 decimals", ErrBadAmount, s)
	}
	if !digits(whole) || !digits(frac) || len(whole) > 9 {
		return 0, fmt.Errorf("%w: %q", ErrBadAmount, s)
	}
	var w, f int64
	if whole != "" {
		w, _ = strconv.ParseInt(whole, 10, 64)
	}
	if frac != "" {
		f, _ = strconv.ParseInt(frac+strings.Repeat("0", 8-len(frac)), 10, 64)
	}
	v := w*SatoshiPerCoin + f
	if v > MaxAmount {
		return 0, fmt.Errorf("%w: %q exceeds %d coins", ErrBadAmount, s, MaxAmount/SatoshiPerCoin)
	}
	return v, nil
}

// FormatAmount renders satoshis as a decimal coin amount with eight decimals,
// the way the nodes print amounts ("0.01000000").
func FormatAmount(sat int64) string {
	sign := ""
	if sat < 0 {
		sign, sat = "-", -sat
	}
	return fmt.Sprintf("%s%d.%08d", sign, sat/SatoshiPerCoin, sat%SatoshiPerCoin)
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

// FormatAmountShort renders satoshis as a decimal coin amount without
// trailing zeros, as LitePay's later API writes amounts: "0.2", "1", "0".
func FormatAmountShort(sat int64) string {
	s := strings.TrimRight(FormatAmount(sat), "0")
	return strings.TrimSuffix(s, ".")
}
