package chain

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ltcsuite/ltcd/btcec/v2"
	"github.com/ltcsuite/ltcd/chaincfg"
	"github.com/ltcsuite/ltcd/chaincfg/chainhash"
	"github.com/ltcsuite/ltcd/ltcutil"
	"github.com/ltcsuite/ltcd/txscript"
	"github.com/ltcsuite/ltcd/wire"
)

// Litecoin returns the Litecoin coin for net. Input addresses are derived on
// m/84'/2'/0'/0/i on every network, so that they never share keys with
// Bitcoin's test networks (coin type 1).
func Litecoin(net Network) (*Coin, error) {
	p, err := ltcParams(net)
	if err != nil {
		return nil, err
	}
	return &Coin{
		name:     "litecoin",
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
	return nil, fmt.Errorf("litecoin: unknown network %q", net)
}

type ltcCodec struct {
	params *chaincfg.Params
}

func (c ltcCodec) parseAddress(s string) (Destination, error) {
	if hrp, _, ok := strings.Cut(strings.ToLower(s), "1"); ok && strings.HasSuffix(hrp, "mweb") {
		return Destination{}, fmt.Errorf("%w: MWEB addresses cannot be paid from a forwarding transaction; give a canonical (ltc1… or L…/M…) address", ErrUnsupportedAddress)
	}
	a, err := ltcutil.DecodeAddress(s, c.params)
	if err != nil {
		var ver ltcutil.UnsupportedWitnessVerError
		if errors.As(err, &ver) {
			return Destination{}, fmt.Errorf("%w: witness version %d", ErrUnsupportedAddress, int(ver))
		}
		return Destination{}, fmt.Errorf("%w: %v", ErrBadAddress, err)
	}
	if !a.IsForNet(c.params) {
		return Destination{}, fmt.Errorf("%w: not a litecoin %s address", ErrWrongNetwork, netName(c.params.Name))
	}
	var typ string
	switch a.(type) {
	case *ltcutil.AddressPubKeyHash:
		typ = "p2pkh"
	case *ltcutil.AddressScriptHash:
		typ = "p2sh"
	case *ltcutil.AddressWitnessPubKeyHash:
		typ = "p2wpkh"
	case *ltcutil.AddressWitnessScriptHash:
		typ = "p2wsh"
	case *ltcutil.AddressTaproot:
		typ = "p2tr"
	default:
		return Destination{}, fmt.Errorf("%w: %T", ErrUnsupportedAddress, a)
	}
	script, err := txscript.PayToAddrScript(a)
	if err != nil {
		return Destination{}, fmt.Errorf("%w: %v", ErrUnsupportedAddress, err)
	}
	return Destination{Address: a.EncodeAddress(), Script: script, Type: typ}, nil
}

func (c ltcCodec) encodeP2WPKH(program []byte) (string, error) {
	a, err := ltcutil.NewAddressWitnessPubKeyHash(program, c.params)
	if err != nil {
		return "", err
	}
	return a.EncodeAddress(), nil
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

func (c ltcCodec) p2p() p2p { return ltcWire{net: c.params.Net} }

func (c ltcCodec) decodeTx(raw []byte) (*Tx, error) {
	var msg wire.MsgTx
	r := bytes.NewReader(raw)
	if err := msg.Deserialize(r); err != nil {
		return nil, err
	}
	return ltcTx(&msg), nil
}

// ltcTx is the coin-neutral view of a decoded transaction.
func ltcTx(msg *wire.MsgTx) *Tx {
	tx := &Tx{ID: ferry.Hash(msg.TxHash())}
	for _, in := range msg.TxIn {
		tx.Inputs = append(tx.Inputs, ferry.OutPoint{Hash: ferry.Hash(in.PreviousOutPoint.Hash), Index: in.PreviousOutPoint.Index})
	}
	for _, out := range msg.TxOut {
		tx.Outputs = append(tx.Outputs, Output{Value: out.Value, Script: out.PkScript})
	}
	return tx
}

func (c ltcCodec) signP2WPKH(in SpendInput, key []byte, outs []Output) (*SignedTx, error) {
	priv, pub := btcec.PrivKeyFromBytes(key)
	program := ltcutil.Hash160(pub.SerializeCompressed())
	prevScript := append([]byte{0x00, 0x14}, program...)

	tx := wire.NewMsgTx(2)
	tx.AddTxIn(&wire.TxIn{
		PreviousOutPoint: wire.OutPoint{Hash: chainhash.Hash(in.OutPoint.Hash), Index: in.OutPoint.Index},
		Sequence:         wire.MaxTxInSequenceNum - 2, // signals replace-by-fee
	})
	for _, o := range outs {
		tx.AddTxOut(wire.NewTxOut(o.Value, o.Script))
	}

	fetcher := txscript.NewCannedPrevOutputFetcher(prevScript, in.Value)
	hashes := txscript.NewTxSigHashes(tx, fetcher)
	wit, err := txscript.WitnessSignature(tx, hashes, 0, in.Value, prevScript, txscript.SigHashAll, priv, true)
	if err != nil {
		return nil, err
	}
	tx.TxIn[0].Witness = wit

	// Check the signature the way a node would before anything is kept.
	vm, err := txscript.NewEngine(prevScript, tx, 0, txscript.StandardVerifyFlags, nil, hashes, in.Value, fetcher)
	if err != nil {
		return nil, err
	}
	if err := vm.Execute(); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}

	var buf bytes.Buffer
	if err := tx.Serialize(&buf); err != nil {
		return nil, err
	}
	weight := int64(tx.SerializeSizeStripped()*3 + tx.SerializeSize())
	return &SignedTx{Raw: buf.Bytes(), TxID: ferry.Hash(tx.TxHash()), VSize: (weight + 3) / 4}, nil
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

// netName maps the libraries' network names to ferry's.
func netName(lib string) string {
	switch lib {
	case "mainnet":
		return "mainnet"
	case "regtest":
		return "regtest"
	}
	return "testnet"
}
