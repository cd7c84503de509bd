package main

import (
	"errors"
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

// settings checks c and returns its settings, step by step: the first
// value refused stops it.
func (c Config) settings() (*settings, error) {
	s := &settings{}
	for _, step := range []func(*settings) error{
		c.relaySettings,
		c.invoiceSettings,
		c.apiSettings,
		c.checkOperations,
		c.coinSettings,
	} {
		if err := step(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// relaySettings checks the relay's flags: the network, the service fees,
// confirmations and expiry, the first index.
func (c Config) relaySettings(s *settings) error {
	s.relay = relay.DefaultConfig()
	var err error
	if s.network, err = chain.ParseNetwork(c.Network); err != nil {
		return fmt.Errorf("--network: %w", err)
	}
	if s.relay.FeePercent, err = ferry.ParseFraction(c.FeePercent); err != nil {
		return fmt.Errorf("--fee-percent: %w", err)
	}
	if c.RefundFeePercent != "" {
		f, err := ferry.ParseFraction(c.RefundFeePercent)
		if err != nil {
			return fmt.Errorf("--refund-fee-percent: %w", err)
		}
		s.relay.RefundFeePercent = &f
	}
	s.relay.ForwardConfirmations = c.ForwardConfirmations
	s.relay.FeeTarget = c.FeeTarget
	s.relay.AddressExpiry = c.AddressExpiry
	s.relay.ExpiryGrace = c.ExpiryGrace
	s.relay.MaxCallbackConfirmations = c.MaxCallbackConfs
	if err := s.relay.Validate(); err != nil {
		return flagError(err)
	}
	if c.FirstIndex >= 1<<31 {
		return fmt.Errorf("--first-index: must be below 2^31, not %d", c.FirstIndex)
	}
	return nil
}

// apiSettings checks the merchant APIs' flags: rate limits, sessions,
// zero-confirmation limits, the public URL.
func (c Config) apiSettings(s *settings) error {
	s.api, s.notify = api.DefaultConfig(), notify.DefaultConfig()
	if c.RateLimit < 0 {
		return fmt.Errorf("--rate-limit: must not be negative")
	}
	if c.PageRateLimit < 0 {
		return fmt.Errorf("--page-rate-limit: must not be negative")
	}
	s.api.RateLimit, s.api.PageRateLimit, s.api.ClientIPHeader = c.RateLimit, c.PageRateLimit, c.RateLimitHeader
	s.api.Confirmations, s.api.Network = c.ForwardConfirmations, c.Network
	if c.SessionExpiry < 10*time.Second || c.AddressExpiry != 0 && c.SessionExpiry > c.AddressExpiry {
		return fmt.Errorf("--session-expiry: must be from 10s to --address-expiry (%v), not %v", c.AddressExpiry, c.SessionExpiry)
	}
	s.api.SessionExpiry, s.api.InvoiceExpiry = c.SessionExpiry, c.InvoiceExpiry
	s.api.ZeroConf = map[string]ferry.Amount{}
	for _, z := range []struct{ flag, coin, v string }{{"--zero-conf-ltc", "ltc", c.ZeroConfLTC}, {"--zero-conf-btc", "btc", c.ZeroConfBTC}} {
		sat, err := ferry.ParseAmount(z.v)
		if err != nil {
			return fmt.Errorf("%s: want an amount of %s with at most 8 decimals, not %q", z.flag, strings.ToUpper(z.coin), z.v)
		}
		s.api.ZeroConf[z.coin] = sat
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return errors.New("--public-url: want http(s)://host[:port][/path]")
		}
		s.api.PublicURL = c.PublicURL
	}
	return nil
}

// checkOperations checks the operator's flags: metrics, Tor, logging.
func (c Config) checkOperations(*settings) error {
	if c.MetricsListen != "" && c.MetricsListen == c.Listen {
		return errors.New("--metrics-listen: must not be the API's address (--listen): metrics are for the operator")
	}
	if c.TorAllCallbacks && c.TorSOCKS == "" {
		return errors.New("--tor-all-callbacks needs --tor-socks")
	}
	if c.TorControl != "" && (c.TorOnionPort < 1 || c.TorOnionPort > 65535) {
		return errors.New("--tor-onion-port must be a port number")
	}
	_, err := newLogger(c, io.Discard)
	return err
}

// coinSettings checks the flags of every coin turned on, at least one.
func (c Config) coinSettings(s *settings) error {
	for _, f := range []coinFlags{
		{rpc: c.LTCRPC, p2p: c.LTCP2P, feeAddress: c.LTCFeeAddress, min: c.MinLTC, fallback: c.LTCFallbackFee, prefix: "ltc", mk: chain.Litecoin},
		{rpc: c.BTCRPC, rpcCert: c.BTCRPCCert, p2p: c.BTCP2P, feeAddress: c.BTCFeeAddress, min: c.MinBTC, fallback: c.BTCFallbackFee, prefix: "btc", mk: chain.Bitcoin},
	} {
		if f.rpc == "" {
			continue
		}
		cs, err := parseCoin(f, s.network)
		if err != nil {
			return err
		}
		s.coins = append(s.coins, cs)
	}
	if len(s.coins) == 0 {
		return errors.New("no coin is enabled: set --ltc-rpc, --btc-rpc or both")
	}
	return nil
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
