package rates

import (
	"context"
	"fmt"
	"strings"

	"github.com/ferry-relay/ferry/clock"
)

// static is the source "static:…": prices the operator sets himself.
type static struct {
	prices map[Pair]Decimal
	clock  clock.Clock
}

var _ Source = (*static)(nil)

// newStatic parses the list of a static source,
// "LTC/USD=80,BTC/USD=90000,LTC/EUR=74.5": each pair once, each price a
// decimal more than 0.
func newStatic(list string, clk clock.Clock) (*static, error) {
	s := &static{prices: make(map[Pair]Decimal), clock: clk}
	if list == "" {
		return nil, fmt.Errorf("static rates: empty: want static:LTC/USD=80,BTC/USD=90000")
	}
	for item := range strings.SplitSeq(list, ",") {
		name, value, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("static rates: %q: want PAIR=PRICE, such as LTC/USD=80", clip(item))
		}
		p, err := ParsePair(name)
		if err != nil {
			return nil, fmt.Errorf("static rates: %w", err)
		}
		if _, dup := s.prices[p]; dup {
			return nil, fmt.Errorf("static rates: %s is set twice", p)
		}
		v, err := ParseDecimal(value)
		if err != nil {
			return nil, fmt.Errorf("static rates: %s: %w", p, err)
		}
		if v.IsZero() {
			return nil, fmt.Errorf("static rates: %s: the price must be more than 0", p)
		}
		s.prices[p] = v
	}
	return s, nil
}

// Name returns "static".
func (*static) Name() string { return "static" }

// Prices returns the prices set for pairs, stamped with the clock's time
// now. A pair that was not set is an error wrapping ErrUnsupported.
func (s *static) Prices(_ context.Context, pairs []Pair) (map[Pair]Price, error) {
	pairs, err := wanted(pairs)
	if err != nil {
		return nil, fmt.Errorf("static: %w", err)
	}
	now := s.clock.Now()
	prices := make(map[Pair]Price, len(pairs))
	for _, p := range pairs {
		v, ok := s.prices[p]
		if !ok {
			return nil, fmt.Errorf("static: %s: %w: no rate set for it", p, ErrUnsupported)
		}
		prices[p] = Price{Pair: p, Value: v, Source: "static", Time: now}
	}
	return prices, nil
}
