// Written once for Bitcoin and Litecoin: go generate writes the Litecoin
// twin of this file, ltc_codec_gen.go (see doc.go).

package chain

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
	"github.com/ferry-relay/ferry"
)

var _ codec = btcCodec{}

// btcCodec is the coin's codec, over btcd's packages. The coin's own file
// adds parseAddress and decodeBlock to the methods here.
type btcCodec struct {
	params *chaincfg.Params
}

// decodeAddress decodes s for the coin's network and reads its type: the
// address types ParseDestination accepts, and no other.
func (c btcCodec) decodeAddress(s string) (Destination, error) {
	a, err := btcutil.DecodeAddress(s, c.params)
	if err != nil {
		var ver btcutil.UnsupportedWitnessVerError
		if errors.As(err, &ver) {
			return Destination{}, fmt.Errorf("%w: witness version %d", ErrUnsupportedAddress, int(ver))
		}
		return Destination{}, fmt.Errorf("%w: %v", ErrBadAddress, err)
	}
	if !a.IsForNet(c.params) {
		return Destination{}, fmt.Errorf("%w: not a %s %s address", ErrWrongNetwork, btcName, netName(c.params.Name))
	}
	var typ string
	switch a.(type) {
	case *btcutil.AddressPubKeyHash:
		typ = "p2pkh"
	case *btcutil.AddressScriptHash:
		typ = "p2sh"
	case *btcutil.AddressWitnessPubKeyHash:
		typ = "p2wpkh"
	case *btcutil.AddressWitnessScriptHash:
		typ = "p2wsh"
	case *btcutil.AddressTaproot:
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

func (c btcCodec) encodeP2WPKH(program []byte) (string, error) {
	a, err := btcutil.NewAddressWitnessPubKeyHash(program, c.params)
	if err != nil {
		return "", err
	}
	return a.EncodeAddress(), nil
}

func (c btcCodec) p2p() p2p { return btcWire{net: c.params.Net} }

func (c btcCodec) decodeTx(raw []byte) (*Tx, error) {
	var msg wire.MsgTx
	r := bytes.NewReader(raw)
	if err := msg.Deserialize(r); err != nil {
		return nil, err
	}
	return btcTx(&msg), nil
}

// btcTx is the coin-neutral view of a decoded transaction.
func btcTx(msg *wire.MsgTx) *Tx {
	tx := &Tx{ID: ferry.Hash(msg.TxHash())}
	for _, in := range msg.TxIn {
		tx.Inputs = append(tx.Inputs, ferry.OutPoint{Hash: ferry.Hash(in.PreviousOutPoint.Hash), Index: in.PreviousOutPoint.Index})
	}
	for _, out := range msg.TxOut {
		tx.Outputs = append(tx.Outputs, Output{Value: out.Value, Script: out.PkScript})
	}
	return tx
}

func (c btcCodec) signP2WPKH(in SpendInput, key []byte, outs []Output) (*SignedTx, error) {
	priv, pub := btcec.PrivKeyFromBytes(key)
	program := btcutil.Hash160(pub.SerializeCompressed())
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
