package regtest

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
)

// Btcd is a btcd --regtest node with a btcwallet, the paying customer.
// The wallet's bech32 addresses are the merchants'.
//
// Coinbases go to a key of the harness's own; the harness then pays the
// wallet's legacy address from them, since btcwallet's RPC spends only
// P2PKH coins, and a btcwallet that learns its address only after btcd has
// started cannot be given it as the mining address (btcd --regtest starts a
// new chain at every restart, and btcwallet does not follow it reliably).
type Btcd struct {
	// Dir holds the node's and the wallet's data.
	Dir string
	// RPCURL is btcd's RPC URL (plain HTTP) with its credentials.
	RPCURL string
	// P2PAddr is btcd's peer-to-peer address on 127.0.0.1, where it
	// relays transactions to 127.0.0.1 without delay.
	P2PAddr string
	rpc

	pass                          string
	nodePort, walletPort, p2pPort int
	miner                         *chain.Keychain
	node, wallet                  *process
}

// minerSeed is the harness's own key for coinbases; regtest coins only.
const minerSeed = "6d696e6572206f66206665727279277320726567746573742068617276657374"

// walletPass is the regtest wallet's private passphrase.
const walletPass = "ferry-regtest"

// SegwitHeight is the height at which btcd's regtest chain activates
// segwit.
const SegwitHeight = 432

// StartBtcd starts btcd --regtest and btcwallet in dir, mines past segwit
// activation and pays the wallet 20 coins of 49.99 BTC. It returns ErrNotInstalled if
// btcd, btcwallet or script is not on PATH. Stop it with Stop.
func StartBtcd(ctx context.Context, dir string) (*Btcd, error) {
	for _, bin := range []string{"btcd", "btcwallet", "script"} {
		if _, err := exec.LookPath(bin); err != nil {
			return nil, fmt.Errorf("%w: %s", ErrNotInstalled, bin)
		}
	}
	b := &Btcd{Dir: dir, pass: randomPassword()}
	var err error
	if b.nodePort, err = FreePort(); err != nil {
		return nil, err
	}
	if b.walletPort, err = FreePort(); err != nil {
		return nil, err
	}
	if b.p2pPort, err = FreePort(); err != nil {
		return nil, err
	}
	b.P2PAddr = "127.0.0.1:" + strconv.Itoa(b.p2pPort)
	b.RPCURL = fmt.Sprintf("http://ferry:%s@127.0.0.1:%d", b.pass, b.nodePort)
	b.Node, _ = chain.NewNode(b.RPCURL)
	b.Wallet, _ = chain.NewNode(fmt.Sprintf("http://ferry:%s@127.0.0.1:%d", b.pass, b.walletPort))

	if err := b.createWallet(ctx); err != nil {
		return nil, err
	}
	coin, _ := chain.Bitcoin(chain.Regtest)
	seed, _ := hex.DecodeString(minerSeed)
	b.miner, _ = chain.NewKeychain(seed, coin.CoinType())
	prog, _ := b.miner.Program(0)
	mining, _ := coin.InputAddress(prog)
	if err := b.startNode(ctx, mining.Address); err != nil {
		return nil, err
	}
	if err := b.startWallet(ctx); err != nil {
		b.Stop()
		return nil, err
	}
	if err := b.setUp(ctx); err != nil {
		b.Stop()
		return nil, err
	}
	return b, nil
}

// createWallet runs btcwallet --create, which insists on a terminal, under
// script(1), answering its questions.
func (b *Btcd) createWallet(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "script", "-qec",
		"btcwallet --regtest --create --appdata="+filepath.Join(b.Dir, "wallet"), os.DevNull)
	// Passphrase twice, no public encryption, no existing seed, "OK".
	cmd.Stdin = strings.NewReader(walletPass + "\n" + walletPass + "\nn\nn\nOK\n")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "created successfully") {
		return fmt.Errorf("btcwallet --create: %v: %s", err, out)
	}
	return nil
}

func (b *Btcd) startNode(ctx context.Context, miningAddr string) error {
	args := []string{
		"--regtest", "--datadir=" + filepath.Join(b.Dir, "btcd"), "--logdir=" + filepath.Join(b.Dir, "btcd"),
		"--rpcuser=ferry", "--rpcpass=" + b.pass, "--rpclisten=127.0.0.1:" + strconv.Itoa(b.nodePort),
		"--notls", "--listen=" + b.P2PAddr, "--whitelist=127.0.0.1", "--trickleinterval=50ms",
		"--nodnsseed", "--txindex", "--miningaddr=" + miningAddr,
	}
	p, err := startProcess("btcd", args, logFile(b.Dir, "btcd"))
	if err != nil {
		return err
	}
	b.node = p
	return waitRPC(ctx, p, b.Node, time.Minute, logFile(b.Dir, "btcd"))
}

func (b *Btcd) startWallet(ctx context.Context) error {
	args := []string{
		"--regtest", "--appdata=" + filepath.Join(b.Dir, "wallet"),
		"--rpcconnect=127.0.0.1:" + strconv.Itoa(b.nodePort), "--noclienttls", "--noservertls",
		"--username=ferry", "--password=" + b.pass, "--rpclisten=127.0.0.1:" + strconv.Itoa(b.walletPort),
	}
	p, err := startProcess("btcwallet", args, logFile(b.Dir, "btcwallet"))
	if err != nil {
		return err
	}
	b.wallet = p
	// The wallet answers once it is connected to btcd.
	deadline := time.Now().Add(time.Minute)
	for {
		err := b.Wallet.Call(ctx, "getinfo", nil)
		if err == nil {
			return nil
		}
		if p.exited() || time.Now().After(deadline) {
			return fmt.Errorf("btcwallet: %v (see %s)", err, logFile(b.Dir, "btcwallet"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *Btcd) setUp(ctx context.Context) error {
	var legacy string
	if err := b.Wallet.Call(ctx, "getnewaddress", &legacy); err != nil {
		return fmt.Errorf("wallet address: %w", err)
	}
	if err := b.Wallet.Call(ctx, "walletpassphrase", nil, walletPass, 1<<30); err != nil {
		return fmt.Errorf("unlock wallet: %w", err)
	}
	// btcd's regtest activates segwit by BIP9 voting, at height 432:
	// before it, neither the harness's coinbases nor ferry's input
	// addresses can be spent.
	hashes, err := b.Mine(ctx, SegwitHeight)
	if err != nil {
		return err
	}

	// Pay the wallet 49.99 BTC from each of the first 20 coinbases, now
	// mature, and confirm.
	coin, _ := chain.Bitcoin(chain.Regtest)
	to, err := coin.ParseDestination(legacy)
	if err != nil {
		return err
	}
	const each = 4999 * ferry.SatoshiPerCoin / 100
	for _, h := range hashes[:20] {
		var blk struct {
			Tx []string `json:"tx"`
		}
		if err := b.Node.Call(ctx, "getblock", &blk, h.String(), 1); err != nil {
			return err
		}
		cb, err := ferry.ParseHash(blk.Tx[0])
		if err != nil {
			return err
		}
		in := chain.SpendInput{OutPoint: ferry.OutPoint{Hash: cb}, Value: 50 * ferry.SatoshiPerCoin, KeyIndex: 0}
		tx, err := coin.Sign(b.miner, in, []chain.Output{{Value: each, Script: to.Script}})
		if err != nil {
			return err
		}
		if _, err := b.Node.SendRawTransaction(ctx, tx.Raw); err != nil {
			return fmt.Errorf("fund wallet: %w", err)
		}
	}
	if _, err := b.Mine(ctx, 1); err != nil {
		return err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		var bal json.Number
		if err := b.Wallet.Call(ctx, "getbalance", &bal); err == nil {
			if sat, _ := amountOf(bal); sat >= 20*each {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("btcwallet did not credit its funding")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitWallet waits until the wallet has processed the node's best block, at
// least height: its getbestblock, the block it is synced to, moves only
// after a block's transactions are in.
func (b *Btcd) waitWallet(ctx context.Context, height int64) error {
	deadline := time.Now().Add(time.Minute)
	for {
		tip, err := b.Node.BlockCount(ctx)
		if err == nil {
			tip = max(tip, height)
			var best struct {
				Height int64 `json:"height"`
			}
			if err = b.Wallet.Call(ctx, "getbestblock", &best); err == nil && best.Height >= tip {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("btcwallet did not catch up with btcd: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop stops btcwallet and btcd by their pids.
func (b *Btcd) Stop() error {
	b.Node.Close()
	b.Wallet.Close()
	var err error
	if b.wallet != nil {
		err = b.wallet.stop(30 * time.Second)
	}
	if b.node != nil {
		if e := b.node.stop(30 * time.Second); err == nil {
			err = e
		}
	}
	return err
}

// Mine mines n blocks (btcd's generate) to the wallet's mining address and
// returns their hashes once the wallet has seen them.
func (b *Btcd) Mine(ctx context.Context, n int) ([]ferry.Hash, error) {
	var ids []string
	if err := b.Node.Call(ctx, "generate", &ids, n); err != nil {
		return nil, fmt.Errorf("mine %d: %w", n, err)
	}
	hs, err := parseHashes(ids)
	if err != nil {
		return nil, err
	}
	return hs, b.waitWallet(ctx, 0)
}

// NewAddress returns a new bech32 (P2WPKH) address of the wallet, for a
// merchant.
func (b *Btcd) NewAddress(ctx context.Context) (string, error) {
	var a string
	err := b.Wallet.Call(ctx, "getnewaddress", &a, "default", "bech32")
	return a, err
}

// PayMany pays each address its amount in satoshis, in one transaction
// from the wallet.
func (b *Btcd) PayMany(ctx context.Context, pay map[string]int64) (ferry.Hash, error) {
	return sendMany(ctx, b.Wallet, "default", pay)
}

// Pay sends sat satoshis from the wallet's confirmed coins to addr.
func (b *Btcd) Pay(ctx context.Context, addr string, sat int64) (ferry.Hash, error) {
	return send(ctx, b.Wallet, addr, sat)
}

// Received returns the satoshis addr, a wallet address, has received in
// blocks, as the wallet counts them.
func (b *Btcd) Received(ctx context.Context, addr string) (int64, error) {
	if err := b.waitWallet(ctx, 0); err != nil {
		return 0, err
	}
	var n json.Number
	if err := b.Wallet.Call(ctx, "getreceivedbyaddress", &n, addr, 1); err != nil {
		return 0, err
	}
	return amountOf(n)
}
