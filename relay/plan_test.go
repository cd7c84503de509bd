package relay

import (
	"errors"
	"testing"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
)

func TestPlanForward(t *testing.T) {
	ltc, _ := chain.Litecoin(chain.Mainnet)
	p2wpkh := append([]byte{0x00, 0x14}, make([]byte, 20)...)
	p2pkh := append(append([]byte{0x76, 0xa9, 0x14}, make([]byte, 20)...), 0x88, 0xac)
	pct, _ := ferry.ParseFraction("0.01")
	tiny, _ := ferry.ParseFraction("0.001")
	const min = 1_000_000 // 0.01 LTC

	// Virtual sizes of the forwards (ForwardVSize): P2WPKH in, P2WPKH
	// outputs: 141 vbytes with two outputs, 110 with one.
	tests := []struct {
		name      string
		value     ferry.Amount
		dest, fee []byte
		pct       ferry.Fraction
		rate      int64
		want      plan
		err       error
	}{
		{
			name: "minimum deposit", value: 1_000_000, dest: p2wpkh, fee: p2wpkh, pct: pct, rate: 1000,
			want: plan{service: 10_000, network: 141, forwarded: 989_859},
		},
		{
			name: "fee rounded down, network fee rounded up", value: 123_456_789, dest: p2wpkh, fee: p2wpkh, pct: pct, rate: 10_500,
			want: plan{service: 1_234_567, network: 1481, forwarded: 122_220_741},
		},
		{
			name: "p2pkh destination is bigger", value: 5_000_000, dest: p2pkh, fee: p2wpkh, pct: pct, rate: 1000,
			want: plan{service: 50_000, network: 144, forwarded: 4_949_856},
		},
		{
			// 0.1% of 0.02 LTC is 2000 litoshis, under the 2940 dust limit of
			// a P2WPKH output: the fee is waived and one output is made.
			name: "dust fee waived", value: 2_000_000, dest: p2wpkh, fee: p2wpkh, pct: tiny, rate: 1000,
			want: plan{service: 0, network: 110, forwarded: 1_999_890},
		},
		{
			name: "donation swept to fee address", value: 999_999, dest: p2wpkh, fee: p2wpkh, pct: pct, rate: 1000,
			want: plan{donation: true, service: 999_889, network: 110},
		},
		{
			name: "donation too small to sweep", value: 3000, dest: p2wpkh, fee: p2wpkh, pct: pct, rate: 1000,
			err: errUneconomical,
		},
		{
			name: "fee rate eats the deposit", value: 1_000_000, dest: p2wpkh, fee: p2wpkh, pct: pct, rate: 7_050_000,
			err: errUneconomical,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := planForward(ltc, ferry.Amount(tt.value), tt.dest, tt.fee, tt.pct, min, tt.rate)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.donation != tt.want.donation || got.service != tt.want.service || got.network != tt.want.network || got.forwarded != tt.want.forwarded {
				t.Errorf("plan = %+v, want %+v", got, tt.want)
			}
			// Every satoshi is accounted for.
			var outs ferry.Amount
			for _, o := range got.outs {
				outs += ferry.Amount(o.Value)
			}
			if outs+got.network != tt.value {
				t.Errorf("outputs %d + network fee %d != deposit %d", outs, got.network, tt.value)
			}
		})
	}
}

// TestPlanRefund (review 18, item 4): a refund pays the service fee as a
// forward does, waived below the dust limit as a forward's is; at 0 it
// pays none.
func TestPlanRefund(t *testing.T) {
	ltc, _ := chain.Litecoin(chain.Mainnet)
	dest := append([]byte{0x00, 0x14}, make([]byte, 20)...)
	fee := append([]byte{0x00, 0x14}, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20)
	pct, _ := ferry.ParseFraction("0.01")
	tiny, _ := ferry.ParseFraction("0.001")
	zero, _ := ferry.ParseFraction("0")
	tests := []struct {
		name  string
		value ferry.Amount
		pct   ferry.Fraction
		rate  int64
		want  plan
		err   error
	}{
		{
			name: "service fee and network fee", value: 25_000_000, pct: pct, rate: 1000,
			want: plan{service: 250_000, network: 141, forwarded: 24_749_859},
		},
		{
			// 0.1% of 0.02 LTC is under the 2940 dust limit: waived.
			name: "dust fee waived", value: 2_000_000, pct: tiny, rate: 1000,
			want: plan{service: 0, network: 110, forwarded: 1_999_890},
		},
		{
			name: "no refund fee", value: 25_000_000, pct: zero, rate: 1000,
			want: plan{service: 0, network: 110, forwarded: 24_999_890},
		},
		{
			name: "fee rate eats the refund", value: 1_000_000, pct: pct, rate: 7_050_000,
			err: errUneconomical,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := planRefund(ltc, ferry.Amount(tt.value), dest, fee, tt.pct, tt.rate)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.donation || got.service != tt.want.service || got.network != tt.want.network || got.forwarded != tt.want.forwarded {
				t.Errorf("plan = %+v, want %+v", got, tt.want)
			}
			var outs ferry.Amount
			toFee := ferry.Amount(0)
			for _, o := range got.outs {
				outs += ferry.Amount(o.Value)
				if string(o.Script) == string(fee) {
					toFee += ferry.Amount(o.Value)
				}
			}
			if outs+got.network != tt.value || toFee != tt.want.service {
				t.Errorf("outputs %d (%d to the fee address) + network fee %d != refund %d", outs, toFee, got.network, tt.value)
			}
		})
	}
}
