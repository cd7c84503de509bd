package regtest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
)

// MWEBHeight is the height at which MWEB activates on Litecoin's regtest
// chain. Mining it requires an MWEB peg-in in the mempool.
const MWEBHeight = 432

// Litecoind is a litecoind -regtest node with three wallets: "w", the paying
// customer, which also receives the coinbases; "mw", which holds only MWEB
// coins and so pegs out whenever it pays a canonical address; and "m", the
// merchant's, whose addresses are the destinations.
type Litecoind struct {
	// Dir is the node's data directory.
	Dir string
	// RPCURL is the node's RPC URL with its credentials.
	RPCURL string
	// P2PAddr is the node's peer-to-peer address on 127.0.0.1, where it
	// relays transactions to 127.0.0.1 without delay (noban).
	P2PAddr string
	rpc
	// MWEB and Merchant are clients for two more wallets (Wallet is the
	// paying customer's).
	MWEB, Merchant *chain.Node

	port, p2pPort int
	pass          string
	proc          *process
}

// StartLitecoind starts litecoind -regtest in dir, creates its wallets and
// mines past MWEB activation (one block above MWEBHeight, with a peg-in of
// 50 LTC to the MWEB wallet). It returns ErrNotInstalled if litecoind is not
// on PATH. Stop it with Stop.
func StartLitecoind(ctx context.Context, dir string) (*Litecoind, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	p2pPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	l := &Litecoind{Dir: dir, port: port, p2pPort: p2pPort, pass: randomPassword(), P2PAddr: "127.0.0.1:" + strconv.Itoa(p2pPort)}
	if err := l.start(ctx, false); err != nil {
		return nil, err
	}
	if err := l.setUp(ctx); err != nil {
		l.Stop()
		return nil, err
	}
	return l, nil
}

func (l *Litecoind) start(ctx context.Context, loadWallets bool) error {
	args := []string{
		"-regtest", "-datadir=" + l.Dir, "-server", "-connect=0",
		"-listen=1", "-bind=127.0.0.1:" + strconv.Itoa(l.p2pPort), "-whitelist=noban,mempool@127.0.0.1",
		"-dnsseed=0", "-discover=0", "-upnp=0", "-printtoconsole",
		"-rpcbind=127.0.0.1", "-rpcallowip=127.0.0.1", "-rpcport=" + strconv.Itoa(l.port),
		"-rpcuser=ferry", "-rpcpassword=" + l.pass, "-rpcthreads=8", "-rpcworkqueue=64",
		"-fallbackfee=0.0001", "-txindex=1", "-keypool=10", "-walletrbf=1", "-mempoolreplacement=1",
	}
	if loadWallets {
		args = append(args, "-wallet=w", "-wallet=mw", "-wallet=m")
	}
	proc, err := startProcess("litecoind", args, logFile(l.Dir, "litecoind"))
	if err != nil {
		return err
	}
	l.proc = proc
	l.RPCURL = fmt.Sprintf("http://ferry:%s@127.0.0.1:%d", l.pass, l.port)
	if l.Node, err = chain.NewNode(l.RPCURL); err != nil {
		return err
	}
	l.Wallet, _ = chain.NewNode(l.RPCURL + "/wallet/w")
	l.MWEB, _ = chain.NewNode(l.RPCURL + "/wallet/mw")
	l.Merchant, _ = chain.NewNode(l.RPCURL + "/wallet/m")
	if err := waitRPC(ctx, proc, l.Node, 60*time.Second, logFile(l.Dir, "litecoind")); err != nil {
		l.proc.stop(10 * time.Second)
		return err
	}
	return nil
}

func (l *Litecoind) setUp(ctx context.Context) error {
	for _, w := range []string{"w", "mw", "m"} {
		if err := l.Node.Call(ctx, "createwallet", nil, w); err != nil {
			return fmt.Errorf("create wallet %s: %w", w, err)
		}
	}
	if _, err := l.Mine(ctx, MWEBHeight-1); err != nil {
		return err
	}
	if err := l.PegIn(ctx, 50*ferry.SatoshiPerCoin); err != nil {
		return err
	}
	_, err := l.Mine(ctx, 2)
	return err
}

// Pid returns the node's process id.
func (l *Litecoind) Pid() int { return l.proc.Pid() }

// Stop stops the node by its pid (SIGTERM, then SIGKILL after 30 s).
func (l *Litecoind) Stop() error {
	if l.proc == nil {
		return nil
	}
	// litecoind waits for open HTTP connections at shutdown: drop ours.
	for _, n := range []*chain.Node{l.Node, l.Wallet, l.MWEB, l.Merchant} {
		n.Close()
	}
	return l.proc.stop(30 * time.Second)
}

// Restart stops the node and starts it again on the same directory and port,
// for tests of node outages.
func (l *Litecoind) Restart(ctx context.Context) error {
	if err := l.Stop(); err != nil {
		return err
	}
	return l.start(ctx, true)
}

// Mine mines n blocks whose coinbases pay a new address of the paying
// wallet, and returns their hashes. A new address each time keeps a block
// mined after invalidateblock from being the very block invalidated.
func (l *Litecoind) Mine(ctx context.Context, n int) ([]ferry.Hash, error) {
	var miner string
	if err := l.Wallet.Call(ctx, "getnewaddress", &miner, "", "bech32"); err != nil {
		return nil, fmt.Errorf("mine: %w", err)
	}
	var ids []string
	if err := l.Node.Call(ctx, "generatetoaddress", &ids, n, miner); err != nil {
		return nil, fmt.Errorf("mine %d: %w", n, err)
	}
	return parseHashes(ids)
}

// NewAddress returns a new bech32 address of the merchant's wallet.
func (l *Litecoind) NewAddress(ctx context.Context) (string, error) {
	var a string
	err := l.Merchant.Call(ctx, "getnewaddress", &a, "", "bech32")
	return a, err
}

// Pay sends sat satoshis from the paying wallet to addr and returns the txid.
func (l *Litecoind) Pay(ctx context.Context, addr string, sat int64) (ferry.Hash, error) {
	return send(ctx, l.Wallet, addr, sat)
}

// PayMany pays each address its amount in satoshis, in one transaction
// from the paying wallet.
func (l *Litecoind) PayMany(ctx context.Context, pay map[string]int64) (ferry.Hash, error) {
	return sendMany(ctx, l.Wallet, "", pay)
}

// Hold keeps txid, in the mempool, out of the blocks mined until Release
// (prioritisetransaction with a fee delta of -1 LTC).
func (l *Litecoind) Hold(ctx context.Context, txid ferry.Hash) error {
	return l.Node.Call(ctx, "prioritisetransaction", nil, txid.String(), 0, -ferry.SatoshiPerCoin)
}

// Release undoes Hold.
func (l *Litecoind) Release(ctx context.Context, txid ferry.Hash) error {
	return l.Node.Call(ctx, "prioritisetransaction", nil, txid.String(), 0, ferry.SatoshiPerCoin)
}

// PegIn moves sat satoshis of the paying wallet into the MWEB wallet.
func (l *Litecoind) PegIn(ctx context.Context, sat int64) error {
	var mw string
	if err := l.MWEB.Call(ctx, "getnewaddress", &mw, "", "mweb"); err != nil {
		return fmt.Errorf("mweb address: %w", err)
	}
	_, err := send(ctx, l.Wallet, mw, sat)
	return err
}

// PegOut pays sat satoshis from the MWEB wallet to the canonical address
// addr: the payment arrives as an output of the block's HogEx transaction.
func (l *Litecoind) PegOut(ctx context.Context, addr string, sat int64) error {
	_, err := send(ctx, l.MWEB, addr, sat)
	return err
}

// Received returns the satoshis addr, an address of the merchant's wallet,
// has received in blocks, as the node counts them.
func (l *Litecoind) Received(ctx context.Context, addr string) (int64, error) {
	var n json.Number
	if err := l.Merchant.Call(ctx, "getreceivedbyaddress", &n, addr, 1); err != nil {
		return 0, err
	}
	return amountOf(n)
}

// Replace double-spends txid, a paying-wallet transaction in the mempool:
// a new transaction spends the same inputs to pay sat to addr, with the rest
// less a 0.001 LTC fee back to the wallet. The node's replace-by-fee rules
// evict txid and its descendants.
func (l *Litecoind) Replace(ctx context.Context, txid ferry.Hash, addr string, sat int64) (ferry.Hash, error) {
	old, err := l.Tx(ctx, txid)
	if err != nil {
		return ferry.Hash{}, err
	}
	var ins []map[string]any
	var total int64
	for _, in := range old.Vin {
		prevID, err := ferry.ParseHash(in.TxID)
		if err != nil {
			return ferry.Hash{}, err
		}
		prev, err := l.Tx(ctx, prevID)
		if err != nil {
			return ferry.Hash{}, err
		}
		v, err := ferry.ParseAmount(prev.Vout[in.Vout].Value.String())
		if err != nil {
			return ferry.Hash{}, err
		}
		total += int64(v)
		ins = append(ins, map[string]any{"txid": in.TxID, "vout": in.Vout})
	}
	var change string
	if err := l.Wallet.Call(ctx, "getnewaddress", &change, "", "bech32"); err != nil {
		return ferry.Hash{}, err
	}
	const fee = 100_000
	outs := []map[string]string{{addr: ferry.Amount(sat).String()}, {change: ferry.Amount(total - sat - fee).String()}}
	var raw string
	if err := l.Node.Call(ctx, "createrawtransaction", &raw, ins, outs); err != nil {
		return ferry.Hash{}, fmt.Errorf("replace: %w", err)
	}
	var signed struct {
		Hex      string `json:"hex"`
		Complete bool   `json:"complete"`
	}
	if err := l.Wallet.Call(ctx, "signrawtransactionwithwallet", &signed, raw); err != nil || !signed.Complete {
		return ferry.Hash{}, fmt.Errorf("replace: sign: %v", err)
	}
	var id string
	if err := l.Node.Call(ctx, "sendrawtransaction", &id, signed.Hex); err != nil {
		return ferry.Hash{}, fmt.Errorf("replace: %w", err)
	}
	return ferry.ParseHash(id)
}

// SetMockTime sets the node's clock (setmocktime): blocks mined after it
// carry timestamps from t on.
func (l *Litecoind) SetMockTime(ctx context.Context, t time.Time) error {
	return l.Node.Call(ctx, "setmocktime", nil, t.Unix())
}
