package ferry_test

import (
	"fmt"
	"testing"

	"github.com/ferry-relay/ferry"
)

func TestFraction(t *testing.T) {
	tests := []struct {
		in    string
		value ferry.Amount
		want  ferry.Amount
		bad   bool
	}{
		{in: "0.01", value: 1_000_000, want: 10_000},
		{in: "0.01", value: 1_234_567, want: 12_345}, // rounded down
		{in: "0.01", value: 99, want: 0},
		{in: "0.015", value: 1_000_001, want: 15_000},
		{in: "0.00000001", value: 8_400_000_000_000_000, want: 84_000_000},
		{in: "0.99999999", value: 8_400_000_000_000_000, want: 8_399_999_916_000_000},
		{in: "0", value: 5_000, want: 0},
		{in: ".5", value: 3, want: 1},
		{in: "1", bad: true},
		{in: "1.5", bad: true},
		{in: "0.123456789", bad: true},
		{in: "-0.01", bad: true},
		{in: "0.-1", bad: true},
		{in: "0.1e1", bad: true},
		{in: "", bad: true},
		{in: ".", bad: true},
		{in: "abc", bad: true},
	}
	for _, tt := range tests {
		f, err := ferry.ParseFraction(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("ParseFraction(%q) accepted", tt.in)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseFraction(%q): %v", tt.in, err)
			continue
		}
		if got := f.Of(tt.value); got != tt.want {
			t.Errorf("%s of %d = %d, want %d", tt.in, tt.value, got, tt.want)
		}
		if f.String() != tt.in {
			t.Errorf("String() = %q, want %q", f.String(), tt.in)
		}
	}
}

func ExampleFraction_Of() {
	fee, _ := ferry.ParseFraction("0.01")
	fmt.Println(int64(fee.Of(1_234_567)), fee.Of(1_234_567))
	// Output: 12345 0.00012345
}

func TestFractionPercent(t *testing.T) {
	for in, want := range map[string]string{
		"0": "0", "0.01": "1", "0.1": "10", "0.005": "0.5", "0.0125": "1.25", "0.00000001": "0.000001", "0.10": "10", ".5": "50",
	} {
		f, err := ferry.ParseFraction(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Percent(); got != want {
			t.Errorf("%s in percent = %s, want %s", in, got, want)
		}
	}
}
