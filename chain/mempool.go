package chain

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"time"

	"github.com/ferry-relay/ferry"
)

// Mempool watches a node's mempool at the cost of what changes: the node
// announces each transaction entering its mempool on its peer-to-peer port,
// where Mempool listens as a light peer, and outputs are checked one by one
// over RPC. It never lists the whole mempool. It is safe for concurrent
// use.
type Mempool struct {
	Coin *Coin
	// Node answers the RPC checks (gettxout).
	Node *Node
	// Addr is the host and port of the node's peer-to-peer port.
	Addr string
	// Timeout bounds the connection and its handshake (default 10 s).
	Timeout time.Duration
}

// ErrHandshake reports a peer that did not complete the version handshake.
var ErrHandshake = errors.New("p2p handshake failed")

// p2pKind is a kind of peer message the watcher acts on.
type p2pKind int

const (
	p2pOther p2pKind = iota
	p2pVersion
	p2pVerAck
	p2pInv  // txids announced
	p2pTx   // a transaction
	p2pPing // a ping, with its nonce
)

// p2pMsg is what the watcher needs of one peer message.
type p2pMsg struct {
	kind  p2pKind
	txids []ferry.Hash
	tx    *Tx
	nonce uint64
}

// p2p is a coin's peer protocol, as much of it as the mempool watcher
// speaks, written with the coin's own wire package.
type p2p interface {
	writeVersion(w io.Writer, remote *net.TCPAddr, nonce uint64) error
	writeVerAck(w io.Writer) error
	writeGetData(w io.Writer, txids []ferry.Hash) error
	writePong(w io.Writer, nonce uint64) error
	// read reads one message; a message it does not know is p2pOther.
	read(r io.Reader) (p2pMsg, error)
}

// DefaultP2PAddr returns the node's peer-to-peer address for an RPC URL:
// the RPC host with the network's default port.
func (c *Coin) DefaultP2PAddr(rpcURL string) (string, error) {
	u, err := url.Parse(rpcURL)
	if err != nil || u.Hostname() == "" {
		return "", fmt.Errorf("p2p address: no host in the node's URL")
	}
	return net.JoinHostPort(u.Hostname(), c.p2pPort), nil
}

// WatchMempool connects to the node's peer-to-peer port and calls fn with
// each transaction the node announces, in the order it sends them, until
// ctx ends or the connection fails, whose error it returns. fn is called
// from WatchMempool's goroutine.
func (m *Mempool) WatchMempool(ctx context.Context, fn func(tx *Tx)) error {
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", m.Addr)
	if err != nil {
		return fmt.Errorf("p2p %s: %w", m.Addr, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	p := m.Coin.codec.p2p()
	if err := m.handshake(conn, p, timeout); err != nil {
		return err
	}
	for {
		msg, err := p.read(conn)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("p2p %s: %w", m.Addr, err)
		}
		switch msg.kind {
		case p2pInv:
			err = p.writeGetData(conn, msg.txids)
		case p2pTx:
			fn(msg.tx)
		case p2pPing:
			err = p.writePong(conn, msg.nonce)
		}
		if err != nil {
			return fmt.Errorf("p2p %s: %w", m.Addr, err)
		}
	}
}

// handshake exchanges version and verack messages, within timeout.
func (m *Mempool) handshake(conn net.Conn, p p2p, timeout time.Duration) error {
	conn.SetDeadline(time.Now().Add(timeout))
	defer conn.SetDeadline(time.Time{})
	var nonce [8]byte
	rand.Read(nonce[:])
	remote, _ := conn.RemoteAddr().(*net.TCPAddr)
	if err := p.writeVersion(conn, remote, binary.LittleEndian.Uint64(nonce[:])); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrHandshake, m.Addr, err)
	}
	for gotVersion, gotVerAck := false, false; !gotVersion || !gotVerAck; {
		msg, err := p.read(conn)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrHandshake, m.Addr, err)
		}
		switch msg.kind {
		case p2pVersion:
			gotVersion = true
			if err := p.writeVerAck(conn); err != nil {
				return fmt.Errorf("%w: %s: %v", ErrHandshake, m.Addr, err)
			}
		case p2pVerAck:
			gotVerAck = true
		}
	}
	return nil
}

// TxOut reports an output as the node sees it (gettxout, mempool
// included): confirmed in a block (confirmations >= 1), unconfirmed in its
// mempool (0), or neither (found is false: spent, replaced, evicted).
func (m *Mempool) TxOut(ctx context.Context, op ferry.OutPoint) (int64, bool, error) {
	var out *struct {
		Confirmations json.Number `json:"confirmations"`
	}
	if err := m.Node.Call(ctx, "gettxout", &out, op.Hash.String(), op.Index, true); err != nil {
		return 0, false, err
	}
	if out == nil {
		return 0, false, nil
	}
	confs, err := out.Confirmations.Int64()
	if err != nil {
		return 0, false, fmt.Errorf("gettxout: confirmations %q", out.Confirmations)
	}
	return confs, true, nil
}
