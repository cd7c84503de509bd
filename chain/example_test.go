package chain_test

import (
	"encoding/hex"
	"fmt"

	"github.com/ferry-relay/ferry/chain"
)

func ExampleCoin_ParseDestination() {
	ltc, _ := chain.Litecoin(chain.Mainnet)
	d, err := ltc.ParseDestination("ltc1qjmxnz78nmc8nq77wuxh25n2es7rzm5c2rkk4wh")
	fmt.Println(d.Type, err)
	_, err = ltc.ParseDestination("bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu")
	fmt.Println(err)
	// Output:
	// p2wpkh <nil>
	// address is for another network: this is a bitcoin mainnet address, not litecoin mainnet
}

func ExampleKeychain() {
	seed, _ := hex.DecodeString("5eb00bbddcf069084889a8ab9155568165f5c453ccb85e70811aaed6f6da5fc19a5ac40b389cd370d086206dec8aa6c43daea6690f20ad3d8d48b2d2ce9e38e4")
	ltc, _ := chain.Litecoin(chain.Mainnet)
	keys, _ := chain.NewKeychain(seed, ltc.CoinType())
	program, _ := keys.Program(0)
	addr, _ := ltc.InputAddress(program)
	fmt.Println(keys.Path(0), addr.Address)
	// Output: m/84'/2'/0'/0/0 ltc1qjmxnz78nmc8nq77wuxh25n2es7rzm5c2rkk4wh
}
