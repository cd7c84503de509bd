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
	server, err := d.build(ctx, set, coins, cbKey)
	if err != nil {
		return d, err
	}
	return d, d.listen(ctx, server, coins)
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
func (d *daemon) build(ctx context.Context, set *settings, coins []relay.Coin, cbKey []byte) (*api.Server, error) {
	cfg := d.cfg
	var err error
	dialer := &torproxy.Dialer{Guard: torproxy.Guard{AllowPrivate: cfg.CallbackAllowPrivate}, AllViaTor: cfg.TorAllCallbacks}
	if cfg.TorSOCKS != "" {
		if dialer.Tor, err = torproxy.NewTor(cfg.TorSOCKS, set.notify.Timeout); err != nil {
			return nil, fmt.Errorf("--tor-socks: %w", err)
		}
	}
	set.notify.Outbound = dialer
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
	// Coinremitter's notifications show the invoice: the engine's ledger,
	// and the server's links, both set below before anything runs.
	coinremitter := &api.CoinremitterEvents{}
	inv.Announcers = map[string]invoice.Announcer{"fluxcord": api.FluxcordEvents{}, "payscrypt": api.PayscryptEvents{},
		"openapi": api.OpenAPIEvents{ZeroConf: set.api.ZeroConf, Clock: clk}, "coinremitter": coinremitter}
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
	coinremitter.Ledger = d.invoices
	d.notifier.Add(d.invoices.Queues()...)
	pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
	d.engine.Prepare(pctx)
	pcancel()

	set.api.Log = d.log
	server := api.New(set.api, d.engine, d.invoices)
	coinremitter.Base = server.BaseURL
	return server, nil
}

// listen serves server's API, and the metrics, the gRPC API, the
// operator's socket and the onion service as configured, on listeners of
// their own.
func (d *daemon) listen(ctx context.Context, server *api.Server, coins []relay.Coin) error {
	cfg := d.cfg
	// The API, and the API as an onion service, on a listener of its own
	// (its clients share one rate limit), with a key kept in the data
	// directory so that its address stays the same.
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	d.servers = append(d.servers, &httpServer{ln: ln, srv: newHTTPServer(server.Handler())})
	server.SetListenURL("http://" + ln.Addr().String())
	if d.metrics != nil {
		mln, err := net.Listen("tcp", cfg.MetricsListen)
		if err != nil {
			return fmt.Errorf("--metrics-listen: %w", err)
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
		d.log.Info().Str("listen", mln.Addr().String()).Msg("metrics listening")
	}
	if cfg.GRPCListen != "" {
		gln, err := net.Listen("tcp", cfg.GRPCListen)
		if err != nil {
			return fmt.Errorf("--grpc-listen: %w", err)
		}
		d.servers = append(d.servers, &httpServer{ln: gln, srv: grpcServable{server.GRPCServer()}})
		d.grpcAddr = gln.Addr()
		d.log.Info().Str("listen", gln.Addr().String()).Msg("gRPC API (Payscrypt) listening")
	}
	// The operator's API, on a socket only the data directory's owner
	// reaches: ferry vendor talks to it while the daemon holds the store.
	aln, err := listenAdmin(cfg.DataDir)
	if err != nil {
		return err
	}
	d.servers = append(d.servers, &httpServer{ln: aln, srv: newHTTPServer(api.AdminHandler(d.invoices.Admin(), d.log))})
	if cfg.TorControl != "" {
		oln, err := net.Listen("tcp", cfg.TorOnionListen)
		if err != nil {
			return fmt.Errorf("--tor-onion-listen: %w", err)
		}
		d.servers = append(d.servers, &httpServer{ln: oln, srv: newHTTPServer(server.OnionHandler())})
		if d.onion, err = publishOnion(ctx, cfg, oln.Addr(), d.log); err != nil {
			return err
		}
		server.SetOnion(d.onion)
		d.log.Info().Str("onion", "http://"+d.onion.Address()+portSuffix(cfg.TorOnionPort)).Str("target", oln.Addr().String()).Msg("API published as an onion service")
	}
	return nil
}
