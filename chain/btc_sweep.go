// Written once for Bitcoin and Litecoin: go generate writes the Litecoin
// twin of this file, ltc_sweep_gen.go (see doc.go).

package chain

import (
	"bytes"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
	"github.com/ferry-relay/ferry"
)

var (
	_ sweepSigner  = btcCodec{}
	_ scriptReader = btcCodec{}
)

func (c btcCodec) addressOf(script []byte) (string, error) {
	_, addrs, _, err := txscript.ExtractPkScriptAddrs(script, c.params)
	if err != nil {
		return "", err
	}
	if len(addrs) != 1 {
		return "", fmt.Errorf("script pays %d addresses", len(addrs))
	}
	return addrs[0].EncodeAddress(), nil
}

func (c btcCodec) signP2WPKHMany(ins []SpendInput, keys [][]byte, outs []Output) (*SignedTx, error) {
	tx := wire.NewMsgTx(2)
	prev := make(map[wire.OutPoint]*wire.TxOut, len(ins))
	scripts := make([][]byte, len(ins))
	for i, in := range ins {
		_, pub := btcec.PrivKeyFromBytes(keys[i])
		scripts[i] = append([]byte{0x00, 0x14}, btcutil.Hash160(pub.SerializeCompressed())...)
		op := wire.OutPoint{Hash: chainhash.Hash(in.OutPoint.Hash), Index: in.OutPoint.Index}
		prev[op] = wire.NewTxOut(in.Value, scripts[i])
		tx.AddTxIn(&wire.TxIn{PreviousOutPoint: op, Sequence: wire.MaxTxInSequenceNum - 2})
	}
	for _, o := range outs {
		tx.AddTxOut(wire.NewTxOut(o.Value, o.Script))
	}

	fetcher := txscript.NewMultiPrevOutFetcher(prev)
	hashes := txscript.NewTxSigHashes(tx, fetcher)
	for i, in := range ins {
		priv, _ := btcec.PrivKeyFromBytes(keys[i])
		wit, err := txscript.WitnessSignature(tx, hashes, i, in.Value, scripts[i], txscript.SigHashAll, priv, true)
		if err != nil {
			return nil, err
		}
		tx.TxIn[i].Witness = wit
	}
	// Check every signature the way a node would before anything is kept.
	for i, in := range ins {
		vm, err := txscript.NewEngine(scripts[i], tx, i, txscript.StandardVerifyFlags, nil, hashes, in.Value, fetcher)
		if err != nil {
			return nil, err
		}
		if err := vm.Execute(); err != nil {
			return nil, fmt.Errorf("verify input %d: %w", i, err)
		}
	}

	var buf bytes.Buffer
	if err := tx.Serialize(&buf); err != nil {
		return nil, err
	}
	weight := int64(tx.SerializeSizeStripped()*3 + tx.SerializeSize())
	return &SignedTx{Raw: buf.Bytes(), TxID: ferry.Hash(tx.TxHash()), VSize: (weight + 3) / 4}, nil
}
