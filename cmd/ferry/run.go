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
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/grpc"

	"github.com/ferry-relay/ferry/api"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/mail"
	"github.com/ferry-relay/ferry/metrics"
	"github.com/ferry-relay/ferry/notify"
	"github.com/ferry-relay/ferry/rates"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/store"
	"github.com/ferry-relay/ferry/torproxy"
)

// shutdownTimeout bounds the wait for in-flight API requests at shutdown.
const shutdownTimeout = 10 * time.Second

// ErrSeedWithoutStore reports a data directory that holds a seed but no
// store: addresses of that seed may have been handed out, and a new store
// would hand their indexes out again.
var ErrSeedWithoutStore = errors.New("the data directory has a seed but no store")

// Run runs ferry with cfg until ctx is done, logging to logOut. If ready is
// not nil it is called with the API's address once the API listens. It
// checks the whole configuration before it touches the data directory.
func Run(ctx context.Context, cfg Config, logOut io.Writer, ready func(net.Addr)) error {
	log, err := newLogger(cfg, logOut)
	if err != nil {
		return err
	}
	set, err := cfg.settings()
	if err != nil {
		return err
	}
	d, err := open(ctx, cfg, set, log)
	if err != nil {
		return err
	}
	defer d.close()
	return d.run(ctx, ready)
}

// daemon is ferry opened: its store, engine, notifier and API, ready to
// run.
type daemon struct {
	cfg      Config
	log      zerolog.Logger
	nodes    []*chain.Node
	db       *store.DB
	engine   *relay.Engine
	invoices *invoice.Engine
	mailer   *mail.Mailer
	notifier *notify.Notifier
	servers  []*httpServer
	onion    *torproxy.Onion
	// grpcAddr is where the gRPC API listens, if it does.
	grpcAddr net.Addr
	metrics  *metrics.Metrics
}

// wakers wakes each of the parts that follow the blocks: the notifier
// (callbacks due) and the invoice engine (statuses to work out).
type wakers []relay.Waker

// Wake wakes them all.
func (ws *wakers) Wake() {
	for _, w := range *ws {
		w.Wake()
	}
}

// releaseVia hands the relay's forwarder to the invoice engine's Release,
// once the invoice engine (made after the relay) is there.
type releaseVia struct {
	inv atomic.Pointer[invoice.Engine]
}

// Release implements relay.Releaser: every deposit is forwarded until the
// invoice engine is set (before the engine runs).
func (r *releaseVia) Release(ctx context.Context, coin string, d *store.Deposit) (relay.Release, error) {
	if inv := r.inv.Load(); inv != nil {
		return inv.Release(ctx, coin, d)
	}
	return relay.Release{}, errors.New("invoice engine not set")
}

// httpServer is a server and the listener it serves.
type httpServer struct {
	ln  net.Listener
	srv servable
}

// servable is a server: *http.Server, or gRPC's through grpcServable.
type servable interface {
	Serve(ln net.Listener) error
	Shutdown(ctx context.Context) error
}

// grpcServable shuts a gRPC server down as http.Server does: gracefully,
// until ctx is done.
type grpcServable struct{ *grpc.Server }

// Shutdown stops the server, letting calls in progress end until ctx is
// done.
func (g grpcServable) Shutdown(ctx context.Context) error {
	done := make(chan struct{})
	go func() { g.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		g.Stop()
		<-done
	}
	return nil
}

// open opens the data directory, the seed and the store, builds the engine,
// the notifier and the API, and listens. What it opened is closed by
// close, or by open itself if it fails.
func open(ctx context.Context, cfg Config, set *settings, log zerolog.Logger) (d *daemon, err error) {
	d = &daemon{cfg: cfg, log: log}
	for _, c := range set.coins {
		d.nodes = append(d.nodes, c.node)
	}
	defer func() {
		if err != nil {
			d.close()
		}
	}()

	// The data directory, the seed and the store.
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return d, fmt.Errorf("data dir: %w", err)
	}
	seedPath := filepath.Join(cfg.DataDir, "seed")
	seed, seedCreated, err := store.LoadSecret(seedPath, chain.SeedLen)
	if err != nil {
		return d, err
	}
	defer clear(seed)
	if seedCreated {
		log.Warn().Str("path", seedPath).Msg("created a new HD seed: back this file up now; every input address is derived from it")
	}
	fp, err := chain.SeedFingerprint(seed)
	if err != nil {
		return d, err
	}
	if d.db, err = store.Open(cfg.DataDir); err != nil {
		return d, err
	}
	if err := d.db.CheckNetwork(cfg.Network); err != nil {
		return d, err
	}
	fresh, err := d.db.Fresh()
	if err != nil {
		return d, err
	}
	if fresh && !seedCreated && cfg.FirstIndex == 0 {
		return d, fmt.Errorf("%w: %s is there but the store is new, so input addresses of this seed may have been handed out "+
			"already, and would be handed out again. Restore the store from a backup, or recover it from the chain with "+
			"ferry recover; if you know the highest index handed out on every coin, start with --first-index above it", ErrSeedWithoutStore, seedPath)
	}
	if err := d.db.CheckSeed(fp); err != nil {
		return d, fmt.Errorf("%s: %w", seedPath, err)
	}
	if cfg.FirstIndex > 0 {
		for _, c := range set.coins {
			if err := d.db.SetFirstIndex(c.coin.ID(), uint32(cfg.FirstIndex)); err != nil {
				return d, err
			}
		}
	}
	// The callback signing key: merchants check X-Ferry-Signature with
	// the text of this file.
	keyPath := filepath.Join(cfg.DataDir, "callback.key")
	cbKey, created, err := store.LoadSecret(keyPath, 32)
	if err != nil {
		return d, err
	}
	if created {
		log.Info().Str("path", keyPath).Msg("created the callback signing key: give its text to the shops that check X-Ferry-Signature")
	}

	// The coins.
	var coins []relay.Coin
	for _, c := range set.coins {
		rc, err := c.start(ctx, seed, log)
		if err != nil {
			return d, err
		}
		coins = append(coins, rc)
	}

	// The outbound dialer, the notifier and the engine.
	dialer := &torproxy.Dialer{Guard: torproxy.Guard{AllowPrivate: cfg.CallbackAllowPrivate}, AllViaTor: cfg.TorAllCallbacks}
	if cfg.TorSOCKS != "" {
		if dialer.Tor, err = torproxy.NewTor(cfg.TorSOCKS, set.notify.Timeout); err != nil {
			return d, fmt.Errorf("--tor-socks: %w", err)
		}
	}
	set.notify.Outbound = dialer
	set.notify.Log = log.With().Str("component", "notifier").Logger()
	// Metrics, when asked for: every part reports to one registry.
	var relayMetrics relay.Metrics
	if cfg.MetricsListen != "" {
		d.metrics = metrics.New(clock.System{})
		relayMetrics, set.notify.Metrics, set.api.Metrics = d.metrics, d.metrics, d.metrics
	}
	if d.notifier, err = notify.New(set.notify); err != nil {
		return d, err
	}
	woken := &wakers{d.notifier}
	releaser := &releaseVia{}
	if d.engine, err = relay.New(set.relay, relay.Deps{Store: d.db, Coins: coins, Hosts: dialer, Waker: woken, Releaser: releaser, Metrics: relayMetrics, Log: log}); err != nil {
		return d, err
	}
	signing := []byte(hex.EncodeToString(cbKey))
	d.notifier.Add(relay.NewCallbackQueues(set.relay, d.db, coins, signing, relayMetrics, log)...)

	// Invoices: the price source, the vendors' email, the engine.
	clk := clock.System{}
	inv := set.invoice
	inv.Network, inv.Relay, inv.Store, inv.Waker, inv.Clock, inv.Log = set.network, d.engine, d.db, d.notifier, clk, log
	inv.Quoter = rates.NewCache(set.rates, time.Minute, clk)
	inv.CallbackKey = signing
	inv.Announcers = map[string]invoice.Announcer{"fluxcord": api.FluxcordEvents{}, "payscrypt": api.PayscryptEvents{}}
	if set.mail != nil {
		sender, err := mail.NewSender(*set.mail, clk)
		if err != nil {
			return d, err
		}
		if d.mailer, err = mail.NewMailer(mail.MailerConfig{Sender: sender, Store: d.db, Clock: clk, Log: log}); err != nil {
			return d, err
		}
		inv.Mailer = d.mailer
	}
	if d.invoices, err = invoice.New(inv); err != nil {
		return d, flagError(err)
	}
	*woken = append(*woken, d.invoices)
	releaser.inv.Store(d.invoices)
	d.notifier.Add(d.invoices.Queues()...)
	pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
	d.engine.Prepare(pctx)
	pcancel()

	// The API, and the API as an onion service, on a listener of its own
	// (its clients share one rate limit), with a key kept in the data
	// directory so that its address stays the same.
	set.api.Log = log
	server := api.New(set.api, d.engine, d.invoices)
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return d, fmt.Errorf("listen: %w", err)
	}
	d.servers = append(d.servers, &httpServer{ln: ln, srv: newHTTPServer(server.Handler())})
	server.SetListenURL("http://" + ln.Addr().String())
	if d.metrics != nil {
		mln, err := net.Listen("tcp", cfg.MetricsListen)
		if err != nil {
			return d, fmt.Errorf("--metrics-listen: %w", err)
		}
		for _, c := range coins {
			id := c.Chain.ID()
			d.metrics.Coin(id, func() int { return d.engine.Watched(id) })
		}
		for _, q := range d.queueNames(coins) {
			d.metrics.QueueDepth(q, 15*time.Second, func() (int, error) { return d.db.QueuedCallbacks(q) })
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", d.metrics.Handler())
		d.servers = append(d.servers, &httpServer{ln: mln, srv: newHTTPServer(mux)})
		log.Info().Str("listen", mln.Addr().String()).Msg("metrics listening")
	}
	if cfg.GRPCListen != "" {
		gln, err := net.Listen("tcp", cfg.GRPCListen)
		if err != nil {
			return d, fmt.Errorf("--grpc-listen: %w", err)
		}
		d.servers = append(d.servers, &httpServer{ln: gln, srv: grpcServable{server.GRPCServer()}})
		d.grpcAddr = gln.Addr()
		log.Info().Str("listen", gln.Addr().String()).Msg("gRPC API (Payscrypt) listening")
	}
	// The operator's API, on a socket only the data directory's owner
	// reaches: ferry vendor talks to it while the daemon holds the store.
	aln, err := listenAdmin(cfg.DataDir)
	if err != nil {
		return d, err
	}
	d.servers = append(d.servers, &httpServer{ln: aln, srv: newHTTPServer(api.AdminHandler(d.invoices.Admin(), log))})
	if cfg.TorControl != "" {
		oln, err := net.Listen("tcp", cfg.TorOnionListen)
		if err != nil {
			return d, fmt.Errorf("--tor-onion-listen: %w", err)
		}
		d.servers = append(d.servers, &httpServer{ln: oln, srv: newHTTPServer(server.OnionHandler())})
		if d.onion, err = publishOnion(ctx, cfg, oln.Addr(), log); err != nil {
			return d, err
		}
		server.SetOnion(d.onion)
		log.Info().Str("onion", "http://"+d.onion.Address()+portSuffix(cfg.TorOnionPort)).Str("target", oln.Addr().String()).Msg("API published as an onion service")
	}
	return d, nil
}

// run serves the API and runs the engine and the notifier until ctx is
// done or one of them fails, then shuts them down.
func (d *daemon) run(ctx context.Context, ready func(net.Addr)) error {
	d.log.Info().Str("listen", d.servers[0].ln.Addr().String()).Str("network", d.cfg.Network).Msg("ferry started")
	if ready != nil {
		ready(d.servers[0].ln.Addr())
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srvErr := make(chan error, len(d.servers))
	for _, s := range d.servers {
		go func() { srvErr <- s.srv.Serve(s.ln) }()
	}
	runErr := make(chan error, 1)
	go func() { runErr <- d.engine.Run(ctx) }()
	var parts sync.WaitGroup
	parts.Go(func() { d.notifier.Run(ctx) })
	parts.Go(func() { d.invoices.Run(ctx) })
	if d.mailer != nil {
		parts.Go(func() { d.mailer.Run(ctx) })
	}

	var err error
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
	for _, s := range d.servers {
		if serr := s.srv.Shutdown(sctx); serr != nil && err == nil {
			err = serr
		}
	}
	if rerr := <-runErr; rerr != nil && err == nil {
		err = rerr
	}
	parts.Wait()
	d.log.Info().Msg("ferry stopped")
	return err
}

// close releases what open opened: the listeners (and the admin socket's
// file), the onion service, the store, and the nodes' idle connections
// (litecoind and bitcoind wait for open HTTP connections when they shut
// down).
func (d *daemon) close() {
	for _, s := range d.servers {
		s.ln.Close()
	}
	os.Remove(adminSocket(d.cfg.DataDir))
	if d.onion != nil {
		d.onion.Close()
	}
	if d.db != nil {
		d.db.Close()
	}
	for _, n := range d.nodes {
		n.Close()
	}
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
	clk := clock.System{}
	deadline := clk.Now().Add(30 * time.Second)
	for {
		o, err := torproxy.PublishOnion(ctx, oc, olog)
		if err == nil || clk.Now().After(deadline) || errors.Is(err, torproxy.ErrControl) {
			if err != nil {
				return nil, fmt.Errorf("--tor-control %s: %w", cfg.TorControl, err)
			}
			return o, nil
		}
		olog.Warn().Err(err).Msg("tor control port not reachable yet")
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-clk.After(time.Second):
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

// start derives the coin's keychain and checks its node's network.
func (s coinSetup) start(ctx context.Context, seed []byte, log zerolog.Logger) (relay.Coin, error) {
	keys, err := chain.NewKeychain(seed, s.coin.CoinType())
	if err != nil {
		return relay.Coin{}, err
	}
	// A node on the wrong network would make every address wrong; a node
	// that is down is only waited for.
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.node.CheckNetwork(cctx, s.coin.Network()); errors.Is(err, chain.ErrWrongChain) || errors.Is(err, chain.ErrUnauthorized) {
		return relay.Coin{}, fmt.Errorf("%s node %s: %w", s.coin.Name(), s.node, err)
	} else if err != nil {
		log.Warn().Err(err).Str("coin", s.coin.ID()).Str("node", s.node.String()).Msg("node not reachable yet; the scanner will keep trying")
	}
	return relay.Coin{
		Chain:           s.coin,
		Blocks:          s.node,
		Broadcaster:     s.node,
		Fees:            s.node,
		Mempool:         &chain.Mempool{Coin: s.coin, Node: s.node, Addr: s.p2p},
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

// queueNames are the notifier's delivery queues in the store: each coin's
// callbacks, its invoices' callbacks, and webhooks.
func (d *daemon) queueNames(coins []relay.Coin) []string {
	var qs []string
	for _, c := range coins {
		qs = append(qs, c.Chain.ID(), "inv-"+c.Chain.ID())
	}
	return append(qs, "wh")
}
