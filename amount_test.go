package ferry_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ferry-relay/ferry"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in   string
		want ferry.Amount
		ok   bool
	}{
		{"0.010", 1_000_000, true},
		{"0.0010", 100_000, true},
		{"1", 100_000_000, true},
		{"12.5", 1_250_000_000, true},
		{".5", 50_000_000, true},
		{"0.00000001", 1, true},
		{"84000000", 84_000_000 * ferry.SatoshiPerCoin, true},
		{"0.000000001", 0, false}, // below a satoshi
		{"84000000.00000001", 0, false},
		{"1e-3", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"1.2.3", 0, false},
		{"", 0, false},
		{".", 0, false},
		{"0x10", 0, false},
		{"1 ", 0, false},
		{"99999999999999999999", 0, false},
	}
	for _, tt := range tests {
		got, err := ferry.ParseAmount(tt.in)
		if tt.ok != (err == nil) || got != tt.want {
			t.Errorf("ParseAmount(%q) = %d, %v; want %d ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, ferry.ErrBadAmount) {
			t.Errorf("ParseAmount(%q) error %v does not wrap ErrBadAmount", tt.in, err)
		}
	}
}

func TestFormatAmount(t *testing.T) {
	for sat, want := range map[ferry.Amount]string{0: "0.00000000", 1: "0.00000001", 1_234_567_891: "12.34567891", -5: "-0.00000005"} {
		if got := ferry.Amount(sat).String(); got != want {
			t.Errorf("FormatAmount(%d) = %q, want %q", sat, got, want)
		}
		if sat >= 0 {
			if back, err := ferry.ParseAmount(want); err != nil || back != sat {
				t.Errorf("ParseAmount(FormatAmount(%d)) = %d, %v", sat, back, err)
			}
		}
	}
}

func ExampleParseAmount() {
	sat, _ := ferry.ParseAmount("0.010")
	fmt.Println(int64(sat), sat, sat.Short())
	// Output: 1000000 0.01000000 0.01
}

func TestParseBaseUnits(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want ferry.Amount
		ok   bool
	}{
		{"123456", 123456, true}, {"0", 0, true}, {"8400000000000000", ferry.MaxAmount, true},
		{"8400000000000001", 0, false}, {"1.5", 0, false}, {"0.00123456", 0, false}, {"-1", 0, false}, {"+1", 0, false},
		{"1e8", 0, false}, {"", 0, false}, {" 1", 0, false}, {"99999999999999999999", 0, false},
	} {
		got, err := ferry.ParseBaseUnits(tt.in)
		if tt.ok != (err == nil) || got != tt.want || (err != nil && !errors.Is(err, ferry.ErrBadAmount)) {
			t.Errorf("ParseBaseUnits(%q) = %d, %v; want %d ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestFormatAmountShort(t *testing.T) {
	for sat, want := range map[ferry.Amount]string{0: "0", 20_000_000: "0.2", 100_000_000: "1", 1: "0.00000001", 1_234_500_000: "12.345", -5: "-0.00000005"} {
		if got := ferry.Amount(sat).Short(); got != want {
			t.Errorf("FormatAmountShort(%d) = %q, want %q", sat, got, want)
		}
	}
}
