package relay

import (
	"context"
	"errors"
	"net/url"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/store"
)

// MintRequest asks for a new input address.
type MintRequest struct {
	// Coin is the coin's id, "ltc" or "btc".
	Coin string
	// Destination is the merchant's address, where payments go.
	Destination string
	// Callback is the merchant's callback URL, "" for none; CallbackReq
	// asks for callbacks to be sent to it (and its host to be checked).
	Callback    string
	CallbackReq bool
}

// MaxCallbackLen is LitePay's limit on callback URLs.
const MaxCallbackLen = 255

// Mint validates req and hands out a new input address for it, recorded
// and synced before it returns. A refused request changes nothing; its
// error says why, with a Kind.
func (e *Engine) Mint(ctx context.Context, req MintRequest) (*store.Address, error) {
	r, err := e.coin(req.Coin)
	if err != nil {
		return nil, err
	}
	if !r.scanner.Started() {
		return nil, ferry.Errorf(ferry.KindUnavailable, "%s is starting: its node has not been reached yet", r.Chain.Name())
	}
	if req.Destination == "" {
		return nil, ferry.Errorf(ferry.KindInvalid, "address is required: the %s address payments are forwarded to", r.Chain.Name())
	}
	dest, err := r.Chain.ParseDestination(req.Destination)
	if err != nil {
		return nil, &ferry.Error{Kind: ferry.KindInvalid, Message: "invalid address: " + DestinationError(err)}
	}
	if loop, err := r.minter.IsInputAddress(dest); err != nil {
		return nil, ferry.Internal("check destination", err)
	} else if loop {
		return nil, ferry.Errorf(ferry.KindInvalid, "invalid address: it is one of this server's own input addresses")
	}
	if err := e.checkCallback(ctx, req.Callback, req.CallbackReq); err != nil {
		return nil, err
	}
	return r.minter.Mint(dest, req.Callback, req.CallbackReq)
}

// checkCallback validates a callback URL. Any callback must be http or
// https, at most MaxCallbackLen characters, with a host and no
// credentials. A callback that is to be sent is required, and its host
// must resolve to addresses callbacks may reach (checked again at every
// dial); one that is not is optional and its host is not looked up (Tor
// mode).
func (e *Engine) checkCallback(ctx context.Context, raw string, required bool) error {
	if raw == "" {
		if required {
			return ferry.Errorf(ferry.KindInvalid, "callback is required with callback_req=1 (set callback_req=0 to poll instead)")
		}
		return nil
	}
	u, err := ParseCallback(raw)
	if err != nil {
		return err
	}
	if !required {
		return nil
	}
	if err := e.hosts.CheckHost(ctx, u.Hostname()); err != nil {
		return &ferry.Error{Kind: ferry.KindInvalid, Message: "callback host refused: " + err.Error(), Err: err}
	}
	return nil
}

// ParseCallback checks the form of a callback URL, without looking its
// host up: http or https, at most MaxCallbackLen characters of printable
// ASCII, a host, a valid port, no credentials.
func ParseCallback(raw string) (*url.URL, error) {
	if len(raw) > MaxCallbackLen {
		return nil, ferry.Errorf(ferry.KindInvalid, "callback URL is %d characters; at most %d are allowed", len(raw), MaxCallbackLen)
	}
	u, err := parseURL(raw)
	if err != nil {
		return nil, ferry.Errorf(ferry.KindInvalid, "callback URL %s", err)
	}
	return u, nil
}

// DestinationError turns a destination parse error into the client's
// message.
func DestinationError(err error) string {
	switch {
	case errors.Is(err, chain.ErrWrongNetwork), errors.Is(err, chain.ErrUnsupportedAddress), errors.Is(err, chain.ErrBadAddress):
		return err.Error()
	}
	return "malformed address"
}

// maxLag is how many blocks a scanner may trail its node and still count
// as healthy: catching up after a restart takes a moment.
const maxLag = 6

// Health is the engine's state, as /healthz shows it.
type Health struct {
	OK    bool         `json:"ok"`
	Coins []CoinHealth `json:"coins"`
}

// CoinHealth is one coin's part of Health.
type CoinHealth struct {
	Coin       string `json:"coin"`
	NodeOK     bool   `json:"node_ok"`
	NodeError  string `json:"node_error,omitempty"`
	NodeHeight int64  `json:"node_height"`
	ScanHeight int64  `json:"scan_height"`
	Behind     int64  `json:"behind"`
	Watched    int    `json:"watched"`
	Halted     string `json:"halted,omitempty"`
	// MempoolError says why unconfirmed payments are not seen; it does
	// not make the coin unhealthy, as the money path does not need them.
	MempoolError string `json:"mempool_error,omitempty"`
}

// Health asks each coin's node for its height and compares it with the
// scanner's. It is OK when every node answers, no scanner has halted, and
// none trails its node by more than a few blocks. A node's answer is kept
// for a second of the engine's clock: concurrent and repeated calls ask
// each node at most once a second.
func (e *Engine) Health(ctx context.Context) Health {
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	h := Health{OK: true}
	for _, r := range e.order {
		c := CoinHealth{Coin: r.Chain.Name(), ScanHeight: r.scanner.Height(), Watched: r.watch.Len()}
		if msg := r.halted.Load(); msg != nil {
			c.Halted = *msg
		}
		if err := r.mempool.Err(); err != nil {
			c.MempoolError = err.Error()
		}
		tip, err := r.nodeTip.get(ctx, r.clock, r.Blocks.BlockCount)
		if err != nil {
			c.NodeError = err.Error()
		} else {
			c.NodeOK, c.NodeHeight = true, tip
			c.Behind = max(0, tip-c.ScanHeight)
		}
		if !c.NodeOK || c.Halted != "" || c.Behind > maxLag {
			h.OK = false
		}
		h.Coins = append(h.Coins, c)
	}
	return h
}

// Coins returns the ids of the coins the engine runs, in order.
func (e *Engine) Coins() []string {
	ids := make([]string, len(e.order))
	for i, r := range e.order {
		ids[i] = r.id
	}
	return ids
}

// Height returns the height of the last block of coin the scanner
// recorded, or 0 for a coin the engine does not run.
func (e *Engine) Height(coin string) int64 {
	if r, ok := e.coins[coin]; ok {
		return r.scanner.Height()
	}
	return 0
}

// Watched returns how many addresses coin's watch set holds (0 for a coin
// the engine does not run).
func (e *Engine) Watched(coin string) int {
	if r, ok := e.coins[coin]; ok {
		return r.watch.Len()
	}
	return 0
}

// Nudge asks coin's forwarder for a pass soon, before the next block: a
// held deposit was released. It never blocks.
func (e *Engine) Nudge(coin string) {
	if r, ok := e.coins[coin]; ok {
		r.nudged.Store(true)
	}
}

// MinDeposit returns coin's smallest deposit the engine forwards, in
// satoshis (smaller ones are donations), or 0 for a coin it does not run.
func (e *Engine) MinDeposit(coin string) ferry.Amount {
	if r, ok := e.coins[coin]; ok {
		return r.MinDeposit
	}
	return 0
}

// CheckHost reports whether callbacks may reach host, as registration
// checks a callback URL's host (the notifier's dialer checks every address
// it connects to again).
func (e *Engine) CheckHost(ctx context.Context, host string) error {
	return e.hosts.CheckHost(ctx, host)
}

// FeePercent returns the service fee.
func (e *Engine) FeePercent() ferry.Fraction { return e.cfg.FeePercent }

// FeeRate returns the network fee rate a forward of coin would pay now,
// in satoshis per 1000 vbytes: the node's estimate for the fee target,
// or the fallback rate, never below what the node's mempool accepts.
func (e *Engine) FeeRate(ctx context.Context, coin string) (int64, error) {
	r, err := e.coin(coin)
	if err != nil {
		return 0, err
	}
	rate, err := r.forwarder.feeRate(ctx)
	if err != nil {
		return 0, &ferry.Error{Kind: ferry.KindUnavailable, Message: r.Chain.Name() + " node: no fee rate", Err: err}
	}
	return rate, nil
}
