package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

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
	"github.com/rs/zerolog"
)

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
	seed, cbKey, err := d.openStore(set)
	if err != nil {
		return d, err
	}
	defer clear(seed)
	var coins []relay.Coin
	for _, c := range set.coins {
		rc, err := c.start(ctx, seed, log)
		if err != nil {
			return d, err
		}
		coins = append(coins, rc)
	}
	lns, err := d.openListeners()
	if err != nil {
		return d, err
	}
	server, err := d.build(ctx, set, coins, cbKey, lns)
	if err != nil {
		return d, err
	}
	return d, d.serve(ctx, server, coins, lns)
}

// listeners are the daemon's listeners, opened before the parts are built
// so that what the parts show of them is known: the API's address (its
// links) and the onion service's (its health).
type listeners struct {
	api, metrics, grpc, admin, onion net.Listener
}

// openListeners listens as configured: the API, the metrics and the gRPC
// API on their addresses, the operator's socket in the data directory,
// and the listener onion connections arrive on; and makes the onion
// service (published by serve).
func (d *daemon) openListeners() (*listeners, error) {
	cfg := d.cfg
	lns := &listeners{}
	var err error
	keep := func(ln net.Listener) net.Listener {
		d.closers = append(d.closers, ln)
		return ln
	}
	if lns.api, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	keep(lns.api)
	if cfg.MetricsListen != "" {
		if lns.metrics, err = net.Listen("tcp", cfg.MetricsListen); err != nil {
			return nil, fmt.Errorf("--metrics-listen: %w", err)
		}
		keep(lns.metrics)
	}
	if cfg.GRPCListen != "" {
		if lns.grpc, err = net.Listen("tcp", cfg.GRPCListen); err != nil {
			return nil, fmt.Errorf("--grpc-listen: %w", err)
		}
		keep(lns.grpc)
	}
	// The operator's API, on a socket only the data directory's owner
	// reaches: ferry vendor talks to it while the daemon holds the store.
	if lns.admin, err = listenAdmin(cfg.DataDir); err != nil {
		return nil, err
	}
	keep(lns.admin)
	if cfg.TorControl != "" {
		if lns.onion, err = net.Listen("tcp", cfg.TorOnionListen); err != nil {
			return nil, fmt.Errorf("--tor-onion-listen: %w", err)
		}
		keep(lns.onion)
		if d.onion, err = newOnion(cfg, lns.onion.Addr(), d.log); err != nil {
			return nil, err
		}
	}
	return lns, nil
}

// openStore opens the data directory, the seed (created on the first
// start) and the store, checks that they belong together, and returns the
// seed, which the caller clears after use, and the callback signing key.
func (d *daemon) openStore(set *settings) (_, _ []byte, err error) {
	cfg := d.cfg
	var seed, cbKey []byte
	var seedCreated, created bool
	if tightened, err := store.PrivateDir(cfg.DataDir); err != nil {
		return nil, nil, err
	} else if tightened {
		d.log.Warn().Str("path", cfg.DataDir).Msg("the data directory was open to others: made accessible to its owner only (0700)")
	}
	seedPath := filepath.Join(cfg.DataDir, "seed")
	seed, seedCreated, err = store.LoadSecret(seedPath, chain.SeedLen)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			clear(seed)
		}
	}()
	if seedCreated {
		d.log.Warn().Str("path", seedPath).Msg("created a new HD seed: back this file up now; every input address is derived from it")
	}
	fp, err := chain.SeedFingerprint(seed)
	if err != nil {
		return nil, nil, err
	}
	if d.db, err = store.Open(cfg.DataDir); err != nil {
		return nil, nil, err
	}
	if err := d.db.CheckNetwork(cfg.Network); err != nil {
		return nil, nil, err
	}
	fresh, err := d.db.Fresh()
	if err != nil {
		return nil, nil, err
	}
	if fresh && !seedCreated && cfg.FirstIndex == 0 {
		return nil, nil, fmt.Errorf("%w: %s is there but the store is new, so input addresses of this seed may have been handed out "+
			"already, and would be handed out again. Restore the store from a backup, or recover it from the chain with "+
			"ferry recover; if you know the highest index handed out on every coin, start with --first-index above it", ErrSeedWithoutStore, seedPath)
	}
	if err := d.db.CheckSeed(fp); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", seedPath, err)
	}
	if cfg.FirstIndex > 0 {
		for _, c := range set.coins {
			if err := d.db.SetFirstIndex(c.coin.ID(), uint32(cfg.FirstIndex)); err != nil {
				return nil, nil, err
			}
		}
	}
	// The callback signing key: merchants check X-Ferry-Signature with
	// the text of this file.
	keyPath := filepath.Join(cfg.DataDir, "callback.key")
	cbKey, created, err = store.LoadSecret(keyPath, 32)
	if err != nil {
		return nil, nil, err
	}
	if created {
		d.log.Info().Str("path", keyPath).Msg("created the callback signing key: give its text to the shops that check X-Ferry-Signature")
	}

	return seed, cbKey, nil
}

// build makes the notifier, the engine over coins, the invoice engine and
// the API server, each reporting to the metrics if asked for; cbKey signs
// callbacks and invoice notifications.
func (d *daemon) build(ctx context.Context, set *settings, coins []relay.Coin, cbKey []byte, lns *listeners) (*api.Server, error) {
	cfg := d.cfg
	var err error
	dialer := &torproxy.Dialer{Guard: torproxy.Guard{AllowPrivate: cfg.CallbackAllowPrivate}, AllViaTor: cfg.TorAllCallbacks}
	if cfg.TorSOCKS != "" {
		if dialer.Tor, err = torproxy.NewTor(cfg.TorSOCKS, set.notify.Timeout); err != nil {
			return nil, fmt.Errorf("--tor-socks: %w", err)
		}
	}
	set.notify.Outbound, set.api.Outbound = dialer, dialer
	set.notify.Log = d.log.With().Str("component", "notifier").Logger()
	// Metrics, when asked for: every part reports to one registry.
	var relayMetrics relay.Metrics
	if cfg.MetricsListen != "" {
		d.metrics = metrics.New(clock.System{})
		relayMetrics, set.notify.Metrics, set.api.Metrics = d.metrics, d.metrics, d.metrics
	}
	if d.notifier, err = notify.New(set.notify); err != nil {
		return nil, err
	}
	// The hold policy, which the relay asks about every deposit, before
	// the relay; the relay's events for the invoice engine.
	clk := clock.System{}
	set.holds.Store, set.holds.Ledger, set.holds.Clock, set.holds.Log = d.db, relay.NewLedger(d.db, coins), clk, d.log
	holds, err := invoice.NewHolds(set.holds)
	if err != nil {
		return nil, flagError(err)
	}
	events := make(chan relay.Event, eventBuffer)
	if d.engine, err = relay.New(set.relay, relay.Deps{Store: d.db, Coins: coins, Hosts: dialer, Waker: d.notifier, Releaser: holds, Events: events,
		Metrics: relayMetrics, Log: d.log}); err != nil {
		return nil, err
	}
	signing := []byte(hex.EncodeToString(cbKey))
	d.notifier.Add(relay.NewCallbackQueues(set.relay, d.db, coins, signing, relayMetrics, d.log)...)

	// Invoices: the price source, the vendors' email, the engine.
	inv := set.invoice
	inv.Network, inv.Relay, inv.Store, inv.Waker, inv.Clock, inv.Log = set.network, d.engine, d.db, d.notifier, clk, d.log
	inv.Holds, inv.Events = holds, events
	inv.Quoter = rates.NewCache(set.rates, time.Minute, clk)
	// The API's own address, for the links of answers to no request
	// (Coinremitter's notifications show the invoice's page).
	set.api.ListenURL = "http://" + lns.api.Addr().String()
	inv.Announcers = map[string]invoice.Announcer{"fluxcord": api.FluxcordEvents{}, "payscrypt": api.PayscryptEvents{},
		"openapi":      api.OpenAPIEvents{ZeroConf: set.api.ZeroConf, Clock: clk},
		"coinremitter": api.CoinremitterEvents{Base: api.OwnBase(set.api.PublicURL, set.api.ListenURL)}}
	if set.mail != nil {
		sender, err := mail.NewSender(*set.mail, clk)
		if err != nil {
			return nil, err
		}
		if d.mailer, err = mail.NewMailer(mail.MailerConfig{Sender: sender, Store: d.db, Clock: clk, Log: d.log}); err != nil {
			return nil, err
		}
		inv.Mailer = d.mailer
	}
	if d.invoices, err = invoice.New(inv); err != nil {
		return nil, flagError(err)
	}
	d.notifier.Add(d.invoices.Queues()...)
	pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
	d.engine.Prepare(pctx)
	pcancel()

	set.api.Log = d.log
	if d.onion != nil {
		set.api.Onion = d.onion
	}
	return api.New(set.api, d.engine, d.invoices), nil
}

// serve puts the API and the metrics, the gRPC API, the operator's socket
// and the onion service, as configured, on their listeners (run serves
// them), and publishes the onion service.
func (d *daemon) serve(ctx context.Context, server *api.Server, coins []relay.Coin, lns *listeners) error {
	cfg := d.cfg
	// The API, and the API as an onion service, each on a listener of its
	// own (the onion's clients share one rate limit).
	d.servers = append(d.servers, &httpServer{ln: lns.api, srv: newHTTPServer(server.Handler())})
	if lns.metrics != nil {
		for _, c := range coins {
			id := c.Chain.ID()
			d.metrics.Coin(id, func() int { return d.engine.Watched(id) })
		}
		for _, q := range d.queueNames(coins) {
			d.metrics.QueueDepth(q, 15*time.Second, func() (int, error) { return d.db.QueuedCallbacks(q) })
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", d.metrics.Handler())
		d.servers = append(d.servers, &httpServer{ln: lns.metrics, srv: newHTTPServer(mux)})
		d.log.Info().Str("listen", lns.metrics.Addr().String()).Msg("metrics listening")
	}
	if lns.grpc != nil {
		d.servers = append(d.servers, &httpServer{ln: lns.grpc, srv: grpcServable{server.GRPCServer()}})
		d.grpcAddr = lns.grpc.Addr()
		d.log.Info().Str("listen", lns.grpc.Addr().String()).Msg("gRPC API (Payscrypt) listening")
	}
	d.servers = append(d.servers, &httpServer{ln: lns.admin, srv: newHTTPServer(api.AdminHandler(d.invoices.Admin(), d.log))})
	if lns.onion != nil {
		d.servers = append(d.servers, &httpServer{ln: lns.onion, srv: newHTTPServer(server.OnionHandler())})
		if err := publishOnion(ctx, d.onion, d.log); err != nil {
			return fmt.Errorf("--tor-control %s: %w", cfg.TorControl, err)
		}
		d.log.Info().Str("onion", "http://"+d.onion.Address()+portSuffix(cfg.TorOnionPort)).Str("target", lns.onion.Addr().String()).
			Msg("API published as an onion service")
	}
	return nil
}
