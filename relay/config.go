package relay

import (
	"errors"
	"fmt"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/clock"
)

// Config is the engine's configuration, shared by every coin. DefaultConfig
// holds its defaults, the only place they are written; Validate says which
// field is wrong.
type Config struct {
	// FeePercent is the service fee, a fraction of each deposit.
	FeePercent ferry.Fraction
	// RefundFeePercent, if set, is the service fee of a refund (an
	// invoice's held payment sent back), a fraction of the deposit; nil
	// charges FeePercent. Zero lets a vendor move a payment it holds
	// anywhere without a service fee.
	RefundFeePercent *ferry.Fraction
	// ForwardConfirmations is the number of confirmations a deposit needs
	// before it is forwarded.
	ForwardConfirmations int64
	// FeeTarget is the confirmation target, in blocks, asked of the
	// node's fee estimator.
	FeeTarget int
	// PollInterval is how often the scanner asks a node without long
	// polling for its best block.
	PollInterval time.Duration
	// AddressExpiry is the idle time, counted in block time from an input
	// address's minting or its last payment, after which it is no longer
	// offered for payment; 0 keeps every address.
	AddressExpiry time.Duration
	// ExpiryGrace is how much longer an expired address is still watched,
	// so that a payment the node saw before the address expired is picked
	// up when it is mined: the nodes' default mempool expiry (14 days).
	ExpiryGrace time.Duration
	// MaxCallbackConfirmations bounds how long a callback that never got
	// *ok* is sent again: not past this many confirmations of its
	// deposit, once it has been sent at least once.
	MaxCallbackConfirmations int64
	// Clock is the engine's time.
	Clock clock.Clock
}

// DefaultConfig returns the defaults: a 1% fee, one confirmation, a fee
// target of 3 blocks, 250 ms polling, addresses idle for 30 days expire and
// are watched 14 days more, callbacks up to 100 confirmations, the system
// clock.
func DefaultConfig() Config {
	fee, _ := ferry.ParseFraction("0.01")
	return Config{
		FeePercent:               fee,
		ForwardConfirmations:     1,
		FeeTarget:                3,
		PollInterval:             250 * time.Millisecond,
		AddressExpiry:            720 * time.Hour,
		ExpiryGrace:              336 * time.Hour,
		MaxCallbackConfirmations: 100,
		Clock:                    clock.System{},
	}
}

// FieldError reports a configuration field with a value the engine
// refuses.
type FieldError struct {
	Field string
	Err   error
}

// Error returns "Field: reason".
func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

// Unwrap returns the reason.
func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}

// RefundFee returns the service fee of a refund: RefundFeePercent, or
// FeePercent if it is nil.
func (c Config) RefundFee() ferry.Fraction {
	if c.RefundFeePercent != nil {
		return *c.RefundFeePercent
	}
	return c.FeePercent
}

// Validate returns a *FieldError for the first field out of range.
func (c Config) Validate() error {
	switch {
	case c.ForwardConfirmations < 1:
		return fieldErr("ForwardConfirmations", "must be at least 1, not %d", c.ForwardConfirmations)
	case c.FeeTarget < 1:
		return fieldErr("FeeTarget", "must be at least 1 block, not %d", c.FeeTarget)
	case c.PollInterval <= 0:
		return fieldErr("PollInterval", "must be positive, not %v", c.PollInterval)
	case c.AddressExpiry < 0:
		return fieldErr("AddressExpiry", "must not be negative, not %v", c.AddressExpiry)
	case c.ExpiryGrace < 0:
		return fieldErr("ExpiryGrace", "must not be negative, not %v", c.ExpiryGrace)
	case c.MaxCallbackConfirmations < 1:
		return fieldErr("MaxCallbackConfirmations", "must be at least 1, not %d", c.MaxCallbackConfirmations)
	case c.ForwardConfirmations > c.MaxCallbackConfirmations:
		// A callback starts with its forward: it must be able to go out.
		return fieldErr("ForwardConfirmations", "%d is above the confirmation limit of callbacks (%d): every callback would start past it",
			c.ForwardConfirmations, c.MaxCallbackConfirmations)
	case c.Clock == nil:
		return fieldErr("Clock", "required")
	}
	return nil
}

// Coin is one coin as the engine runs it: the chain, the node's services
// the engine's parts use (one *chain.Node gives them all), the keys and
// the operator's settings.
type Coin struct {
	Chain *chain.Coin
	// Blocks, Broadcaster, Fees and Mempool are the node, as the scanner,
	// the forwarder and the mempool watcher see it.
	Blocks      BlockSource
	Broadcaster Broadcaster
	Fees        FeeSource
	Mempool     MempoolSource
	Keys        *chain.Keychain
	// FeeAddress receives the service fees and swept donations.
	FeeAddress chain.Destination
	// MinDeposit, in satoshis: smaller deposits are donations.
	MinDeposit ferry.Amount
	// FallbackFeeRate, in satoshis per 1000 vbytes, is used when the node
	// has no fee estimate.
	FallbackFeeRate int64
}

// validate checks that a coin has every part.
func (c Coin) validate() error {
	switch {
	case c.Chain == nil:
		return errors.New("coin: Chain is required")
	case c.Blocks == nil || c.Broadcaster == nil || c.Fees == nil || c.Mempool == nil:
		return fmt.Errorf("%s: Blocks, Broadcaster, Fees and Mempool are required", c.Chain.Name())
	case c.Keys == nil:
		return fmt.Errorf("%s: Keys are required", c.Chain.Name())
	case c.FeeAddress.Script == nil:
		return fmt.Errorf("%s: a fee address is required", c.Chain.Name())
	case c.MinDeposit < 0:
		return fmt.Errorf("%s: MinDeposit must not be negative", c.Chain.Name())
	case c.FallbackFeeRate <= 0:
		return fmt.Errorf("%s: FallbackFeeRate must be positive", c.Chain.Name())
	}
	return nil
}
