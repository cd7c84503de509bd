package relay

import (
	"fmt"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
)

// plan is the arithmetic of one forward.
type plan struct {
	donation  bool
	service   ferry.Amount // to the fee address (the whole sweep for a donation)
	network   ferry.Amount // left to the miners
	forwarded ferry.Amount // to the destination
	outs      []chain.Output
}

// planForward splits a deposit of value satoshis, in integers only:
//
//   - a deposit below minDeposit is a donation: one output to the fee
//     address, of value less the network fee;
//   - otherwise it is paid to dest as planPayout says, with the service
//     fee fee.
//
// It returns errUneconomical if the output left would be dust.
func planForward(coin *chain.Coin, value ferry.Amount, dest, feeScript []byte, fee ferry.Fraction, minDeposit ferry.Amount, rate int64) (plan, error) {
	if value >= minDeposit {
		return planPayout(coin, value, dest, feeScript, fee, rate)
	}
	p := plan{donation: true}
	p.network = networkFee(rate, [][]byte{feeScript})
	p.service = value - p.network
	if int64(p.service) < coin.DustLimit(feeScript) {
		return plan{}, fmt.Errorf("%w: %d sat donation, %d sat fee", errUneconomical, value, p.network)
	}
	p.outs = []chain.Output{{Value: int64(p.service), Script: feeScript}}
	return p, nil
}

// planRefund sends a deposit of value satoshis to dest, the refund's
// address, as planPayout says: a refund pays the service fee as a forward
// does (fee, the refund's own), so that moving a payment through a refund
// costs what forwarding it does. It returns errUneconomical if what is
// left would be dust.
func planRefund(coin *chain.Coin, value ferry.Amount, dest, feeScript []byte, fee ferry.Fraction, rate int64) (plan, error) {
	return planPayout(coin, value, dest, feeScript, fee, rate)
}

// planPayout pays a deposit of value satoshis to dest, in integers only:
// the service fee is value × fee, rounded down, to the fee address, and the
// rest less the network fee to dest; a service fee below the fee output's
// dust limit is waived (it stays with the recipient), since the network
// would not relay it. It returns errUneconomical if the output left would
// be dust.
func planPayout(coin *chain.Coin, value ferry.Amount, dest, feeScript []byte, fee ferry.Fraction, rate int64) (plan, error) {
	var p plan
	scripts := [][]byte{dest, feeScript}
	p.service = fee.Of(value)
	if int64(p.service) < coin.DustLimit(feeScript) {
		p.service = 0
		scripts = [][]byte{dest}
	}
	p.network = networkFee(rate, scripts)
	p.forwarded = value - p.service - p.network
	if int64(p.forwarded) < coin.DustLimit(dest) {
		return plan{}, fmt.Errorf("%w: %d sat deposit, %d sat service fee, %d sat network fee", errUneconomical, value, p.service, p.network)
	}
	p.outs = []chain.Output{{Value: int64(p.forwarded), Script: dest}}
	if p.service > 0 {
		p.outs = append(p.outs, chain.Output{Value: int64(p.service), Script: feeScript})
	}
	return p, nil
}

// networkFee is the fee of a forward of one input paying scripts at rate
// satoshis per 1000 vbytes: its virtual size times the rate, rounded up.
func networkFee(rate int64, scripts [][]byte) ferry.Amount {
	return ferry.Amount((rate*chain.ForwardVSize(scripts) + 999) / 1000)
}
