package chain

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ferry-relay/ferry"
)

// Errors a Node returns; callers branch on them with errors.Is.
var (
	// ErrNodeUnreachable reports a node that could not be reached or
	// answered with something other than JSON-RPC.
	ErrNodeUnreachable = errors.New("node unreachable")
	// ErrUnauthorized reports credentials the node refused.
	ErrUnauthorized = errors.New("node refused the RPC credentials")
	// ErrMethodNotFound reports an RPC the node does not implement (btcd
	// lacks several of Bitcoin Core's).
	ErrMethodNotFound = errors.New("rpc method not found")
	// ErrNoEstimate reports that the node has no fee estimate to give.
	ErrNoEstimate = errors.New("no fee estimate")
)

// RPCError is an error answered by the node itself, with its JSON-RPC code
// and message. The message is what operators need to see when a forward is
// rejected.
type RPCError struct {
	Method  string
	Code    int
	Message string
}

// Error returns "method: message (code n)".
func (e *RPCError) Error() string {
	return fmt.Sprintf("%s: %s (code %d)", e.Method, e.Message, e.Code)
}

// Is makes errors.Is(err, ErrMethodNotFound) true for JSON-RPC's "method not
// found" code, and for btcd's "Command unimplemented" (code -1), its answer
// to calls it knows but does not serve, such as getnetworkinfo.
func (e *RPCError) Is(target error) bool {
	return target == ErrMethodNotFound && (e.Code == -32601 || e.Code == -1 && e.Message == "Command unimplemented")
}

// AlreadyKnown reports a rejection of sendrawtransaction that means the
// node has the transaction already, in its mempool or its chain: as good
// as an acceptance to whoever broadcast it.
func (e *RPCError) AlreadyKnown() bool {
	const rpcVerifyAlreadyInChain = -27
	m := strings.ToLower(e.Message)
	return e.Code == rpcVerifyAlreadyInChain || strings.Contains(m, "already in block chain") ||
		strings.Contains(m, "txn-already-in-mempool") || strings.Contains(m, "txn-already-known") ||
		strings.Contains(m, "already have transaction")
}

// Node is a JSON-RPC client for one litecoind, bitcoind or btcd. It is safe
// for concurrent use.
type Node struct {
	url      string // without credentials
	user     string
	pass     string
	redacted string
	client   *http.Client
	id       atomic.Uint64
}

// callTimeout bounds one RPC; long polls add their own wait to it.
const callTimeout = 30 * time.Second

// maxResponse bounds a response body. The largest answer ferry asks for is
// a hex block: 4 MB of block weight gives at most 8 MB of hex; MWEB data can
// add up to 1 MB more (2 MB of hex).
const maxResponse = 32 << 20

// NodeOption configures a Node.
type NodeOption func(*http.Transport) error

// WithRootCAs makes the client trust the PEM certificates in pem for an
// https node URL: btcd serves RPC over TLS with a self-signed rpc.cert.
func WithRootCAs(pem []byte) NodeOption {
	return func(t *http.Transport) error {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return errors.New("no PEM certificate found")
		}
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		return nil
	}
}

// NewNode returns a client for the node at rawURL,
// "http://user:pass@host:port" (or https). It does not contact the node.
func NewNode(rawURL string, opts ...NodeOption) (*Node, error) {
	u, err := url.Parse(rawURL)
	if ue := (*url.Error)(nil); errors.As(err, &ue) {
		err = ue.Err // without the URL it quotes, password and all
	}
	if err != nil {
		return nil, fmt.Errorf("node url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("node url: scheme must be http or https, not %q", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("node url: no host")
	}
	t := &http.Transport{
		Proxy:               nil, // a node is never reached through a proxy
		MaxIdleConnsPerHost: 8,
		// Nodes wait for open connections when they shut down, so idle
		// ones are not kept long.
		IdleConnTimeout: 10 * time.Second,
	}
	for _, o := range opts {
		if err := o(t); err != nil {
			return nil, fmt.Errorf("node: %w", err)
		}
	}
	n := &Node{client: &http.Client{Transport: t}}
	if u.User != nil {
		n.user = u.User.Username()
		n.pass, _ = u.User.Password()
	}
	u.User = nil
	n.url = u.String()
	n.redacted = u.String()
	return n, nil
}

// String returns the node's URL without its credentials, fit for logs.
func (n *Node) String() string { return n.redacted }

// Close releases idle connections.
func (n *Node) Close() error {
	n.client.CloseIdleConnections()
	return nil
}

// call makes one JSON-RPC 1.0 call and decodes its result into out (unless
// out is nil).
func (n *Node) call(ctx context.Context, timeout time.Duration, method string, out any, params ...any) error {
	data, status, err := n.post(ctx, timeout, method, params)
	if err != nil {
		return err
	}
	return decodeResult(method, data, status, out)
}

// post makes one JSON-RPC 1.0 call and returns the body of the answer and
// its HTTP status.
func (n *Node) post(ctx context.Context, timeout time.Duration, method string, params []any) ([]byte, int, error) {
	if params == nil {
		params = []any{}
	}
	body, err := json.Marshal(map[string]any{
		"jsonrpc": "1.0",
		"id":      n.id.Add(1),
		"method":  method,
		"params":  params,
	})
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", method, err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, bytes.NewReader(body))
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", method, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if n.user != "" || n.pass != "" {
		req.SetBasicAuth(n.user, n.pass)
	}
	resp, err := n.client.Do(req)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return nil, 0, fmt.Errorf("%s: %w", method, err)
		}
		return nil, 0, fmt.Errorf("%s: %w: %v", method, ErrNodeUnreachable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return nil, 0, fmt.Errorf("%s: %w", method, ErrUnauthorized)
	}
	// Read the body into one buffer of the size announced, when it is:
	// a block's answer is megabytes of hex.
	var buf bytes.Buffer
	if resp.ContentLength > 0 && resp.ContentLength <= maxResponse {
		buf.Grow(int(resp.ContentLength) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxResponse+1)); err != nil {
		return nil, 0, fmt.Errorf("%s: %w: %v", method, ErrNodeUnreachable, err)
	}
	if buf.Len() > maxResponse {
		return nil, 0, fmt.Errorf("%s: %w: response over %d bytes", method, ErrNodeUnreachable, maxResponse)
	}
	return buf.Bytes(), resp.StatusCode, nil
}

// decodeResult decodes the JSON-RPC answer data into out (unless out is
// nil), or returns the error it carries.
func decodeResult(method string, data []byte, status int, out any) error {
	var r struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("%s: %w: HTTP %d: %q", method, ErrNodeUnreachable, status, truncate(data, 200))
	}
	if r.Error != nil {
		return &RPCError{Method: method, Code: r.Error.Code, Message: r.Error.Message}
	}
	if out == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(r.Result))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("%s: decode result: %w", method, err)
	}
	return nil
}

// hexResult returns the bytes of an answer whose result is a string of
// hex, without running the JSON decoder over the megabytes of it: the
// answer must start {"result":" and the string hold hex digits alone (no
// escapes), and what follows must be the rest of the object, with a null
// error. Any other answer gives false, for the general decoder.
func hexResult(data []byte) ([]byte, bool) {
	const head = `{"result":"`
	if !bytes.HasPrefix(data, []byte(head)) {
		return nil, false
	}
	end := bytes.IndexByte(data[len(head):], '"')
	if end < 0 || end%2 != 0 {
		return nil, false
	}
	text := data[len(head) : len(head)+end]
	// The rest, with the result taken out, is a small object: without a
	// second result, and with a null error.
	var rest struct {
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	tail := append([]byte(`{"result":null`), data[len(head)+end+1:]...)
	if err := json.Unmarshal(tail, &rest); err != nil || string(rest.Result) != "null" || rest.Error != nil && string(rest.Error) != "null" {
		return nil, false
	}
	raw := make([]byte, end/2)
	if _, err := hex.Decode(raw, text); err != nil {
		return nil, false
	}
	return raw, true
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}

// BlockCount returns the height of the node's best chain.
func (n *Node) BlockCount(ctx context.Context) (int64, error) {
	var h int64
	err := n.call(ctx, callTimeout, "getblockcount", &h)
	return h, err
}

// BestBlockHash returns the hash of the node's best block.
func (n *Node) BestBlockHash(ctx context.Context) (ferry.Hash, error) {
	var s string
	if err := n.call(ctx, callTimeout, "getbestblockhash", &s); err != nil {
		return ferry.Hash{}, err
	}
	return ferry.ParseHash(s)
}

// BlockHash returns the hash of the block at height on the node's best chain.
func (n *Node) BlockHash(ctx context.Context, height int64) (ferry.Hash, error) {
	var s string
	if err := n.call(ctx, callTimeout, "getblockhash", &s, height); err != nil {
		return ferry.Hash{}, err
	}
	return ferry.ParseHash(s)
}

// RawBlock returns the serialized block with hash h (getblock verbosity 0).
func (n *Node) RawBlock(ctx context.Context, h ferry.Hash) ([]byte, error) {
	data, status, err := n.post(ctx, callTimeout, "getblock", []any{h.String(), 0})
	if err != nil {
		return nil, err
	}
	if raw, ok := hexResult(data); ok {
		return raw, nil
	}
	var s string
	if err := decodeResult("getblock", data, status, &s); err != nil {
		return nil, err
	}
	raw, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("getblock: %w", err)
	}
	return raw, nil
}

// WaitForNewBlock long-polls the node (waitfornewblock) until its best block
// changes or timeout passes, whichever is first. Nodes without the call
// (btcd) answer with an error wrapping ErrMethodNotFound.
func (n *Node) WaitForNewBlock(ctx context.Context, timeout time.Duration) error {
	return n.call(ctx, callTimeout+timeout, "waitfornewblock", nil, timeout.Milliseconds())
}

// SendRawTransaction broadcasts a signed transaction and returns its id. A
// rejection is an *RPCError carrying the node's reason.
func (n *Node) SendRawTransaction(ctx context.Context, raw []byte) (ferry.Hash, error) {
	var s string
	if err := n.call(ctx, callTimeout, "sendrawtransaction", &s, hex.EncodeToString(raw)); err != nil {
		return ferry.Hash{}, err
	}
	return ferry.ParseHash(s)
}

// EstimateFeeRate returns the node's fee estimate for confirmation within
// target blocks, in satoshis per 1000 virtual bytes (estimatesmartfee). It
// wraps ErrNoEstimate when the node has none, as on a fresh regtest chain or
// on btcd.
func (n *Node) EstimateFeeRate(ctx context.Context, target int) (int64, error) {
	var r struct {
		FeeRate json.Number `json:"feerate"`
		Errors  []string    `json:"errors"`
	}
	err := n.call(ctx, callTimeout, "estimatesmartfee", &r, target)
	if errors.Is(err, ErrMethodNotFound) {
		return 0, fmt.Errorf("%w: %v", ErrNoEstimate, err)
	}
	if err != nil {
		return 0, err
	}
	if r.FeeRate == "" {
		return 0, fmt.Errorf("%w: %s", ErrNoEstimate, strings.Join(r.Errors, "; "))
	}
	rate, err := amountCeil(r.FeeRate)
	if err != nil {
		return 0, fmt.Errorf("estimatesmartfee: %w", err)
	}
	if rate <= 0 {
		return 0, fmt.Errorf("%w: node estimated %s", ErrNoEstimate, r.FeeRate)
	}
	return rate, nil
}

// MinFeeRate returns the lowest fee rate the node's mempool accepts now, in
// satoshis per 1000 virtual bytes: the larger of its minimum relay fee and
// its mempool minimum fee (getmempoolinfo), or the relay fee of
// getnetworkinfo on nodes whose getmempoolinfo lacks them. It wraps
// ErrMethodNotFound when the node has neither.
func (n *Node) MinFeeRate(ctx context.Context) (int64, error) {
	var mp struct {
		MempoolMinFee json.Number `json:"mempoolminfee"`
		MinRelayFee   json.Number `json:"minrelaytxfee"`
	}
	err := n.call(ctx, callTimeout, "getmempoolinfo", &mp)
	if err != nil && !errors.Is(err, ErrMethodNotFound) {
		return 0, err
	}
	var rate int64
	for _, s := range []json.Number{mp.MempoolMinFee, mp.MinRelayFee} {
		if s == "" {
			continue
		}
		r, err := amountCeil(s)
		if err != nil {
			return 0, fmt.Errorf("getmempoolinfo: %w", err)
		}
		rate = max(rate, r)
	}
	if rate > 0 {
		return rate, nil
	}
	var ni struct {
		RelayFee json.Number `json:"relayfee"`
	}
	if err := n.call(ctx, callTimeout, "getnetworkinfo", &ni); err != nil {
		return 0, err
	}
	if ni.RelayFee == "" {
		return 0, fmt.Errorf("getnetworkinfo: %w: no relayfee", ErrMethodNotFound)
	}
	return amountCeil(ni.RelayFee)
}

// RawMempool returns the ids of the transactions in the node's mempool.
func (n *Node) RawMempool(ctx context.Context) ([]ferry.Hash, error) {
	var ids []string
	if err := n.call(ctx, callTimeout, "getrawmempool", &ids); err != nil {
		return nil, err
	}
	hs := make([]ferry.Hash, 0, len(ids))
	for _, s := range ids {
		h, err := ferry.ParseHash(s)
		if err != nil {
			return nil, fmt.Errorf("getrawmempool: %w", err)
		}
		hs = append(hs, h)
	}
	return hs, nil
}

// RawTransaction returns a serialized transaction the node knows without a
// transaction index: one in its mempool.
func (n *Node) RawTransaction(ctx context.Context, txid ferry.Hash) ([]byte, error) {
	var s string
	if err := n.call(ctx, callTimeout, "getrawtransaction", &s, txid.String()); err != nil {
		return nil, err
	}
	raw, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("getrawtransaction: %w", err)
	}
	return raw, nil
}

// Call makes any other RPC and decodes its result into out (nil to drop it).
// Tests and tools use it; ferry itself sticks to the typed methods.
func (n *Node) Call(ctx context.Context, method string, out any, params ...any) error {
	return n.call(ctx, callTimeout, method, out, params...)
}

// amountCeil converts a JSON amount in coins into satoshis, rounding a
// fraction of a satoshi up. It parses the decimal (or exponent) text exactly;
// no float is involved.
func amountCeil(n json.Number) (int64, error) {
	r, ok := new(big.Rat).SetString(string(n))
	if !ok || r.Sign() < 0 {
		return 0, fmt.Errorf("%w: %q", ferry.ErrBadAmount, n)
	}
	r.Mul(r, big.NewRat(ferry.SatoshiPerCoin, 1))
	q, m := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	if m.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	if !q.IsInt64() || q.Int64() > int64(ferry.MaxAmount) {
		return 0, fmt.Errorf("%w: %q", ferry.ErrBadAmount, n)
	}
	return q.Int64(), nil
}

// ErrWrongChain reports a node that follows another network than the one
// ferry is configured for.
var ErrWrongChain = errors.New("node is on another network")

// CheckNetwork asks the node which chain it follows (getblockchaininfo) and
// returns an error wrapping ErrWrongChain unless it is net.
func (n *Node) CheckNetwork(ctx context.Context, net Network) error {
	var info struct {
		Chain string `json:"chain"`
	}
	if err := n.call(ctx, callTimeout, "getblockchaininfo", &info); err != nil {
		return err
	}
	// Bitcoin and Litecoin Core say main, test, regtest; btcd names its
	// parameters: mainnet, testnet3, regtest.
	names := map[string]Network{"main": Mainnet, "mainnet": Mainnet, "test": Testnet, "testnet3": Testnet, "testnet4": Testnet, "regtest": Regtest}
	if names[info.Chain] != net {
		return fmt.Errorf("%w: node says %q, ferry is configured for %s", ErrWrongChain, info.Chain, net)
	}
	return nil
}
