package api

import (
	"math/big"
	"strings"

	"github.com/ferry-relay/ferry"
)

// Coinremitter's amounts: decimals, as its documentation writes them, or
// a binary float's shortest form, as its clients compute them.

// crNumber reports whether s is a number as Laravel's numeric rule takes
// it here: a decimal, digits with at most one point, at most 40
// characters; no sign, exponent or thousands separator ("1,000" is
// refused, as Coinremitter warns).
func crNumber(s string) bool {
	whole, frac, _ := strings.Cut(s, ".")
	return len(s) <= 40 && whole+frac != "" && crDigits(whole) && crDigits(frac)
}

// crDigits reports whether s is ASCII digits only.
func crDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// crNoise is how far from an amount of its unit's decimals crExact takes
// a number to be that amount written by a binary float: a part in 10^12.
// A float64 holds about 16 significant digits, and the few sums and
// products of a checkout leave an error of a few units in the last of
// them; a price meant with more decimals than its currency has differs in
// the third to ninth significant digit.
const crNoise = 1e12

// crExact returns the amount that s, a number (crNumber), stands for with
// at most places decimals: s itself if it has no more. Coinremitter's
// clients compute amounts in binary floats and send their shortest form
// (WooCommerce's wp_json_encode writes 19.99+4.99+0.5 as
// 25.479999999999997, Node's querystring 0.1+0.2 as 0.30000000000000004);
// such a number is the amount of places decimals nearest it
// ("25.48", "0.3") when it is within a part in 10^12 of it, and otherwise
// not an amount of the unit (ok false): "25.475" of USD is refused, never
// rounded.
func crExact(s string, places int) (exact string, ok bool) {
	if _, frac, _ := strings.Cut(s, "."); len(frac) <= places {
		return s, true
	}
	x, ok := new(big.Rat).SetString(s)
	if !ok {
		return "", false
	}
	unit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)), nil)
	// n is x in units, rounded half up; r that many units.
	n := new(big.Rat).Mul(x, new(big.Rat).SetInt(unit))
	n.Add(n, big.NewRat(1, 2))
	whole := new(big.Int).Quo(n.Num(), n.Denom())
	r := new(big.Rat).SetFrac(whole, unit)
	off := new(big.Rat).Sub(x, r)
	off.Abs(off).Mul(off, new(big.Rat).SetInt64(crNoise))
	if r.Sign() == 0 || off.Cmp(r) > 0 {
		return "", false
	}
	out := r.FloatString(places)
	if strings.Contains(out, ".") {
		out = strings.TrimRight(strings.TrimRight(out, "0"), ".")
	}
	return out, true
}

// decimal reads a number from field, an amount of unit with at most
// places decimals, as crExact reads it.
func (c *crCall) decimal(field string, places int, unit string) (string, error) {
	if err := c.required(field); err != nil {
		return "", err
	}
	raw := strings.TrimSpace(c.form.Get(field))
	if !crNumber(raw) {
		return "", crInvalidf("The %s must be a number.", crName(field))
	}
	exact, ok := crExact(raw, places)
	switch {
	case !ok && places == 0:
		return "", crInvalidf("The %s must be a whole number of %s.", crName(field), unit)
	case !ok:
		return "", crInvalidf("The %s may have at most %d decimals in %s.", crName(field), places, unit)
	}
	return exact, nil
}

// amount reads a positive amount of the call's coin from field.
func (c *crCall) amount(field string) (ferry.Amount, error) {
	ticker := strings.ToUpper(c.coin)
	raw, err := c.decimal(field, 8, ticker)
	if err != nil {
		return 0, err
	}
	sat, err := ferry.ParseAmount(raw)
	switch {
	case err != nil:
		return 0, crInvalidf("The %s must be an amount of %s with at most 8 decimals.", crName(field), ticker)
	case sat <= 0:
		return 0, crInvalidf("The %s must be greater than 0.", crName(field))
	}
	return sat, nil
}
