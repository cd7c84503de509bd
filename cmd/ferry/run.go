package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/grpc"

	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/mail"
	"github.com/ferry-relay/ferry/metrics"
	"github.com/ferry-relay/ferry/notify"
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
	// closers are the listeners opened, closed by close.
	closers []io.Closer
	onion   *torproxy.Onion
	// grpcAddr is where the gRPC API listens, if it does.
	grpcAddr net.Addr
	metrics  *metrics.Metrics
}

// eventBuffer is how many of the relay's events wait for the invoice
// engine: a block's deposits, and more; past it they are dropped, and the
// engine finds them at its next look.
const eventBuffer = 4096

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
	for _, c := range d.closers {
		c.Close()
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

// newOnion makes the onion service of the API, its key kept in the data
// directory so that its address stays the same; Tor forwards its
// connections to addr (the onion listener's) unless --tor-onion-target
// says otherwise. It is published by publishOnion.
func newOnion(cfg Config, addr net.Addr, log zerolog.Logger) (*torproxy.Onion, error) {
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
	return torproxy.NewOnion(torproxy.OnionConfig{
		Control: cfg.TorControl,
		Auth:    torproxy.Auth{Password: cfg.TorPassword, CookieFile: cfg.TorCookie},
		Seed:    seed,
		Port:    cfg.TorOnionPort,
		Target:  target,
	}, log.With().Str("component", "tor").Logger())
}

// publishOnion publishes o, trying for 30 seconds while Tor's control port
// does not answer; a refusal of Tor's is final.
func publishOnion(ctx context.Context, o *torproxy.Onion, log zerolog.Logger) error {
	clk := clock.System{}
	deadline := clk.Now().Add(30 * time.Second)
	for {
		err := o.Publish(ctx)
		if err == nil || clk.Now().After(deadline) || errors.Is(err, torproxy.ErrControl) {
			return err
		}
		log.Warn().Str("component", "tor").Err(err).Msg("tor control port not reachable yet")
		select {
		case <-ctx.Done():
			return ctx.Err()
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
	return zerolog.New(redactor{out}).Level(level).With().Timestamp().Logger(), nil
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
