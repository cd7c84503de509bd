package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// flagSet declares ferry's flags over c, in groups; help receives the
// help that --help asks for.
func (c *Config) flagSet(help io.Writer) *flagSet {
	fs := newFlagSet("ferry", help)
	c.declareFlags(fs)
	return fs
}

// The groups of ferry's flags, in the order of the help and of README's
// configuration tables.
const (
	groupNodes      = "Network and nodes"
	groupFees       = "Fees and amounts"
	groupAddresses  = "Addresses and callbacks"
	groupInvoices   = "Invoices and rates"
	groupAPIs       = "Merchant APIs and limits"
	groupTor        = "Tor"
	groupEmail      = "Email"
	groupOperations = "Operations"
)

// declareFlags declares ferry's flags over c on fs, grouped by concern.
func (c *Config) declareFlags(fs *flagSet) {
	g := fs.group(groupNodes)
	g.String(&c.Network, "network", "mainnet, testnet or regtest")
	g.String(&c.LTCRPC, "ltc-rpc", "http://user:pass@host:port of litecoind; empty turns Litecoin off")
	g.String(&c.LTCP2P, "ltc-p2p", "host:port of litecoind's peer-to-peer port, where ferry sees unconfirmed payments; empty: the RPC host and the network's port")
	g.String(&c.BTCRPC, "btc-rpc", "http(s)://user:pass@host:port of bitcoind or btcd; empty turns Bitcoin off")
	g.String(&c.BTCRPCCert, "btc-rpc-cert", "PEM certificate to trust for an https --btc-rpc (btcd's rpc.cert)")
	g.String(&c.BTCP2P, "btc-p2p", "host:port of the Bitcoin node's peer-to-peer port; empty: the RPC host and the network's port")

	g = fs.group(groupFees)
	g.String(&c.LTCFeeAddress, "ltc-fee-address", "where the Litecoin service fee goes; required when Litecoin is on")
	g.String(&c.BTCFeeAddress, "btc-fee-address", "where the Bitcoin service fee goes; required when Bitcoin is on")
	g.String(&c.FeePercent, "fee-percent", "service fee, a fraction of each deposit")
	g.String(&c.RefundFeePercent, "refund-fee-percent", "service fee of a refund (a held payment sent back), a fraction of it; empty: --fee-percent; 0 lets vendors move held payments anywhere fee-free")
	g.String(&c.MinLTC, "min-ltc", "smaller Litecoin deposits are donations")
	g.String(&c.MinBTC, "min-btc", "smaller Bitcoin deposits are donations")
	g.Int64(&c.LTCFallbackFee, "ltc-fallback-fee", "Litecoin fee rate in sat/vB when the node has no estimate")
	g.Int64(&c.BTCFallbackFee, "btc-fallback-fee", "Bitcoin fee rate in sat/vB when the node has no estimate (btcd never has one)")
	g.Int(&c.FeeTarget, "fee-target", "confirmation target in blocks for the network fee estimate")
	g.Int64(&c.ForwardConfirmations, "forward-confirmations", "confirmations before forwarding")

	g = fs.group(groupAddresses)
	g.Duration(&c.AddressExpiry, "address-expiry", "idle time after which an input address expires (0: never)")
	g.Duration(&c.ExpiryGrace, "expiry-grace", "how much longer an expired address is watched, for payments made before it expired")
	g.Uint(&c.FirstIndex, "first-index", "hand out no input address below this index (a data directory rebuilt around its seed)")
	g.Int64(&c.MaxCallbackConfs, "max-callback-confirmations", "confirmations after which an unacknowledged callback is no longer sent")
	g.Bool(&c.CallbackAllowPrivate, "callback-allow-private", "let callbacks reach loopback, private and link-local addresses")

	g = fs.group(groupInvoices)
	g.String(&c.FiatRates, "fiat-rates", "where fiat prices come from: coingecko, kraken, or static:LTC/USD=80,BTC/USD=90000")
	g.String(&c.FiatRatesURL, "fiat-rates-url", "base URL of the price API instead of its own (a mirror, a proxy)")
	g.Duration(&c.QuoteValidity, "quote-validity", "how long a fiat invoice's quote in a coin holds")
	g.Duration(&c.InvoiceExpiry, "invoice-expiry", "how long an invoice stays payable")
	g.Duration(&c.HoldExpiry, "hold-expiry", "how long a payment an invoice holds waits for the vendor to accept or refund it before it is forwarded")
	g.Int(&c.MaxOpenInvoices, "max-open-invoices", "the most unpaid open invoices (orders, payment sessions) a vendor may have at once; one stays open until it expires (0: no limit)")
	g.Duration(&c.SessionExpiry, "session-expiry", "how long a Fluxcord payment session or an Open API payment stays payable")
	g.String(&c.ZeroConfLTC, "zero-conf-ltc", "the largest Open API payment in LTC confirmed unconfirmed when asked (accept_zero_confirmations); 0: none")
	g.String(&c.ZeroConfBTC, "zero-conf-btc", "the largest Open API payment in BTC confirmed unconfirmed when asked (accept_zero_confirmations); 0: none")

	g = fs.group(groupAPIs)
	g.String(&c.Listen, "listen", "HTTP API address")
	g.String(&c.PublicURL, "public-url", "ferry's address as customers reach it (https://pay.example), for the links it hands out; empty: the request's host")
	g.String(&c.GRPCListen, "grpc-listen", "address of the gRPC API (Payscrypt's PaymentGateway); empty: off")
	g.Int(&c.RateLimit, "rate-limit", "API requests per minute per client IP (0: no limit)")
	g.Int(&c.PageRateLimit, "page-rate-limit", "invoice page and page status requests per minute per client IP, a budget apart from --rate-limit (0: no limit)")
	g.String(&c.RateLimitHeader, "rate-limit-header", "header with the client IP set by a reverse proxy (e.g. X-Real-IP); empty: the connection's address")

	g = fs.group(groupTor)
	g.String(&c.TorSOCKS, "tor-socks", "host:port of Tor's SOCKS5 port: callbacks to .onion hosts go through it")
	g.Bool(&c.TorAllCallbacks, "tor-all-callbacks", "send every callback through Tor (needs --tor-socks)")
	g.String(&c.TorControl, "tor-control", "host:port of Tor's control port: publish the API as an onion service")
	g.String(&c.TorPassword, "tor-password", "Tor control port password (HashedControlPassword); empty: cookie authentication")
	g.String(&c.TorCookie, "tor-cookie", "path of Tor's control_auth_cookie, if not where Tor says (another container)")
	g.Int(&c.TorOnionPort, "tor-onion-port", "the onion service's virtual port")
	g.String(&c.TorOnionListen, "tor-onion-listen", "address of the API listener that onion connections arrive on (port 0: any free port)")
	g.String(&c.TorOnionTarget, "tor-onion-target", "host:port Tor forwards onion connections to; empty: the onion listener's address (127.0.0.1 if it listens on all addresses)")

	g = fs.group(groupEmail)
	g.String(&c.SMTPURL, "smtp-url", "smtp://user:pass@host:port (STARTTLS when offered) or smtps://… to email vendors; empty: no email")
	g.String(&c.SMTPFrom, "smtp-from", "the address vendors' email comes from")

	g = fs.group(groupOperations)
	g.String(&c.DataDir, "data-dir", "store, seed, keys")
	g.String(&c.MetricsListen, "metrics-listen", "address of /metrics (Prometheus); empty: off. Never the API's address")
	g.String(&c.LogFormat, "log-format", "json or console")
	g.String(&c.LogLevel, "log-level", "debug, info, warn or error")
}

// EnvName returns the environment variable of a flag: FERRY_ and the flag's
// name in upper case with dashes as underscores.
func EnvName(flagName string) string {
	return "FERRY_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// ParseFlags sets c from args, and from getenv for every flag args leave
// out. -h returns flag.ErrHelp.
func (c *Config) ParseFlags(args []string, getenv func(string) string) error {
	return parseFlags(c.flagSet(io.Discard), args, getenv)
}

// parseFlags parses args into fs, then sets every flag args leave out from
// its variable (see EnvName). -h prints fs's help to fs.help and returns
// flag.ErrHelp.
func parseFlags(fs *flagSet, args []string, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.printHelp(fs.help)
			return err
		}
		return flagParseError(err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return fs.setFromEnv(getenv)
}
