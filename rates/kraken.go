package rates

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ferry-relay/ferry/clock"
)

// krakenCodes are Kraken's asset codes of ferry's coins: Kraken calls
// Bitcoin XBT.
var krakenCodes = map[string]string{
	"ltc": "LTC",
	"btc": "XBT",
}

// kraken is the source "kraken": the last trade price of Kraken's public
// ticker.
//
// Kraken takes pairs by their short names (LTCUSD, XBTUSD) but answers under
// its canonical names, which follow no single rule: pairs of its oldest
// markets carry X and Z prefixes (XLTCZUSD, XLTCZEUR, XLTCZJPY, XXBTZUSD,
// XXBTZEUR, XXBTZGBP, XXBTZJPY, XXBTZCAD), later ones do not (LTCGBP,
// LTCAUD, LTCCHF, XBTCHF, XBTAUD). Both forms are tried; a pair found under
// neither is asked for alone, and the one ticker of that answer is its if
// the name holds the coin's code and the currency's (LTCUSD.new).
type kraken struct {
	base   string
	client *http.Client
	clock  clock.Clock
}

var _ Source = (*kraken)(nil)

// Name returns "kraken".
func (*kraken) Name() string { return "kraken" }

// Prices asks GET /0/public/Ticker?pair=LTCUSD,XBTUSD for all pairs at once
// and takes each pair's last trade price ("c"). Kraken refuses the whole
// request if it lists any pair it does not quote: the error, wrapping
// ErrUnsupported, then names all the pairs asked for.
func (k *kraken) Prices(ctx context.Context, pairs []Pair) (map[Pair]Price, error) {
	pairs, err := wanted(pairs)
	if err != nil {
		return nil, fmt.Errorf("kraken: %w", err)
	}
	if len(pairs) == 0 {
		return map[Pair]Price{}, nil
	}
	result, err := k.ticker(ctx, pairs)
	if err != nil {
		return nil, fmt.Errorf("kraken: %w", err)
	}
	now := k.clock.Now()
	prices := make(map[Pair]Price, len(pairs))
	for _, p := range pairs {
		raw, ok := pickTicker(result, p, len(pairs) == 1)
		if !ok && len(pairs) > 1 {
			// An answer under a name not foreseen: ask for the pair alone.
			alone, err := k.ticker(ctx, []Pair{p})
			if err != nil {
				return nil, fmt.Errorf("kraken: %w", err)
			}
			raw, ok = pickTicker(alone, p, true)
		}
		if !ok {
			return nil, fmt.Errorf("kraken: %s: %w: no ticker in the answer", p, ErrUnavailable)
		}
		v, err := parseKrakenTicker(raw)
		if err != nil {
			return nil, fmt.Errorf("kraken: %s: %w: %w", p, ErrUnavailable, err)
		}
		prices[p] = Price{Pair: p, Value: v, Source: "kraken", Time: now}
	}
	return prices, nil
}

// ticker fetches Kraken's tickers of pairs and returns them by the names
// Kraken answered under.
func (k *kraken) ticker(ctx context.Context, pairs []Pair) (map[string]json.RawMessage, error) {
	names := make([]string, len(pairs))
	shown := make([]string, len(pairs))
	for i, p := range pairs {
		names[i] = krakenCodes[p.Coin] + p.Fiat
		shown[i] = p.String()
	}
	body, err := get(ctx, k.client, k.base+"/0/public/Ticker?pair="+strings.Join(names, ","))
	if err != nil {
		return nil, err
	}
	result, err := parseKrakenAnswer(body)
	if err != nil {
		if len(pairs) > 1 {
			return nil, fmt.Errorf("one of %s: %w", strings.Join(shown, ", "), err)
		}
		return nil, fmt.Errorf("%s: %w", shown[0], err)
	}
	return result, nil
}

// parseKrakenAnswer reads Kraken's envelope,
// {"error":[],"result":{"XLTCZUSD":{…}}}, and returns its result. An error
// "EQuery:Unknown asset pair" wraps ErrUnsupported, any other ErrUnavailable;
// warnings (W…) are ignored.
func parseKrakenAnswer(body []byte) (map[string]json.RawMessage, error) {
	var answer struct {
		Error  []string                   `json:"error"`
		Result map[string]json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return nil, fmt.Errorf("%w: answer is malformed: %w", ErrUnavailable, err)
	}
	var errs []string
	for _, e := range answer.Error {
		if strings.HasPrefix(e, "W") {
			continue
		}
		if strings.HasPrefix(e, "EQuery:Unknown asset pair") {
			return nil, fmt.Errorf("%w: %s", ErrUnsupported, clip(e))
		}
		errs = append(errs, clip(e))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrUnavailable, clipN(strings.Join(errs, "; "), 160))
	}
	if answer.Result == nil {
		return nil, fmt.Errorf("%w: answer has no result", ErrUnavailable)
	}
	return answer.Result, nil
}

// pickTicker finds p's ticker in result under either form of Kraken's
// names, or, when p was asked for alone, as the one ticker of the answer if
// its name holds both the coin's code and the currency's.
func pickTicker(result map[string]json.RawMessage, p Pair, alone bool) (json.RawMessage, bool) {
	code := krakenCodes[p.Coin]
	for _, name := range []string{"X" + code + "Z" + p.Fiat, code + p.Fiat} {
		if raw, ok := result[name]; ok {
			return raw, true
		}
	}
	if alone && len(result) == 1 {
		for name, raw := range result {
			if strings.Contains(name, code) && strings.Contains(name, p.Fiat) {
				return raw, true
			}
		}
	}
	return nil, false
}

// parseKrakenTicker returns the last trade price of a ticker,
// {"a":[…],"b":[…],"c":["80.12000","0.50000000"],…}: the first element of
// "c", a decimal string.
func parseKrakenTicker(raw json.RawMessage) (Decimal, error) {
	var t struct {
		C []string `json:"c"`
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return Decimal{}, fmt.Errorf("ticker is malformed: %w", err)
	}
	if len(t.C) == 0 {
		return Decimal{}, errors.New("ticker has no last trade")
	}
	return parseQuote(t.C[0])
}
