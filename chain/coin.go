package chain

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ferry-relay/ferry"
)

// Network names a chain of a coin: "mainnet", "testnet" or "regtest".
type Network string

// The networks ferry runs on.
const (
	Mainnet Network = "mainnet"
	Testnet Network = "testnet"
	Regtest Network = "regtest"
)

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

// ParseNetwork returns the Network named s.
func ParseNetwork(s string) (Network, error) {
	switch n := Network(s); n {
	case Mainnet, Testnet, Regtest:
		return n, nil
	}
	return "", fmt.Errorf("unknown network %q (want mainnet, testnet or regtest)", s)
}

// Errors that ParseDestination wraps; callers branch on them with errors.Is.
var (
	// ErrBadAddress reports text that is not an address at all: bad
	// characters, bad checksum, bad length.
	ErrBadAddress = errors.New("malformed address")
	// ErrWrongNetwork reports a well-formed address of another coin or
	// another network of this coin.
	ErrWrongNetwork = errors.New("address is for another network")
	// ErrUnsupportedAddress reports a well-formed address of this network
	// that ferry does not pay to (MWEB, bare public keys, unknown witness
	// versions).
	ErrUnsupportedAddress = errors.New("unsupported address type")
)

// maxAddressLen bounds the text ParseDestination looks at. MWEB addresses,
// the longest that exist, are about 120 characters.
const maxAddressLen = 200

// Destination is an address ferry can pay to.
type Destination struct {
	// Address is the canonical text of the address (bech32 in lower case).
	Address string
	// Script is the output script that pays to it.
	Script []byte
	// Type is one of "p2pkh", "p2sh", "p2wpkh", "p2wsh", "p2tr".
	Type string
}

// Output is one output of a transaction: a value in satoshis and the script
// it pays to.
type Output struct {
	Value  int64
	Script []byte
}

// Coin is one coin on one network: its address formats, its block format and
// its transaction signing. A Coin is immutable and safe for concurrent use.
type Coin struct {
	name     string // API method name: "litecoin"
	id       string // "ltc"
	net      Network
	coinType uint32 // BIP44 coin type of the input address path
	// dustRelayFee is the node's dust relay fee rate in satoshi per 1000
	// virtual bytes (Bitcoin Core's DUST_RELAY_TX_FEE).
	dustRelayFee int64
	// pegoutMaturity is the number of confirmations a HogEx (MWEB peg-out)
	// output needs before it can be spent; zero where there is no MWEB.
	pegoutMaturity int64
	// p2pPort is the network's default peer-to-peer port.
	p2pPort string
	codec   codec
}

// codec is what differs between coins: the libraries that parse their
// addresses and blocks and sign their transactions.
type codec interface {
	// parseAddress decodes s for this coin's network, or says why not.
	parseAddress(s string) (Destination, error)
	// encodeP2WPKH returns the address paying to a 20-byte witness program.
	encodeP2WPKH(program []byte) (string, error)
	// decodeBlock parses a serialized block.
	decodeBlock(raw []byte) (blockBody, error)
	// signP2WPKH builds and signs a transaction spending in to outs.
	signP2WPKH(in SpendInput, key []byte, outs []Output) (*SignedTx, error)
	// decodeTx parses a serialized transaction.
	decodeTx(raw []byte) (*Tx, error)
	// p2p returns the coin's peer protocol.
	p2p() p2p
}

// CoinName returns the name of the coin whose id is id ("ltc" is
// "litecoin", "btc" is "bitcoin"), or "" for an id ferry does not know.
func CoinName(id string) string {
	switch id {
	case "ltc":
		return "litecoin"
	case "btc":
		return "bitcoin"
	}
	return ""
}

// ErrUnknownCoin is returned by CoinByID for an id ferry does not know.
var ErrUnknownCoin = errors.New("unknown coin")

// CoinByID returns the coin whose id is id ("ltc", "btc") on net.
func CoinByID(id string, net Network) (*Coin, error) {
	switch id {
	case "ltc":
		return Litecoin(net)
	case "btc":
		return Bitcoin(net)
	}
	return nil, fmt.Errorf("%w %.20q", ErrUnknownCoin, id)
}

// CoinbaseMaturity is the number of confirmations a coinbase output needs
// before it can be spent, on Litecoin and Bitcoin alike.
const CoinbaseMaturity = 100

// Name returns the coin's name as the API's method parameter spells it:
// "litecoin" or "bitcoin".
func (c *Coin) Name() string { return c.name }

// ID returns the coin's id, its lower-case ticker "ltc" or "btc", as
// callbacks and store keys spell it.
func (c *Coin) ID() string { return c.id }

// Network returns the network the coin is configured for.
func (c *Coin) Network() Network { return c.net }

// String returns "litecoin/regtest" and the like.
func (c *Coin) String() string { return c.name + "/" + string(c.net) }

// ParseDestination parses a destination address given by a merchant. It
// accepts P2PKH, P2SH, P2WPKH, P2WSH and P2TR addresses of the coin's network
// and refuses anything else with an error wrapping ErrBadAddress,
// ErrWrongNetwork or ErrUnsupportedAddress that says why.
func (c *Coin) ParseDestination(s string) (Destination, error) {
	if s == "" {
		return Destination{}, fmt.Errorf("%w: empty", ErrBadAddress)
	}
	if len(s) > maxAddressLen {
		return Destination{}, fmt.Errorf("%w: %d characters is too long", ErrBadAddress, len(s))
	}
	if strings.TrimSpace(s) != s {
		return Destination{}, fmt.Errorf("%w: surrounding white space", ErrBadAddress)
	}
	d, err := c.codec.parseAddress(s)
	if err == nil {
		return d, nil
	}
	// A bech32 address may be written in upper case (it makes denser QR
	// codes); base58 may not, so only retry in lower case.
	if low := strings.ToLower(s); low != s && strings.ToUpper(s) == s {
		if d, err2 := c.codec.parseAddress(low); err2 == nil {
			return d, nil
		}
	}
	if !errors.Is(err, ErrUnsupportedAddress) {
		if other := identify(s); other != "" {
			return Destination{}, fmt.Errorf("%w: this is a %s address, not %s %s", ErrWrongNetwork, other, c.name, c.net)
		}
	}
	return Destination{}, err
}

// InputAddress returns the P2WPKH address of a 20-byte witness program (the
// hash160 of an input key) and its output script.
func (c *Coin) InputAddress(program [20]byte) (Destination, error) {
	a, err := c.codec.encodeP2WPKH(program[:])
	if err != nil {
		return Destination{}, err
	}
	return Destination{Address: a, Script: P2WPKHScript(program), Type: "p2wpkh"}, nil
}

// P2WPKHScript returns the output script paying to a 20-byte witness program.
func P2WPKHScript(program [20]byte) []byte {
	s := make([]byte, 22)
	s[0], s[1] = 0x00, 0x14
	copy(s[2:], program[:])
	return s
}

// P2WPKHProgram returns the 20-byte witness program of a P2WPKH output
// script, and false for any other script. It does not allocate.
func P2WPKHProgram(script []byte) ([]byte, bool) {
	if len(script) != 22 || script[0] != 0x00 || script[1] != 0x14 {
		return nil, false
	}
	return script[2:], true
}

// DecodeBlock parses a serialized block as the node's getblock with
// verbosity 0 returns it. The block is read in place and checked as the
// coin's wire package would check it (ltcd's, btcd's), not copied: the
// Block keeps raw, which the caller must not change while using it.
// Litecoin blocks since MWEB activation carry a HogEx transaction and an
// MWEB body; both are parsed, and HogEx outputs (peg-outs) are visited like
// any other.
func (c *Coin) DecodeBlock(raw []byte) (*Block, error) {
	body, err := c.codec.decodeBlock(raw)
	if err != nil {
		return nil, fmt.Errorf("decode %s block: %w", c.name, err)
	}
	return &Block{coin: c, body: body}, nil
}

// DecodeTx parses a serialized transaction.
func (c *Coin) DecodeTx(raw []byte) (*Tx, error) {
	tx, err := c.codec.decodeTx(raw)
	if err != nil {
		return nil, fmt.Errorf("decode %s transaction: %w", c.name, err)
	}
	return tx, nil
}

// Maturity returns the confirmations an output needs before the network lets
// it be spent: CoinbaseMaturity for coinbase outputs, the peg-out maturity for
// Litecoin HogEx outputs, and 0 otherwise.
func (c *Coin) Maturity(kind TxKind) int64 {
	switch kind {
	case Coinbase:
		return CoinbaseMaturity
	case HogEx:
		return c.pegoutMaturity
	}
	return 0
}

// DustLimit returns the smallest value an output paying to script may carry
// and still be relayed by the coin's nodes (Bitcoin Core's dust rule with the
// coin's dust relay fee).
func (c *Coin) DustLimit(script []byte) int64 {
	size := int64(8 + varIntLen(uint64(len(script))) + len(script))
	if isWitnessProgram(script) {
		size += 32 + 4 + 1 + 107/4 + 4
	} else {
		size += 32 + 4 + 1 + 107 + 4
	}
	fee := size * c.dustRelayFee / 1000
	if fee == 0 && c.dustRelayFee > 0 {
		fee = 1
	}
	return fee
}

// ForwardVSize returns the virtual size, in vbytes, of a transaction spending
// one P2WPKH input to outputs paying to scripts. It assumes the largest
// signature, so the size is never below that of the signed transaction.
func ForwardVSize(scripts [][]byte) int64 {
	base := 4 + 1 + (32 + 4 + 1 + 4) + varIntLen(uint64(len(scripts))) + 4
	for _, s := range scripts {
		base += 8 + varIntLen(uint64(len(s))) + len(s)
	}
	// marker, flag, item count, signature (73 at most), public key (33).
	const witness = 1 + 1 + 1 + 1 + 73 + 1 + 33
	weight := int64(base)*4 + witness
	return (weight + 3) / 4
}

// SpendInput is the deposit a forward spends.
type SpendInput struct {
	OutPoint ferry.OutPoint
	Value    int64
	// KeyIndex is the input address's index on the coin's derivation path.
	KeyIndex uint32
}

// SignedTx is a signed transaction, ready to broadcast.
type SignedTx struct {
	Raw   []byte
	TxID  ferry.Hash
	VSize int64
}

// Sign builds and signs a transaction spending in, a P2WPKH output of the
// keychain's address at in.KeyIndex, to outs, with inputs and outputs in the
// given order, version 2 and lock time 0. The private key is derived, used and
// dropped inside the call.
func (c *Coin) Sign(k *Keychain, in SpendInput, outs []Output) (*SignedTx, error) {
	if k.coinType != c.coinType {
		return nil, fmt.Errorf("sign: keychain is for coin type %d, not %s", k.coinType, c)
	}
	key, err := k.privateKey(in.KeyIndex)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	defer clear(key)
	tx, err := c.codec.signP2WPKH(in, key, outs)
	if err != nil {
		return nil, fmt.Errorf("sign %s: %w", in.OutPoint, err)
	}
	return tx, nil
}

// CoinType returns the BIP44 coin type of the coin's input address path.
func (c *Coin) CoinType() uint32 { return c.coinType }

// isWitnessProgram reports whether script is a segwit output script: a
// version opcode followed by one push of 2 to 40 bytes.
func isWitnessProgram(script []byte) bool {
	if len(script) < 4 || len(script) > 42 {
		return false
	}
	if script[0] != 0x00 && (script[0] < 0x51 || script[0] > 0x60) {
		return false
	}
	return int(script[1])+2 == len(script)
}

// varIntLen is the length of Bitcoin's CompactSize encoding of n.
func varIntLen(n uint64) int {
	switch {
	case n < 0xfd:
		return 1
	case n <= 0xffff:
		return 3
	case n <= 0xffffffff:
		return 5
	}
	return 9
}
