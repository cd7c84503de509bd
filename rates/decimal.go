package rates

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrBadDecimal reports text that is not a decimal ParseDecimal accepts, or
// a number a Decimal cannot hold.
var ErrBadDecimal = errors.New("bad decimal")

// maxDigits is the most integer digits, and the most decimals, that
// ParseDecimal accepts and that a source's price may have.
const maxDigits = 18

// Decimal is an exact, non-negative decimal number such as a fiat amount or
// a price, backed by a math/big.Rat and never by a float. The zero value is
// 0. A Decimal is immutable, so copies may be shared between goroutines;
// compare Decimals with Cmp, not ==.
type Decimal struct {
	r *big.Rat // nil is zero; never modified once set
}

// ParseDecimal parses a decimal written as digits with at most one '.':
// "80", "0.5", "74.30", ".5", "5.". It refuses a sign, an exponent, spaces,
// separators, text without a digit, and more than 18 digits before or after
// the point, with an error wrapping ErrBadDecimal.
func ParseDecimal(s string) (Decimal, error) {
	whole, frac, _ := strings.Cut(s, ".")
	switch {
	case s == "":
		return Decimal{}, fmt.Errorf("%w: empty", ErrBadDecimal)
	case !digits(whole) || !digits(frac) || whole == "" && frac == "":
		return Decimal{}, fmt.Errorf("%w: %q: want digits with at most one '.'", ErrBadDecimal, clip(s))
	case len(whole) > maxDigits:
		return Decimal{}, fmt.Errorf("%w: %q has more than %d digits before the point", ErrBadDecimal, clip(s), maxDigits)
	case len(frac) > maxDigits:
		return Decimal{}, fmt.Errorf("%w: %q has more than %d decimals", ErrBadDecimal, clip(s), maxDigits)
	}
	n, _ := new(big.Int).SetString("0"+whole+frac, 10)
	return Decimal{r: new(big.Rat).SetFrac(n, pow10(len(frac)))}, nil
}

// DecimalFromRat returns r as a Decimal. It refuses a nil or negative r
// with an error wrapping ErrBadDecimal. The Decimal holds a copy of r.
func DecimalFromRat(r *big.Rat) (Decimal, error) {
	if r == nil {
		return Decimal{}, fmt.Errorf("%w: nil", ErrBadDecimal)
	}
	if r.Sign() < 0 {
		return Decimal{}, fmt.Errorf("%w: %s is negative", ErrBadDecimal, r.RatString())
	}
	return Decimal{r: new(big.Rat).Set(r)}, nil
}

// String returns d in its shortest exact form ("80", "0.5", "74.3") when it
// has at most 18 decimals, and otherwise rounded half up to exactly 18
// decimals ("0.333333333333333333").
func (d Decimal) String() string {
	r := d.rat()
	places, exact := decimalPlaces(r.Denom())
	if !exact || places > maxDigits {
		return r.FloatString(maxDigits)
	}
	return r.FloatString(places)
}

// Fixed returns d rounded half up to exactly places decimals ("2.00" for 2
// and 2 places, "3" for 2.5 and no places). A negative places counts as 0.
func (d Decimal) Fixed(places int) string {
	return d.rat().FloatString(max(places, 0))
}

// IsZero reports whether d is 0.
func (d Decimal) IsZero() bool { return d.r == nil || d.r.Sign() == 0 }

// Cmp compares d and e: -1 if d < e, 0 if they are equal, +1 if d > e.
func (d Decimal) Cmp(e Decimal) int { return d.rat().Cmp(e.rat()) }

// Rat returns d as a new big.Rat that the caller may modify.
func (d Decimal) Rat() *big.Rat { return new(big.Rat).Set(d.rat()) }

// rat returns d's value for reading only.
func (d Decimal) rat() *big.Rat {
	if d.r == nil {
		return new(big.Rat)
	}
	return d.r
}

// decimalPlaces returns how many decimals a fraction with denominator den
// (in lowest terms) needs, and whether it terminates at all: it does when
// den has no prime factor but 2 and 5. It counts at most 19 of each factor,
// which is enough to tell whether the fraction fits 18 decimals.
func decimalPlaces(den *big.Int) (int, bool) {
	twos, rest := strip(den, 2)
	fives, rest := strip(rest, 5)
	return max(twos, fives), rest.IsInt64() && rest.Int64() == 1
}

// strip divides n by p as long as it divides evenly, at most maxDigits+1
// times, and returns how many times it did and what is left.
func strip(n *big.Int, p int64) (int, *big.Int) {
	bp, q, m := big.NewInt(p), new(big.Int), new(big.Int)
	count := 0
	for count <= maxDigits {
		q.QuoRem(n, bp, m)
		if m.Sign() != 0 {
			break
		}
		n = new(big.Int).Set(q)
		count++
	}
	return count, n
}

// parseQuote parses a price as a source writes it, exactly: a JSON number
// ("80.12", "1.5e-05") or a decimal string ("80.12000"). The price must be
// positive, below 10^18, and have at most 18 decimals once its exponent is
// applied. The error says why, without a sentinel: callers wrap it.
func parseQuote(s string) (Decimal, error) {
	if strings.HasPrefix(s, "-") {
		return Decimal{}, fmt.Errorf("negative price %q", clip(s))
	}

	// Split off the exponent; it is small in any sane price.
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		es, neg := s[i+1:], false
		if es != "" && (es[0] == '+' || es[0] == '-') {
			neg = es[0] == '-'
			es = es[1:]
		}
		if es == "" || !digits(es) || len(es) > 3 {
			return Decimal{}, fmt.Errorf("price %q is not a number", clip(s))
		}
		exp, _ = strconv.Atoi(es)
		if neg {
			exp = -exp
		}
	}
	whole, frac, _ := strings.Cut(mant, ".")
	if !digits(whole) || !digits(frac) || whole == "" && frac == "" {
		return Decimal{}, fmt.Errorf("price %q is not a number", clip(s))
	}
	frac = strings.TrimRight(frac, "0")
	ds := strings.TrimLeft(whole+frac, "0")
	if len(ds) > 2*maxDigits {
		return Decimal{}, fmt.Errorf("price %q has too many digits", clip(s))
	}
	if ds == "" {
		return Decimal{}, fmt.Errorf("price %q is zero", clip(s))
	}

	// The value is ds × 10^shift.
	n, _ := new(big.Int).SetString(ds, 10)
	r := new(big.Rat).SetInt(n)
	if shift := exp - len(frac); shift >= 0 {
		r.Mul(r, new(big.Rat).SetInt(pow10(shift)))
	} else {
		r.Quo(r, new(big.Rat).SetInt(pow10(-shift)))
	}
	if r.Cmp(new(big.Rat).SetInt(pow10(maxDigits))) >= 0 {
		return Decimal{}, fmt.Errorf("price %q is too large", clip(s))
	}
	if places, _ := decimalPlaces(r.Denom()); places > maxDigits {
		return Decimal{}, fmt.Errorf("price %q has more than %d decimals", clip(s), maxDigits)
	}
	return Decimal{r: r}, nil
}

// pow10 returns 10^n.
func pow10(n int) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
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

// clip shortens outside text quoted in an error to 40 bytes.
func clip(s string) string { return clipN(s, 40) }

// clipN shortens s to at most n bytes, cut at the start of a character,
// and marks the cut.
func clipN(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
