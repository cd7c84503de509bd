package chain

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/ferry-relay/ferry"
)

// MaxSweepInputs bounds the inputs of one sweep: 1,000 P2WPKH inputs weigh
// about 273,000 weight units, well inside the 400,000 a node relays.
const MaxSweepInputs = 1000

// ErrNoInputs reports a sweep of nothing.
var ErrNoInputs = errors.New("sweep: no inputs")

// SweepInputVSize is the virtual size one P2WPKH input adds to a
// transaction, budgeted for the largest signature: 41 bytes outside the
// witness and 109 inside, in weight units 4×41+109 = 273, a quarter of
// which is 68.25, rounded up.
const SweepInputVSize = 69

// SweepVSize returns the virtual size, in vbytes, of a transaction spending
// n P2WPKH inputs to outputs paying to scripts. Like ForwardVSize it assumes
// the largest signatures, so it is never below the signed transaction's.
func SweepVSize(n int, scripts [][]byte) int64 {
	base := 4 + varIntLen(uint64(n)) + n*(32+4+1+4) + varIntLen(uint64(len(scripts))) + 4
	for _, s := range scripts {
		base += 8 + varIntLen(uint64(len(s))) + len(s)
	}
	// marker and flag, then per input: item count, signature (73 at most)
	// and public key (33), each with its length.
	witness := 2 + n*(1+1+73+1+33)
	weight := int64(base)*4 + int64(witness)
	return (weight + 3) / 4
}

// sweepSigner is what a coin's codec needs to sign a transaction of many
// inputs.
type sweepSigner interface {
	signP2WPKHMany(ins []SpendInput, keys [][]byte, outs []Output) (*SignedTx, error)
}

// SignSweep builds and signs a transaction spending every input in ins, each
// a P2WPKH output of the keychain's address at its KeyIndex, to outs: inputs
// and outputs in the given order, version 2, lock time 0, replace-by-fee
// signalled. Each signature is checked the way a node checks it before the
// transaction is returned. The private keys are derived, used and dropped
// inside the call.
func (c *Coin) SignSweep(k *Keychain, ins []SpendInput, outs []Output) (*SignedTx, error) {
	if len(ins) == 0 {
		return nil, ErrNoInputs
	}
	if len(ins) > MaxSweepInputs {
		return nil, fmt.Errorf("sweep: %d inputs, at most %d", len(ins), MaxSweepInputs)
	}
	if k.coinType != c.coinType {
		return nil, fmt.Errorf("sweep: keychain is for coin type %d, not %s", k.coinType, c)
	}
	seen := make(map[ferry.OutPoint]bool, len(ins))
	for _, in := range ins {
		if seen[in.OutPoint] {
			return nil, fmt.Errorf("sweep: %s spent twice", in.OutPoint)
		}
		seen[in.OutPoint] = true
	}
	s, ok := c.codec.(sweepSigner)
	if !ok {
		return nil, fmt.Errorf("sweep: %s cannot sign sweeps", c)
	}
	keys := make([][]byte, 0, len(ins))
	defer func() {
		for _, key := range keys {
			clear(key)
		}
	}()
	for _, in := range ins {
		key, err := k.privateKey(in.KeyIndex)
		if err != nil {
			return nil, fmt.Errorf("sweep: %w", err)
		}
		keys = append(keys, key)
	}
	tx, err := s.signP2WPKHMany(slices.Clone(ins), keys, outs)
	if err != nil {
		return nil, fmt.Errorf("sign sweep of %d inputs: %w", len(ins), err)
	}
	return tx, nil
}

// scriptReader is what a coin's codec needs to name the address an output
// script pays to.
type scriptReader interface {
	addressOf(script []byte) (string, error)
}

// DestinationOf returns the address an output script pays to, for the
// address types ParseDestination accepts: how ferry reads a destination
// back from a forward on chain. Any other script is refused with an error
// wrapping ErrUnsupportedAddress.
func (c *Coin) DestinationOf(script []byte) (Destination, error) {
	r, ok := c.codec.(scriptReader)
	if !ok {
		return Destination{}, fmt.Errorf("%s cannot read output scripts", c)
	}
	a, err := r.addressOf(script)
	if err != nil {
		return Destination{}, fmt.Errorf("%w: %v", ErrUnsupportedAddress, err)
	}
	d, err := c.ParseDestination(a)
	if err != nil {
		return Destination{}, err
	}
	if !bytes.Equal(d.Script, script) {
		return Destination{}, fmt.Errorf("%w: script %x reads back as %x", ErrUnsupportedAddress, script, d.Script)
	}
	return d, nil
}
