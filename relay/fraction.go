package relay

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
func (f Fraction) Of(v int64) int64 {
	if f.den == 0 || v <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(v), f.num)
	q, _ := bits.Div64(hi, lo, f.den) // hi < den since f < 1
	return int64(q)
}

// String returns the fraction as it was written.
func (f Fraction) String() string { return f.text }
