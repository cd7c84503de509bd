package ferry

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// Fraction is an exact decimal fraction in [0, 1), such as the service fee
// "0.01". It applies to satoshi amounts in integer arithmetic only.
type Fraction struct {
	num, den uint64
	text     string
}

// ErrBadFraction reports text that ParseFraction refuses.
var ErrBadFraction = errors.New("bad fraction")

// ParseFraction parses a decimal in [0, 1) with at most 8 decimals: "0.01",
// "0.005", "0".
func ParseFraction(s string) (Fraction, error) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole != "0" && whole != "" || len(frac) > 8 || whole == "" && frac == "" {
		return Fraction{}, fmt.Errorf("%w: %q: want a decimal from 0 to below 1 with at most 8 decimals", ErrBadFraction, s)
	}
	num := uint64(0)
	if frac != "" {
		n, err := strconv.ParseUint(frac, 10, 64)
		if err != nil {
			return Fraction{}, fmt.Errorf("%w: %q", ErrBadFraction, s)
		}
		num = n
	}
	den := uint64(1)
	for range len(frac) {
		den *= 10
	}
	return Fraction{num: num, den: den, text: s}, nil
}

// Of returns f times v, rounded down to the satoshi. v must not be negative.
func (f Fraction) Of(v Amount) Amount {
	if f.den == 0 || v <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(v), f.num)
	q, _ := bits.Div64(hi, lo, f.den) // hi < den since f < 1
	return Amount(q)
}

// String returns the fraction as it was written.
func (f Fraction) String() string { return f.text }

// Percent returns the fraction in percent as an exact decimal without
// trailing zeros: "1" for 0.01, "0.5" for 0.005, "0" for 0.
func (f Fraction) Percent() string {
	if f.num == 0 {
		return "0"
	}
	// f is num/10^k: in percent, num/10^(k-2).
	k := len(strconv.FormatUint(f.den, 10)) - 1
	digits := strconv.FormatUint(f.num, 10)
	if k <= 2 {
		return digits + strings.Repeat("0", 2-k)
	}
	k -= 2
	if len(digits) <= k {
		digits = strings.Repeat("0", k-len(digits)+1) + digits
	}
	whole, frac := digits[:len(digits)-k], strings.TrimRight(digits[len(digits)-k:], "0")
	if frac == "" {
		return whole
	}
	return whole + "." + frac
}
