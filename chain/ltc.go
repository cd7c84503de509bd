package chain

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ltcsuite/ltcd/chaincfg"
	"github.com/ltcsuite/ltcd/wire"
)

// This file holds what only Litecoin has: MWEB. What Bitcoin and Litecoin
// share is written once, for btcd, in btc_codec.go, btc_p2p.go and
// btc_sweep.go; go generate writes their Litecoin twins (ltc_*_gen.go). See
// doc.go.

// ltcName is the coin's name, as the API's method parameter and messages
// spell it.
const ltcName = "litecoin"

// Litecoin returns the Litecoin coin for net. Input addresses are derived on
// m/84'/2'/0'/0/i on every network, so that they never share keys with
// Bitcoin's test networks (coin type 1).
func Litecoin(net Network) (*Coin, error) {
	p, err := ltcParams(net)
	if err != nil {
		return nil, err
	}
	return &Coin{
		name:     ltcName,
		id:       "ltc",
		net:      net,
		coinType: 2,
		// Litecoin Core's DUST_RELAY_TX_FEE is 30000 lit/kvB, ten times
		// Bitcoin's: a P2WPKH output needs at least 2940 litoshis.
		dustRelayFee:   30000,
		pegoutMaturity: 6,
		p2pPort:        p.DefaultPort,
		codec:          ltcCodec{params: p},
	}, nil
}

func ltcParams(net Network) (*chaincfg.Params, error) {
	switch net {
	case Mainnet:
		return &chaincfg.MainNetParams, nil
	case Testnet:
		return &chaincfg.TestNet4Params, nil
	case Regtest:
		return &chaincfg.RegressionNetParams, nil
	}
	return nil, fmt.Errorf("%s: unknown network %q", ltcName, net)
}

// parseAddress decodes s for the coin's network: an MWEB address is
// refused with a message saying what to give instead, any other is one that
// decodeAddress reads.
func (c ltcCodec) parseAddress(s string) (Destination, error) {
	if hrp, _, ok := strings.Cut(strings.ToLower(s), "1"); ok && strings.HasSuffix(hrp, "mweb") {
		return Destination{}, fmt.Errorf("%w: MWEB addresses cannot be paid from a forwarding transaction; give a canonical (ltc1… or L…/M…) address", ErrUnsupportedAddress)
	}
	return c.decodeAddress(s)
}

func (c ltcCodec) decodeBlock(raw []byte) (blockBody, error) {
	b, err := readRawBlock(raw, rawDialect{litecoin: true})
	switch {
	case errors.Is(err, errMWEBTx):
		return decodeLtcBlock(raw)
	case err != nil:
		return nil, err
	}
	return b, nil
}

// checkMWEBTail checks the MWEB body at the end of a block (tail, from the
// byte that announces it) as ltcd reads it: in a block made of the
// block's header and its HogEx alone.
func checkMWEBTail(header, hogex, tail []byte) error {
	rs := []*bytes.Reader{bytes.NewReader(header), bytes.NewReader([]byte{1}), bytes.NewReader(hogex), bytes.NewReader(tail)}
	var b wire.MsgBlock
	if err := b.Deserialize(io.MultiReader(rs[0], rs[1], rs[2], rs[3])); err != nil {
		return fmt.Errorf("MWEB body: %w", err)
	}
	for _, r := range rs {
		if r.Len() != 0 {
			return fmt.Errorf("MWEB body: %d trailing bytes", r.Len())
		}
	}
	if b.MwebHeader == nil {
		return errors.New("MWEB body: not read")
	}
	return nil
}

// decodeLtcBlock decodes a block with ltcd's wire package: for blocks the
// raw reader leaves to it.
func decodeLtcBlock(raw []byte) (blockBody, error) {
	b := &ltcBlock{}
	r := bytes.NewReader(raw)
	if err := b.msg.Deserialize(r); err != nil {
		return nil, err
	}
	if r.Len() != 0 {
		return nil, fmt.Errorf("%d trailing bytes", r.Len())
	}
	return b, nil
}

// ltcBlock is a Litecoin block decoded by ltcd's wire package.
type ltcBlock struct {
	msg wire.MsgBlock
}

func (b *ltcBlock) hash() ferry.Hash       { return ferry.Hash(b.msg.BlockHash()) }
func (b *ltcBlock) prev() ferry.Hash       { return ferry.Hash(b.msg.Header.PrevBlock) }
func (b *ltcBlock) timestamp() time.Time   { return b.msg.Header.Timestamp }
func (b *ltcBlock) numTx() int             { return len(b.msg.Transactions) }
func (b *ltcBlock) txid(tx int) ferry.Hash { return ferry.Hash(b.msg.Transactions[tx].TxHash()) }
func (b *ltcBlock) hasMWEB() bool          { return b.msg.MwebHeader != nil }

func (b *ltcBlock) kind(tx int) TxKind {
	switch {
	case tx == 0:
		return Coinbase
	case b.msg.Transactions[tx].IsHogEx:
		return HogEx
	}
	return Regular
}

func (b *ltcBlock) inputs(tx int, fn func(ferry.OutPoint)) {
	if tx == 0 {
		return
	}
	for _, in := range b.msg.Transactions[tx].TxIn {
		fn(ferry.OutPoint{Hash: ferry.Hash(in.PreviousOutPoint.Hash), Index: in.PreviousOutPoint.Index})
	}
}

func (b *ltcBlock) outputs(tx int, fn func(uint32, int64, []byte)) {
	for i, out := range b.msg.Transactions[tx].TxOut {
		fn(uint32(i), out.Value, out.PkScript)
	}
}
