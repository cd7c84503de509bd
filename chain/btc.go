package chain

import (
	"fmt"

	"github.com/btcsuite/btcd/chaincfg"
)

// This file holds what only Bitcoin has. What Bitcoin and Litecoin share is
// written once, for btcd, in btc_codec.go, btc_p2p.go and btc_sweep.go;
// go generate writes their Litecoin twins (ltc_*_gen.go). See doc.go.

// btcName is the coin's name, as the API's method parameter and messages
// spell it.
const btcName = "bitcoin"

// Bitcoin returns the Bitcoin coin for net. Input addresses are derived on
// m/84'/0'/0'/0/i on mainnet and m/84'/1'/0'/0/i on the test networks, as
// BIP84 has it.
func Bitcoin(net Network) (*Coin, error) {
	p, err := btcParams(net)
	if err != nil {
		return nil, err
	}
	return &Coin{
		name:         btcName,
		id:           "btc",
		net:          net,
		coinType:     p.HDCoinType,
		dustRelayFee: 3000, // Bitcoin Core's DUST_RELAY_TX_FEE
		p2pPort:      p.DefaultPort,
		codec:        btcCodec{params: p},
	}, nil
}

func btcParams(net Network) (*chaincfg.Params, error) {
	switch net {
	case Mainnet:
		return &chaincfg.MainNetParams, nil
	case Testnet:
		return &chaincfg.TestNet3Params, nil
	case Regtest:
		return &chaincfg.RegressionNetParams, nil
	}
	return nil, fmt.Errorf("%s: unknown network %q", btcName, net)
}

// parseAddress decodes s for the coin's network: every Bitcoin address is
// one that decodeAddress reads.
func (c btcCodec) parseAddress(s string) (Destination, error) {
	return c.decodeAddress(s)
}

func (c btcCodec) decodeBlock(raw []byte) (blockBody, error) {
	b, err := readRawBlock(raw, rawDialect{})
	if err != nil {
		return nil, err
	}
	return b, nil
}
