package chain

import "strings"

// identify describes which coins and networks would take address s, as in
// "bitcoin mainnet" or "litecoin testnet/regtest or bitcoin testnet/regtest",
// or returns "" when none would. It serves error messages only: test networks
// share version bytes, so one legacy address can belong to several.
func identify(s string) string {
	var coins []string
	for _, mk := range []func(Network) (*Coin, error){Litecoin, Bitcoin} {
		var nets []string
		var name string
		for _, n := range []Network{Mainnet, Testnet, Regtest} {
			c, err := mk(n)
			if err != nil {
				continue
			}
			name = c.name
			if _, err := c.codec.parseAddress(s); err == nil {
				nets = append(nets, string(n))
			}
		}
		if len(nets) > 0 {
			coins = append(coins, name+" "+strings.Join(nets, "/"))
		}
	}
	return strings.Join(coins, " or ")
}
