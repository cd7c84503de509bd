package ferry

import "strings"

// Coin is a coin's id: "ltc" or "btc", as store keys, callbacks (coin=ltc)
// and the engines name it.
type Coin string

// The coins ferry relays.
const (
	LTC Coin = "ltc"
	BTC Coin = "btc"
)

// Coins are the coins ferry knows, Litecoin first.
var Coins = []Coin{LTC, BTC}

// Ticker returns the coin's ticker: "LTC", "BTC".
func (c Coin) Ticker() string { return strings.ToUpper(string(c)) }

// Name returns the coin's name: "litecoin", "bitcoin", or "" for a coin
// ferry does not know.
func (c Coin) Name() string {
	switch c {
	case LTC:
		return "litecoin"
	case BTC:
		return "bitcoin"
	}
	return ""
}

// Known reports whether ferry knows the coin.
func (c Coin) Known() bool { return c.Name() != "" }
