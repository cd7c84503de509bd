package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/store"
	"github.com/ferry-relay/ferry/torproxy"
)

// shutdownTimeout bounds the wait for in-flight API requests at shutdown.
const shutdownTimeout = 10 * time.Second

// coinFlags are the flags of one coin.
type coinFlags struct {
	rpc, rpcCert, feeAddress, min string
	fallback                      int64 // sat/vB
	prefix                        string
	mk                            func(chain.Network) (*chain.Coin, error)
}

// coinSetup is one coin's configuration, checked but not yet running.
type coinSetup struct {
	coin       *chain.Coin
	node       *chain.Node
	feeDest    chain.Destination
	minDeposit int64
	fallback   int64 // sat/kvB
}

// Run runs ferry with cfg until ctx is done, logging to logOut. If ready is
// not nil it is called with the API's address once the API listens. It
// checks the whole configuration before it touches the data directory.
func Run(ctx context.Context, cfg Config, logOut io.Writer, ready func(net.Addr)) error {
	log, err := newLogger(cfg, logOut)
	if err != nil {
		return err
	}
	network, err := chain.ParseNetwork(cfg.Network)
	if err != nil {
		return err
	}
	rcfg := relay.DefaultConfig()
	if rcfg.FeePercent, err = relay.ParseFraction(cfg.FeePercent); err != nil {
		return fmt.Errorf("--fee-percent: %w", err)
	}
	if cfg.ForwardConfirmations < 1 {
		return fmt.Errorf("--forward-confirmations must be at least 1")
	}
	rcfg.ForwardConfirmations = cfg.ForwardConfirmations
	rcfg.FeeTarget = cfg.FeeTarget
	if cfg.AddressExpiry < 0 {
		return fmt.Errorf("--address-expiry must not be negative")
	}
	rcfg.AddressExpiry = cfg.AddressExpiry
	if cfg.MaxCallbackConfs < 1 {
		return fmt.Errorf("--max-callback-confirmations must be at least 1")
	}
	rcfg.Callbacks.MaxConfirmations = cfg.MaxCallbackConfs
	if cfg.RateLimit < 0 {
		return fmt.Errorf("--rate-limit must not be negative")
	}
	rcfg.RateLimit = cfg.RateLimit
	rcfg.ClientIPHeader = cfg.RateLimitHeader
	dialer := &torproxy.Dialer{Guard: torproxy.Guard{AllowPrivate: cfg.CallbackAllowPrivate}, AllViaTor: cfg.TorAllCallbacks}
	if cfg.TorSOCKS != "" {
		if dialer.Tor, err = torproxy.NewTor(cfg.TorSOCKS, rcfg.Callbacks.Timeout); err != nil {
			return fmt.Errorf("--tor-socks: %w", err)
		}
	} else if cfg.TorAllCallbacks {
		return errors.New("--tor-all-callbacks needs --tor-socks")
	}
	rcfg.Callbacks.Outbound = dialer
	if cfg.TorControl != "" && (cfg.TorOnionPort < 1 || cfg.TorOnionPort > 65535) {
		return fmt.Errorf("--tor-onion-port must be a port number")
	}
	var setups []coinSetup
	for _, f := range []coinFlags{
		{rpc: cfg.LTCRPC, feeAddress: cfg.LTCFeeAddress, min: cfg.MinLTC, fallback: cfg.LTCFallbackFee, prefix: "ltc", mk: chain.Litecoin},
		{rpc: cfg.BTCRPC, rpcCert: cfg.BTCRPCCert, feeAddress: cfg.BTCFeeAddress, min: cfg.MinBTC, fallback: cfg.BTCFallbackFee, prefix: "btc", mk: chain.Bitcoin},
	} {
		if f.rpc == "" {
			continue
		}
		s, err := parseCoin(f, network)
		if err != nil {
			return err
		}
		setups = append(setups, s)
	}
	if len(setups) == 0 {
		return errors.New("no coin is enabled: set --ltc-rpc, --btc-rpc or both")
	}
	// Drop the nodes' idle connections at exit: litecoind and bitcoind
	// wait for open HTTP connections when they shut down.
	defer func() {
		for _, s := range setups {
			s.node.Close()
		}
	}()

	// The data directory, the seed and the store.
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	seedPath := filepath.Join(cfg.DataDir, "seed")
	seed, created, err := store.LoadSecret(seedPath, chain.SeedLen)
	if err != nil {
		return err
	}
	defer clear(seed)
	if created {
		log.Warn().Str("path", seedPath).Msg("created a new HD seed: back this file up now; every input address is derived from it")
	}
	fp, err := chain.SeedFingerprint(seed)
	if err != nil {
		return err
	}
	db, err := store.Open(cfg.DataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.CheckSeed(fp); err != nil {
		return fmt.Errorf("%s: %w", seedPath, err)
	}
	// The callback signing key: merchants check X-Ferry-Signature with
	// the text of this file.
	keyPath := filepath.Join(cfg.DataDir, "callback.key")
	cbKey, created, err := store.LoadSecret(keyPath, 32)
	if err != nil {
		return err
	}
	if created {
		log.Info().Str("path", keyPath).Msg("created the callback signing key: give its text to the shops that check X-Ferry-Signature")
	}
	rcfg.Callbacks.Key = []byte(hex.EncodeToString(cbKey))

	// The coins.
	var chains []relay.Chain
	for _, s := range setups {
		ch, err := s.start(ctx, seed, log)
		if err != nil {
			return err
		}
		chains = append(chains, ch)
	}
	svc, err := relay.New(rcfg, db, chains, log)
	if err != nil {
		return err
	}
	pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
	svc.Prepare(pctx)
	pcancel()

	// The API.
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	servers := []*httpServer{{ln: ln, srv: newHTTPServer(svc.Handler())}}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// The API as an onion service, on a listener of its own (its clients
	// share one rate limit), with a key kept in the data directory so
	// that its address stays the same.
	if cfg.TorControl != "" {
		oln, err := net.Listen("tcp", cfg.TorOnionListen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("--tor-onion-listen: %w", err)
		}
		servers = append(servers, &httpServer{ln: oln, srv: newHTTPServer(svc.OnionHandler())})
		o, err := publishOnion(ctx, cfg, oln.Addr(), log)
		if err != nil {
			ln.Close()
			oln.Close()
			return err
		}
		defer o.Close()
		svc.SetOnion(o)
		log.Info().Str("onion", "http://"+o.Address()+portSuffix(cfg.TorOnionPort)).Str("target", oln.Addr().String()).Msg("API published as an onion service")
	}

	log.Info().Str("listen", ln.Addr().String()).Str("network", cfg.Network).Msg("ferry started")
	if ready != nil {
		ready(ln.Addr())
	}

	srvErr := make(chan error, len(servers))
	for _, s := range servers {
		go func() { srvErr <- s.srv.Serve(s.ln) }()
	}
	runErr := make(chan error, 1)
	go func() { runErr <- svc.Run(ctx) }()

	select {
	case <-ctx.Done():
	case err = <-srvErr:
		err = fmt.Errorf("http: %w", err)
	case err = <-runErr:
		runErr <- err
	}
	cancel()
	sctx, scancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer scancel()
	for _, s := range servers {
		if serr := s.srv.Shutdown(sctx); serr != nil && err == nil {
			err = serr
		}
	}
	if rerr := <-runErr; rerr != nil && err == nil {
		err = rerr
	}
	log.Info().Msg("ferry stopped")
	return err
}

// httpServer is a server and the listener it serves.
type httpServer struct {
	ln  net.Listener
	srv *http.Server
}

func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
}

// publishOnion publishes the API at addr as an onion service, trying for
// half a minute: Tor may be starting beside ferry.
func publishOnion(ctx context.Context, cfg Config, addr net.Addr, log zerolog.Logger) (*torproxy.Onion, error) {
	seed, created, err := store.LoadSecret(filepath.Join(cfg.DataDir, "onion.key"), 32)
	if err != nil {
		return nil, err
	}
	if created {
		log.Info().Str("path", filepath.Join(cfg.DataDir, "onion.key")).Msg("created the onion service key: back it up to keep the .onion address")
	}
	target := cfg.TorOnionTarget
	if target == "" {
		tcp := addr.(*net.TCPAddr)
		ip := tcp.IP
		if ip.IsUnspecified() {
			ip = net.IPv4(127, 0, 0, 1)
		}
		target = net.JoinHostPort(ip.String(), strconv.Itoa(tcp.Port))
	}
	oc := torproxy.OnionConfig{
		Control: cfg.TorControl,
		Auth:    torproxy.Auth{Password: cfg.TorPassword, CookieFile: cfg.TorCookie},
		Seed:    seed,
		Port:    cfg.TorOnionPort,
		Target:  target,
	}
	olog := log.With().Str("component", "tor").Logger()
	deadline := time.Now().Add(30 * time.Second)
	for {
		o, err := torproxy.PublishOnion(ctx, oc, olog)
		if err == nil || time.Now().After(deadline) || errors.Is(err, torproxy.ErrControl) {
			if err != nil {
				return nil, fmt.Errorf("--tor-control %s: %w", cfg.TorControl, err)
			}
			return o, nil
		}
		olog.Warn().Err(err).Msg("tor control port not reachable yet")
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// portSuffix is ":port" unless port is HTTP's default.
func portSuffix(port int) string {
	if port == 80 {
		return ""
	}
	return ":" + strconv.Itoa(port)
}

// parseCoin checks one coin's flags, without touching disk or network.
func parseCoin(f coinFlags, n chain.Network) (coinSetup, error) {
	coin, err := f.mk(n)
	if err != nil {
		return coinSetup{}, err
	}
	if f.feeAddress == "" {
		return coinSetup{}, fmt.Errorf("--%s-fee-address is required when %s is on", f.prefix, coin.Name())
	}
	feeDest, err := coin.ParseDestination(f.feeAddress)
	if err != nil {
		return coinSetup{}, fmt.Errorf("--%s-fee-address: %w", f.prefix, err)
	}
	minDeposit, err := chain.ParseAmount(f.min)
	if err != nil {
		return coinSetup{}, fmt.Errorf("--min-%s: %w", f.prefix, err)
	}
	if f.fallback <= 0 {
		return coinSetup{}, fmt.Errorf("--%s-fallback-fee must be positive", f.prefix)
	}
	var opts []chain.NodeOption
	if f.rpcCert != "" {
		pem, err := os.ReadFile(f.rpcCert)
		if err != nil {
			return coinSetup{}, fmt.Errorf("--%s-rpc-cert: %w", f.prefix, err)
		}
		opts = append(opts, chain.WithRootCAs(pem))
	}
	node, err := chain.NewNode(f.rpc, opts...)
	if err != nil {
		return coinSetup{}, fmt.Errorf("--%s-rpc: %w", f.prefix, err)
	}
	return coinSetup{coin: coin, node: node, feeDest: feeDest, minDeposit: minDeposit, fallback: f.fallback * 1000}, nil
}

// start derives the coin's keychain and checks its node's network.
func (s coinSetup) start(ctx context.Context, seed []byte, log zerolog.Logger) (relay.Chain, error) {
	keys, err := chain.NewKeychain(seed, s.coin.CoinType())
	if err != nil {
		return relay.Chain{}, err
	}
	// A node on the wrong network would make every address wrong; a node
	// that is down is only waited for.
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.node.CheckNetwork(cctx, s.coin.Network()); errors.Is(err, chain.ErrWrongChain) || errors.Is(err, chain.ErrUnauthorized) {
		return relay.Chain{}, fmt.Errorf("%s node %s: %w", s.coin.Name(), s.node, err)
	} else if err != nil {
		log.Warn().Err(err).Str("coin", s.coin.Ticker()).Str("node", s.node.String()).Msg("node not reachable yet; the scanner will keep trying")
	}
	return relay.Chain{
		Coin:            s.coin,
		Node:            s.node,
		Keys:            keys,
		FeeAddress:      s.feeDest,
		MinDeposit:      s.minDeposit,
		FallbackFeeRate: s.fallback,
	}, nil
}

func newLogger(cfg Config, out io.Writer) (zerolog.Logger, error) {
	level, err := zerolog.ParseLevel(cfg.LogLevel)
	if err != nil {
		return zerolog.Logger{}, fmt.Errorf("--log-level: %w", err)
	}
	switch cfg.LogFormat {
	case "json":
	case "console":
		out = zerolog.ConsoleWriter{Out: out, TimeFormat: time.RFC3339}
	default:
		return zerolog.Logger{}, fmt.Errorf("--log-format: want json or console, not %q", cfg.LogFormat)
	}
	return zerolog.New(out).Level(level).With().Timestamp().Logger(), nil
}
