package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/api"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/mail"
	"github.com/ferry-relay/ferry/notify"
	"github.com/ferry-relay/ferry/rates"
	"github.com/ferry-relay/ferry/relay"
)

// flagOutput receives the usage text of -h.
var flagOutput io.Writer = os.Stderr

// Config is ferry's configuration, from flags and FERRY_* variables. Its
// defaults are those of the packages that use each value (relay, api,
// notify); DefaultConfig only reads them.
type Config struct {
	Listen               string
	DataDir              string
	Network              string
	LTCRPC               string
	LTCP2P               string
	LTCFeeAddress        string
	MinLTC               string
	LTCFallbackFee       int64 // sat/vB
	BTCRPC               string
	BTCRPCCert           string
	BTCP2P               string
	BTCFeeAddress        string
	MinBTC               string
	BTCFallbackFee       int64 // sat/vB
	FeePercent           string
	RefundFeePercent     string
	ForwardConfirmations int64
	FeeTarget            int
	AddressExpiry        time.Duration
	ExpiryGrace          time.Duration
	FirstIndex           uint
	MaxCallbackConfs     int64
	CallbackAllowPrivate bool
	RateLimit            int
	PageRateLimit        int
	RateLimitHeader      string
	TorSOCKS             string
	TorAllCallbacks      bool
	TorControl           string
	TorPassword          string
	TorCookie            string
	TorOnionPort         int
	TorOnionListen       string
	TorOnionTarget       string
	FiatRates            string
	FiatRatesURL         string
	QuoteValidity        time.Duration
	InvoiceExpiry        time.Duration
	HoldExpiry           time.Duration
	MaxOpenInvoices      int
	SMTPURL              string
	SMTPFrom             string
	PublicURL            string
	SessionExpiry        time.Duration
	ZeroConfLTC          string
	ZeroConfBTC          string
	GRPCListen           string
	MetricsListen        string
	LogFormat            string
	LogLevel             string
}

// DefaultConfig returns the defaults of every flag.
func DefaultConfig() Config {
	r := relay.DefaultConfig()
	a := api.DefaultConfig()
	inv, holds := invoice.DefaultConfig(), invoice.DefaultHoldsConfig()
	return Config{
		Listen:               "127.0.0.1:8080",
		DataDir:              "./ferry-data",
		Network:              "mainnet",
		MinLTC:               "0.010",
		LTCFallbackFee:       10,
		MinBTC:               "0.0010",
		BTCFallbackFee:       20,
		FeePercent:           r.FeePercent.String(),
		ForwardConfirmations: r.ForwardConfirmations,
		FeeTarget:            r.FeeTarget,
		AddressExpiry:        r.AddressExpiry,
		ExpiryGrace:          r.ExpiryGrace,
		MaxCallbackConfs:     r.MaxCallbackConfirmations,
		RateLimit:            a.RateLimit,
		PageRateLimit:        a.PageRateLimit,
		TorOnionPort:         80,
		TorOnionListen:       "127.0.0.1:0",
		FiatRates:            "coingecko",
		QuoteValidity:        inv.QuoteValidity,
		InvoiceExpiry:        inv.Expiry,
		HoldExpiry:           holds.HoldExpiry,
		MaxOpenInvoices:      inv.MaxOpen,
		SessionExpiry:        a.SessionExpiry,
		ZeroConfLTC:          ferry.Amount(a.ZeroConf["ltc"]).Short(),
		ZeroConfBTC:          ferry.Amount(a.ZeroConf["btc"]).Short(),
		LogFormat:            "json",
		LogLevel:             "info",
	}
}

// flagSet declares the flags over c.
func (c *Config) flagSet(out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("ferry", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.Listen, "listen", c.Listen, "HTTP API address")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "store, seed, keys")
	fs.StringVar(&c.Network, "network", c.Network, "mainnet, testnet or regtest")
	fs.StringVar(&c.LTCRPC, "ltc-rpc", c.LTCRPC, "http://user:pass@host:port of litecoind; empty turns Litecoin off")
	fs.StringVar(&c.LTCP2P, "ltc-p2p", c.LTCP2P, "host:port of litecoind's peer-to-peer port, where ferry sees unconfirmed payments; empty: the RPC host and the network's port")
	fs.StringVar(&c.LTCFeeAddress, "ltc-fee-address", c.LTCFeeAddress, "where the Litecoin service fee goes; required when Litecoin is on")
	fs.StringVar(&c.MinLTC, "min-ltc", c.MinLTC, "smaller Litecoin deposits are donations")
	fs.Int64Var(&c.LTCFallbackFee, "ltc-fallback-fee", c.LTCFallbackFee, "Litecoin fee rate in sat/vB when the node has no estimate")
	fs.StringVar(&c.BTCRPC, "btc-rpc", c.BTCRPC, "http(s)://user:pass@host:port of bitcoind or btcd; empty turns Bitcoin off")
	fs.StringVar(&c.BTCRPCCert, "btc-rpc-cert", c.BTCRPCCert, "PEM certificate to trust for an https --btc-rpc (btcd's rpc.cert)")
	fs.StringVar(&c.BTCP2P, "btc-p2p", c.BTCP2P, "host:port of the Bitcoin node's peer-to-peer port; empty: the RPC host and the network's port")
	fs.StringVar(&c.BTCFeeAddress, "btc-fee-address", c.BTCFeeAddress, "where the Bitcoin service fee goes; required when Bitcoin is on")
	fs.StringVar(&c.MinBTC, "min-btc", c.MinBTC, "smaller Bitcoin deposits are donations")
	fs.Int64Var(&c.BTCFallbackFee, "btc-fallback-fee", c.BTCFallbackFee, "Bitcoin fee rate in sat/vB when the node has no estimate (btcd never has one)")
	fs.StringVar(&c.FeePercent, "fee-percent", c.FeePercent, "service fee, a fraction of each deposit")
	fs.StringVar(&c.RefundFeePercent, "refund-fee-percent", c.RefundFeePercent, "service fee of a refund (a held payment sent back), a fraction of it; empty: --fee-percent; 0 lets vendors move held payments anywhere fee-free")
	fs.Int64Var(&c.ForwardConfirmations, "forward-confirmations", c.ForwardConfirmations, "confirmations before forwarding")
	fs.IntVar(&c.FeeTarget, "fee-target", c.FeeTarget, "confirmation target in blocks for the network fee estimate")
	fs.DurationVar(&c.AddressExpiry, "address-expiry", c.AddressExpiry, "idle time after which an input address expires (0: never)")
	fs.DurationVar(&c.ExpiryGrace, "expiry-grace", c.ExpiryGrace, "how much longer an expired address is watched, for payments made before it expired")
	fs.UintVar(&c.FirstIndex, "first-index", c.FirstIndex, "hand out no input address below this index (a data directory rebuilt around its seed)")
	fs.Int64Var(&c.MaxCallbackConfs, "max-callback-confirmations", c.MaxCallbackConfs, "confirmations after which an unacknowledged callback is no longer sent")
	fs.BoolVar(&c.CallbackAllowPrivate, "callback-allow-private", c.CallbackAllowPrivate, "let callbacks reach loopback, private and link-local addresses")
	fs.IntVar(&c.RateLimit, "rate-limit", c.RateLimit, "API requests per minute per client IP (0: no limit)")
	fs.IntVar(&c.PageRateLimit, "page-rate-limit", c.PageRateLimit, "invoice page and page status requests per minute per client IP, a budget apart from --rate-limit (0: no limit)")
	fs.StringVar(&c.RateLimitHeader, "rate-limit-header", c.RateLimitHeader, "header with the client IP set by a reverse proxy (e.g. X-Real-IP); empty: the connection's address")
	fs.StringVar(&c.TorSOCKS, "tor-socks", c.TorSOCKS, "host:port of Tor's SOCKS5 port: callbacks to .onion hosts go through it")
	fs.BoolVar(&c.TorAllCallbacks, "tor-all-callbacks", c.TorAllCallbacks, "send every callback through Tor (needs --tor-socks)")
	fs.StringVar(&c.TorControl, "tor-control", c.TorControl, "host:port of Tor's control port: publish the API as an onion service")
	fs.StringVar(&c.TorPassword, "tor-password", c.TorPassword, "Tor control port password (HashedControlPassword); empty: cookie authentication")
	fs.StringVar(&c.TorCookie, "tor-cookie", c.TorCookie, "path of Tor's control_auth_cookie, if not where Tor says (another container)")
	fs.IntVar(&c.TorOnionPort, "tor-onion-port", c.TorOnionPort, "the onion service's virtual port")
	fs.StringVar(&c.TorOnionListen, "tor-onion-listen", c.TorOnionListen, "address of the API listener that onion connections arrive on (port 0: any free port)")
	fs.StringVar(&c.TorOnionTarget, "tor-onion-target", c.TorOnionTarget, "host:port Tor forwards onion connections to; empty: the onion listener's address (127.0.0.1 if it listens on all addresses)")
	fs.StringVar(&c.FiatRates, "fiat-rates", c.FiatRates, "where fiat prices come from: coingecko, kraken, or static:LTC/USD=80,BTC/USD=90000")
	fs.StringVar(&c.FiatRatesURL, "fiat-rates-url", c.FiatRatesURL, "base URL of the price API instead of its own (a mirror, a proxy)")
	fs.DurationVar(&c.QuoteValidity, "quote-validity", c.QuoteValidity, "how long a fiat invoice's quote in a coin holds")
	fs.DurationVar(&c.InvoiceExpiry, "invoice-expiry", c.InvoiceExpiry, "how long an invoice stays payable")
	fs.DurationVar(&c.HoldExpiry, "hold-expiry", c.HoldExpiry, "how long a payment an invoice holds waits for the vendor to accept or refund it before it is forwarded")
	fs.IntVar(&c.MaxOpenInvoices, "max-open-invoices", c.MaxOpenInvoices, "the most unpaid open invoices (orders, payment sessions) a vendor may have at once; one stays open until it expires (0: no limit)")
	fs.StringVar(&c.SMTPURL, "smtp-url", c.SMTPURL, "smtp://user:pass@host:port (STARTTLS when offered) or smtps://… to email vendors; empty: no email")
	fs.StringVar(&c.SMTPFrom, "smtp-from", c.SMTPFrom, "the address vendors' email comes from")
	fs.StringVar(&c.PublicURL, "public-url", c.PublicURL, "ferry's address as customers reach it (https://pay.example), for the links it hands out; empty: the request's host")
	fs.DurationVar(&c.SessionExpiry, "session-expiry", c.SessionExpiry, "how long a Fluxcord payment session or an Open API payment stays payable")
	fs.StringVar(&c.ZeroConfLTC, "zero-conf-ltc", c.ZeroConfLTC, "the largest Open API payment in LTC confirmed unconfirmed when asked (accept_zero_confirmations); 0: none")
	fs.StringVar(&c.ZeroConfBTC, "zero-conf-btc", c.ZeroConfBTC, "the largest Open API payment in BTC confirmed unconfirmed when asked (accept_zero_confirmations); 0: none")
	fs.StringVar(&c.GRPCListen, "grpc-listen", c.GRPCListen, "address of the gRPC API (Payscrypt's PaymentGateway); empty: off")
	fs.StringVar(&c.MetricsListen, "metrics-listen", c.MetricsListen, "address of /metrics (Prometheus); empty: off. Never the API's address")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "json or console")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")
	return fs
}

// EnvName returns the environment variable of a flag: FERRY_ and the flag's
// name in upper case with dashes as underscores.
func EnvName(flagName string) string {
	return "FERRY_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// ParseFlags sets c from args, and from getenv for every flag args leave
// out.
func (c *Config) ParseFlags(args []string, getenv func(string) string) error {
	return parseFlags(c.flagSet(io.Discard), args, getenv)
}

// parseFlags parses args into fs, then sets every flag args leave out from
// its variable (see EnvName). -h prints fs's flags to flagOutput.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fs.SetOutput(flagOutput)
			fs.PrintDefaults()
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		if v := getenv(EnvName(f.Name)); v != "" {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %w", EnvName(f.Name), e)
			}
		}
	})
	return err
}

// fieldFlags names the flag of each configuration field of the relay and
// invoice engines, for errors.
var fieldFlags = map[string]string{
	"ForwardConfirmations":     "--forward-confirmations",
	"FeeTarget":                "--fee-target",
	"AddressExpiry":            "--address-expiry",
	"ExpiryGrace":              "--expiry-grace",
	"MaxCallbackConfirmations": "--max-callback-confirmations",
	"QuoteValidity":            "--quote-validity",
	"Expiry":                   "--invoice-expiry",
	"HoldExpiry":               "--hold-expiry",
	"MaxOpen":                  "--max-open-invoices",
}

// flagError names the flag of a configuration field's error.
func flagError(err error) error {
	var fe *relay.FieldError
	if errors.As(err, &fe) && fieldFlags[fe.Field] != "" {
		return fmt.Errorf("%s: %w", fieldFlags[fe.Field], fe.Err)
	}
	return err
}

// settings is a configuration checked and turned into the values the
// packages take, without touching disk or network.
type settings struct {
	network chain.Network
	relay   relay.Config
	api     api.Config
	notify  notify.Config
	invoice invoice.Config
	holds   invoice.HoldsConfig
	rates   rates.Source
	mail    *mail.Config
	coins   []coinSetup
}

// Validate checks the whole configuration, without touching disk or
// network, and names the flag of the first value it refuses.
func (c Config) Validate() error {
	_, err := c.settings()
	return err
}

// settings checks c and returns its settings.
func (c Config) settings() (*settings, error) {
	s := &settings{relay: relay.DefaultConfig(), api: api.DefaultConfig(), notify: notify.DefaultConfig()}
	var err error
	if s.network, err = chain.ParseNetwork(c.Network); err != nil {
		return nil, fmt.Errorf("--network: %w", err)
	}
	if s.relay.FeePercent, err = ferry.ParseFraction(c.FeePercent); err != nil {
		return nil, fmt.Errorf("--fee-percent: %w", err)
	}
	if c.RefundFeePercent != "" {
		f, err := ferry.ParseFraction(c.RefundFeePercent)
		if err != nil {
			return nil, fmt.Errorf("--refund-fee-percent: %w", err)
		}
		s.relay.RefundFeePercent = &f
	}
	s.relay.ForwardConfirmations = c.ForwardConfirmations
	s.relay.FeeTarget = c.FeeTarget
	s.relay.AddressExpiry = c.AddressExpiry
	s.relay.ExpiryGrace = c.ExpiryGrace
	s.relay.MaxCallbackConfirmations = c.MaxCallbackConfs
	if err := s.relay.Validate(); err != nil {
		return nil, flagError(err)
	}
	if err := c.invoiceSettings(s); err != nil {
		return nil, err
	}
	if c.FirstIndex >= 1<<31 {
		return nil, fmt.Errorf("--first-index: must be below 2^31, not %d", c.FirstIndex)
	}
	if c.RateLimit < 0 {
		return nil, fmt.Errorf("--rate-limit: must not be negative")
	}
	if c.PageRateLimit < 0 {
		return nil, fmt.Errorf("--page-rate-limit: must not be negative")
	}
	s.api.RateLimit, s.api.PageRateLimit, s.api.ClientIPHeader = c.RateLimit, c.PageRateLimit, c.RateLimitHeader
	s.api.Confirmations, s.api.Network = c.ForwardConfirmations, c.Network
	if c.SessionExpiry < 10*time.Second || c.AddressExpiry != 0 && c.SessionExpiry > c.AddressExpiry {
		return nil, fmt.Errorf("--session-expiry: must be from 10s to --address-expiry (%v), not %v", c.AddressExpiry, c.SessionExpiry)
	}
	s.api.SessionExpiry, s.api.InvoiceExpiry = c.SessionExpiry, c.InvoiceExpiry
	s.api.ZeroConf = map[string]ferry.Amount{}
	for _, z := range []struct{ flag, coin, v string }{{"--zero-conf-ltc", "ltc", c.ZeroConfLTC}, {"--zero-conf-btc", "btc", c.ZeroConfBTC}} {
		sat, err := ferry.ParseAmount(z.v)
		if err != nil {
			return nil, fmt.Errorf("%s: want an amount of %s with at most 8 decimals, not %q", z.flag, strings.ToUpper(z.coin), z.v)
		}
		s.api.ZeroConf[z.coin] = sat
	}
	if c.MetricsListen != "" && c.MetricsListen == c.Listen {
		return nil, errors.New("--metrics-listen: must not be the API's address (--listen): metrics are for the operator")
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, errors.New("--public-url: want http(s)://host[:port][/path]")
		}
		s.api.PublicURL = c.PublicURL
	}
	if c.TorAllCallbacks && c.TorSOCKS == "" {
		return nil, errors.New("--tor-all-callbacks needs --tor-socks")
	}
	if c.TorControl != "" && (c.TorOnionPort < 1 || c.TorOnionPort > 65535) {
		return nil, errors.New("--tor-onion-port must be a port number")
	}
	if _, err := newLogger(c, io.Discard); err != nil {
		return nil, err
	}
	for _, f := range []coinFlags{
		{rpc: c.LTCRPC, p2p: c.LTCP2P, feeAddress: c.LTCFeeAddress, min: c.MinLTC, fallback: c.LTCFallbackFee, prefix: "ltc", mk: chain.Litecoin},
		{rpc: c.BTCRPC, rpcCert: c.BTCRPCCert, p2p: c.BTCP2P, feeAddress: c.BTCFeeAddress, min: c.MinBTC, fallback: c.BTCFallbackFee, prefix: "btc", mk: chain.Bitcoin},
	} {
		if f.rpc == "" {
			continue
		}
		cs, err := parseCoin(f, s.network)
		if err != nil {
			return nil, err
		}
		s.coins = append(s.coins, cs)
	}
	if len(s.coins) == 0 {
		return nil, errors.New("no coin is enabled: set --ltc-rpc, --btc-rpc or both")
	}
	return s, nil
}

// invoiceSettings checks the invoice engine's flags: the price source,
// the quote and the expiry, the SMTP server.
func (c Config) invoiceSettings(s *settings) error {
	s.invoice, s.holds = invoice.DefaultConfig(), invoice.DefaultHoldsConfig()
	s.invoice.QuoteValidity, s.invoice.Expiry, s.holds.HoldExpiry = c.QuoteValidity, c.InvoiceExpiry, c.HoldExpiry
	if c.MaxOpenInvoices < 0 {
		return flagError(&relay.FieldError{Field: "MaxOpen", Err: fmt.Errorf("must not be negative (0: no limit), not %d", c.MaxOpenInvoices)})
	}
	s.invoice.MaxOpen = c.MaxOpenInvoices
	if c.HoldExpiry < time.Minute {
		return flagError(&relay.FieldError{Field: "HoldExpiry", Err: fmt.Errorf("must be at least a minute, not %v", c.HoldExpiry)})
	}
	s.holds.ForwardConfirmations = c.ForwardConfirmations
	if c.QuoteValidity < time.Minute {
		return flagError(&relay.FieldError{Field: "QuoteValidity", Err: fmt.Errorf("must be at least a minute, not %v", c.QuoteValidity)})
	}
	if c.InvoiceExpiry < time.Minute {
		return flagError(&relay.FieldError{Field: "Expiry", Err: fmt.Errorf("must be at least a minute, not %v", c.InvoiceExpiry)})
	}
	// An invoice's address is an input address: it must stay watched for
	// as long as the invoice shows it.
	if c.AddressExpiry != 0 && c.InvoiceExpiry > c.AddressExpiry {
		return flagError(&relay.FieldError{Field: "Expiry", Err: fmt.Errorf(
			"%v is longer than --address-expiry (%v): an invoice's address would stop being watched while the invoice is payable", c.InvoiceExpiry, c.AddressExpiry)})
	}
	var err error
	if c.FiatRatesURL != "" && strings.HasPrefix(c.FiatRates, "static:") {
		return errors.New("--fiat-rates-url: static rates are not fetched from anywhere")
	}
	s.rates, err = rates.New(c.FiatRates, rates.Options{BaseURL: c.FiatRatesURL})
	switch {
	case errors.Is(err, rates.ErrBadBaseURL):
		return fmt.Errorf("--fiat-rates-url: %w", err)
	case err != nil:
		return fmt.Errorf("--fiat-rates: %w", err)
	}
	if c.SMTPURL != "" || c.SMTPFrom != "" {
		m := mail.Config{URL: c.SMTPURL, From: c.SMTPFrom}
		if err := m.Validate(); err != nil {
			// mail names the fields as the flags, without their dashes.
			return errors.New("--" + strings.ReplaceAll(err.Error(), "\n", "; --"))
		}
		s.mail = &m
	}
	return nil
}

// coinFlags are the flags of one coin.
type coinFlags struct {
	rpc, rpcCert, p2p, feeAddress, min string
	fallback                           int64 // sat/vB
	prefix                             string
	mk                                 func(chain.Network) (*chain.Coin, error)
}

// coinSetup is one coin's configuration, checked but not yet running.
type coinSetup struct {
	coin       *chain.Coin
	node       *chain.Node
	p2p        string
	feeDest    chain.Destination
	minDeposit ferry.Amount
	fallback   int64 // sat/kvB
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
	minDeposit, err := ferry.ParseAmount(f.min)
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
	p2p := f.p2p
	if p2p == "" {
		if p2p, err = coin.DefaultP2PAddr(f.rpc); err != nil {
			return coinSetup{}, fmt.Errorf("--%s-p2p: %w", f.prefix, err)
		}
	}
	return coinSetup{coin: coin, node: node, p2p: p2p, feeDest: feeDest, minDeposit: minDeposit, fallback: f.fallback * 1000}, nil
}
