package api

import (
	"math/big"
	"strings"
	"testing"
)

// TestCRExact: a number with no more decimals than its unit is itself; a
// binary float's shortest form is the amount it stands for; anything else
// with more decimals is no amount of the unit, never rounded.
func TestCRExact(t *testing.T) {
	for _, tt := range []struct {
		s      string
		places int
		want   string
		ok     bool
	}{
		{"25.48", 2, "25.48", true},
		{"10.10", 2, "10.10", true},
		{"25.479999999999997", 2, "25.48", true}, // PHP: 19.99+4.99+0.5
		{"13.750000000000002", 2, "13.75", true}, // PHP: 12.5*1.1
		{"0.30000000000000004", 2, "0.3", true},  // 0.1+0.2
		{"0.30000000000000004", 8, "0.3", true},
		{"1500.0000000000002", 0, "1500", true},
		{"99999999.99000001", 2, "99999999.99", true},
		{"25.475", 2, "", false},
		{"25.4800001", 2, "", false},
		{"0.123456789", 8, "", false},
		{"0.000000001", 8, "", false}, // rounds to nothing
		{"0.004", 2, "", false},
		{"1500.5", 0, "", false},
		{"25.48000000000000000001", 2, "25.48", true},
	} {
		got, ok := crExact(tt.s, tt.places)
		if got != tt.want || ok != tt.ok {
			t.Errorf("crExact(%q, %d) = %q, %v; want %q, %v", tt.s, tt.places, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzCoinremitterAmount: whatever number crExact reads, it reads it as an
// amount of at most places decimals within a part in 10^12 of it, and a
// number already of places decimals as itself.
func FuzzCoinremitterAmount(f *testing.F) {
	for _, s := range []string{"25.479999999999997", "0.30000000000000004", "25.475", "1500.0000000000002", "0", ".5", "5.", "0.000000001"} {
		f.Add(s, uint8(2))
	}
	f.Fuzz(func(t *testing.T, s string, p uint8) {
		places := int(p % 9)
		if !crNumber(s) {
			return
		}
		got, ok := crExact(s, places)
		if !ok {
			return
		}
		if _, frac, _ := strings.Cut(s, "."); len(frac) <= places {
			if got != s {
				t.Fatalf("crExact(%q, %d) = %q: changed a number of its unit", s, places, got)
			}
			return
		}
		if _, frac, _ := strings.Cut(got, "."); len(frac) > places {
			t.Fatalf("crExact(%q, %d) = %q: too many decimals", s, places, got)
		}
		x, _ := new(big.Rat).SetString(s)
		r, _ := new(big.Rat).SetString(got)
		off := new(big.Rat).Sub(x, r)
		off.Abs(off).Mul(off, big.NewRat(crNoise, 1))
		if r.Sign() <= 0 || off.Cmp(r) > 0 {
			t.Fatalf("crExact(%q, %d) = %q: more than float noise away", s, places, got)
		}
	})
}
