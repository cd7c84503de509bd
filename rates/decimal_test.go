package rates_test

import (
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/ferry-relay/ferry/rates"
)

func TestParseDecimal(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want "" means refused
	}{
		{"0", "0"},
		{"80", "80"},
		{"80.12", "80.12"},
		{"61.07", "61.07"},
		{"90123.456789", "90123.456789"},
		{"074.30", "74.3"},
		{"000", "0"},
		{"0.000", "0"},
		{".5", "0.5"},
		{"5.", "5"},
		{"999999999999999999", "999999999999999999"},
		{"0.000000000000000001", "0.000000000000000001"},
		{"999999999999999999.999999999999999999", "999999999999999999.999999999999999999"},
		{"", ""},
		{".", ""},
		{"..5", ""},
		{"1.2.3", ""},
		{"-1", ""},
		{"+1", ""},
		{"1e5", ""},
		{"1E5", ""},
		{" 1", ""},
		{"1 ", ""},
		{"1,000", ""},
		{"1_000", ""},
		{"abc", ""},
		{"0x10", ""},
		{"NaN", ""},
		{"Inf", ""},
		{"١٢", ""}, // Arabic-Indic digits
		{"1000000000000000000", ""},
		{"0.0000000000000000001", ""},
	} {
		d, err := rates.ParseDecimal(tc.in)
		switch {
		case tc.want == "" && !errors.Is(err, rates.ErrBadDecimal):
			t.Errorf("ParseDecimal(%q) = %s, %v; want ErrBadDecimal", tc.in, d, err)
		case tc.want != "" && err != nil:
			t.Errorf("ParseDecimal(%q): %v", tc.in, err)
		case tc.want != "" && d.String() != tc.want:
			t.Errorf("ParseDecimal(%q) = %s, want %s", tc.in, d, tc.want)
		}
	}
}

func TestDecimalExact(t *testing.T) {
	// 0.1 + 0.2 is 0.3, exactly, which no float gets right.
	sum := new(big.Rat).Add(mustDecimal(t, "0.1").Rat(), mustDecimal(t, "0.2").Rat())
	d, err := rates.DecimalFromRat(sum)
	if err != nil {
		t.Fatal(err)
	}
	if d.Cmp(mustDecimal(t, "0.3")) != 0 || d.String() != "0.3" {
		t.Errorf("0.1 + 0.2 = %s", d)
	}
	if got := mustDecimal(t, "61.07").Rat().RatString(); got != "6107/100" {
		t.Errorf("61.07 is %s", got)
	}
}

func TestDecimalString(t *testing.T) {
	for _, tc := range []struct {
		rat, want string
	}{
		{"0", "0"},
		{"1/3", "0.333333333333333333"},
		{"2/3", "0.666666666666666667"},
		{"1/8", "0.125"},
		{"1/1024", "0.0009765625"},
		{"1/524288", "0.000001907348632813"},              // 2^-19: 19 decimals, rounded
		{"1/2000000000000000000", "0.000000000000000001"}, // 5e-19 rounds half up
		{"1/3000000000000000000", "0.000000000000000000"},
		{"1000000000000000000000000000000", "1000000000000000000000000000000"},
		{"500000001/50000000", "10.00000002"},
	} {
		r, _ := new(big.Rat).SetString(tc.rat)
		d, err := rates.DecimalFromRat(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.String(); got != tc.want {
			t.Errorf("%s: String() = %s, want %s", tc.rat, got, tc.want)
		}
	}
	if got := (rates.Decimal{}).String(); got != "0" {
		t.Errorf("zero value: %s", got)
	}
}

func TestDecimalFixed(t *testing.T) {
	for _, tc := range []struct {
		in     string
		places int
		want   string
	}{
		{"2", 2, "2.00"},
		{"2.5", 0, "3"},
		{"3.5", 0, "4"},
		{"2.4", 0, "2"},
		{"2.345", 2, "2.35"},
		{"2.344999", 2, "2.34"},
		{"0.005", 2, "0.01"},
		{"0.004999999999999999", 2, "0.00"},
		{"0", 2, "0.00"},
		{"80.12", 8, "80.12000000"},
		{"2.5", -1, "3"},
	} {
		if got := mustDecimal(t, tc.in).Fixed(tc.places); got != tc.want {
			t.Errorf("%s.Fixed(%d) = %s, want %s", tc.in, tc.places, got, tc.want)
		}
	}
	third, _ := rates.DecimalFromRat(big.NewRat(2, 3))
	if got := third.Fixed(2); got != "0.67" {
		t.Errorf("2/3 to 2 places: %s", got)
	}
}

func TestDecimalFromRat(t *testing.T) {
	if _, err := rates.DecimalFromRat(big.NewRat(-1, 2)); !errors.Is(err, rates.ErrBadDecimal) {
		t.Errorf("-1/2: %v", err)
	}
	if _, err := rates.DecimalFromRat(nil); !errors.Is(err, rates.ErrBadDecimal) {
		t.Errorf("nil: %v", err)
	}

	// The Decimal keeps its own copy, and Rat hands out copies.
	r := big.NewRat(1, 2)
	d, err := rates.DecimalFromRat(r)
	if err != nil {
		t.Fatal(err)
	}
	r.SetInt64(7)
	d.Rat().SetInt64(9)
	if d.String() != "0.5" {
		t.Errorf("a Decimal changed under its caller: %s", d)
	}
}

func TestDecimalCmp(t *testing.T) {
	a, b := mustDecimal(t, "80.1"), mustDecimal(t, "80.10")
	if a.Cmp(b) != 0 || a.Cmp(mustDecimal(t, "80.11")) != -1 || mustDecimal(t, "81").Cmp(a) != 1 {
		t.Error("Cmp is wrong")
	}
	if !(rates.Decimal{}).IsZero() || !mustDecimal(t, "0.00").IsZero() || a.IsZero() {
		t.Error("IsZero is wrong")
	}
	if (rates.Decimal{}).Cmp(mustDecimal(t, "0")) != 0 {
		t.Error("the zero value is not 0")
	}
}

func TestErrorsQuoteShort(t *testing.T) {
	_, err := rates.ParseDecimal(strings.Repeat("9", 10000) + "x")
	if err == nil || len(err.Error()) > 200 {
		t.Errorf("error of %d bytes", len(err.Error()))
	}
}
