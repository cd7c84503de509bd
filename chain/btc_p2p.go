// Written once for Bitcoin and Litecoin: go generate writes the Litecoin
// twin of this file, ltc_p2p_gen.go (see doc.go).

package chain

import (
	"errors"
	"io"
	"net"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"github.com/ferry-relay/ferry"
)

// btcWire speaks the mempool watcher's part of the peer protocol with
// btcd's wire package.
type btcWire struct{ net wire.BitcoinNet }

// btcP2PVersion is the protocol version the watcher announces.
const btcP2PVersion = wire.ProtocolVersion

func (p btcWire) write(w io.Writer, m wire.Message) error {
	_, err := wire.WriteMessageWithEncodingN(w, m, btcP2PVersion, p.net, wire.WitnessEncoding)
	return err
}

func (p btcWire) writeVersion(w io.Writer, remote *net.TCPAddr, nonce uint64) error {
	you := wire.NewNetAddressIPPort(net.IPv4zero, 0, 0)
	if remote != nil {
		you = wire.NewNetAddressIPPort(remote.IP, uint16(remote.Port), 0)
	}
	me := wire.NewNetAddressIPPort(net.IPv4zero, 0, 0)
	v := wire.NewMsgVersion(me, you, nonce, 0)
	v.Services = 0 // a light peer that serves nothing
	v.UserAgent = "/ferry:1/"
	v.DisableRelayTx = false
	return p.write(w, v)
}

func (p btcWire) writeVerAck(w io.Writer) error { return p.write(w, wire.NewMsgVerAck()) }

func (p btcWire) writePong(w io.Writer, nonce uint64) error {
	return p.write(w, wire.NewMsgPong(nonce))
}

func (p btcWire) writeGetData(w io.Writer, txids []ferry.Hash) error {
	if len(txids) == 0 {
		return nil
	}
	m := wire.NewMsgGetDataSizeHint(uint(len(txids)))
	for _, id := range txids {
		h := chainhash.Hash(id)
		if err := m.AddInvVect(wire.NewInvVect(wire.InvTypeWitnessTx, &h)); err != nil {
			return err
		}
	}
	return p.write(w, m)
}

func (p btcWire) read(r io.Reader) (p2pMsg, error) {
	_, m, _, err := wire.ReadMessageWithEncodingN(r, btcP2PVersion, p.net, wire.WitnessEncoding)
	var me *wire.MessageError
	if errors.As(err, &me) || errors.Is(err, wire.ErrUnknownMessage) {
		return p2pMsg{kind: p2pOther}, nil // a message this peer does not need, skipped
	}
	if err != nil {
		return p2pMsg{}, err
	}
	switch m := m.(type) {
	case *wire.MsgVersion:
		return p2pMsg{kind: p2pVersion}, nil
	case *wire.MsgVerAck:
		return p2pMsg{kind: p2pVerAck}, nil
	case *wire.MsgPing:
		return p2pMsg{kind: p2pPing, nonce: m.Nonce}, nil
	case *wire.MsgInv:
		var ids []ferry.Hash
		for _, iv := range m.InvList {
			if iv.Type&^wire.InvWitnessFlag == wire.InvTypeTx {
				ids = append(ids, ferry.Hash(iv.Hash))
			}
		}
		return p2pMsg{kind: p2pInv, txids: ids}, nil
	case *wire.MsgTx:
		return p2pMsg{kind: p2pTx, tx: btcTx(m)}, nil
	}
	return p2pMsg{kind: p2pOther}, nil
}
