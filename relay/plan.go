package relay

import (
	"fmt"

	"github.com/ferry-relay/ferry/chain"
)

// plan is the arithmetic of one forward.
type plan struct {
	donation  bool
	service   int64 // to the fee address (the whole sweep for a donation)
	network   int64 // left to the miners
	forwarded int64 // to the destination
	outs      []chain.Output
}

// planForward splits a deposit of value satoshis, in integers only:
//
//   - a deposit below minDeposit is a donation: one output to the fee
//     address, of value less the network fee;
//   - otherwise the service fee is value × fee, rounded down, to the fee
//     address, and the rest less the network fee goes to the destination;
//     a service fee below the fee output's dust limit is waived (it stays
//     with the merchant), since the network would not relay it;
//   - the network fee is rate (satoshis per 1000 vbytes) times the
//     transaction's virtual size, rounded up.
//
// It returns errUneconomical if the output left would be dust.
func planForward(coin *chain.Coin, value int64, dest, feeScript []byte, fee Fraction, minDeposit, rate int64) (plan, error) {
	var p plan
	scripts := [][]byte{dest, feeScript}
	switch {
	case value < minDeposit:
		p.donation = true
		scripts = [][]byte{feeScript}
	default:
		p.service = fee.Of(value)
		if p.service < coin.DustLimit(feeScript) {
			p.service = 0
			scripts = [][]byte{dest}
		}
	}
	vsize := chain.ForwardVSize(scripts)
	p.network = (rate*vsize + 999) / 1000

	if p.donation {
		p.service = value - p.network
		if p.service < coin.DustLimit(feeScript) {
			return plan{}, fmt.Errorf("%w: %d sat donation, %d sat fee", errUneconomical, value, p.network)
		}
		p.outs = []chain.Output{{Value: p.service, Script: feeScript}}
		return p, nil
	}
	p.forwarded = value - p.service - p.network
	if p.forwarded < coin.DustLimit(dest) {
		return plan{}, fmt.Errorf("%w: %d sat deposit, %d sat service fee, %d sat network fee", errUneconomical, value, p.service, p.network)
	}
	p.outs = []chain.Output{{Value: p.forwarded, Script: dest}}
	if p.service > 0 {
		p.outs = append(p.outs, chain.Output{Value: p.service, Script: feeScript})
	}
	return p, nil
}

// planRefund sends a deposit of value satoshis to dest, the refund's
// address, in integers only: the service fee is value × fee, rounded down,
// to the fee address, waived below the fee output's dust limit as
// planForward waives it; the rest less the network fee goes to dest. A
// refund pays the service fee as a forward does, so that moving a payment
// through a refund costs what forwarding it does. It returns
// errUneconomical if what is left would be dust.
func planRefund(coin *chain.Coin, value int64, dest, feeScript []byte, fee Fraction, rate int64) (plan, error) {
	var p plan
	scripts := [][]byte{dest, feeScript}
	p.service = fee.Of(value)
	if p.service < coin.DustLimit(feeScript) {
		p.service = 0
		scripts = [][]byte{dest}
	}
	p.network = (rate*chain.ForwardVSize(scripts) + 999) / 1000
	p.forwarded = value - p.service - p.network
	if p.forwarded < coin.DustLimit(dest) {
		return plan{}, fmt.Errorf("%w: %d sat refund, %d sat service fee, %d sat network fee", errUneconomical, value, p.service, p.network)
	}
	p.outs = []chain.Output{{Value: p.forwarded, Script: dest}}
	if p.service > 0 {
		p.outs = append(p.outs, chain.Output{Value: p.service, Script: feeScript})
	}
	return p, nil
}
