package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// flagOutput receives the usage text of -h.
var flagOutput io.Writer = os.Stderr

// Config is ferry's configuration, from flags and FERRY_* variables.
type Config struct {
	Listen               string
	DataDir              string
	Network              string
	LTCRPC               string
	LTCFeeAddress        string
	MinLTC               string
	LTCFallbackFee       int64 // sat/vB
	BTCRPC               string
	BTCRPCCert           string
	BTCFeeAddress        string
	MinBTC               string
	BTCFallbackFee       int64 // sat/vB
	FeePercent           string
	ForwardConfirmations int64
	FeeTarget            int
	AddressExpiry        time.Duration
	MaxCallbackConfs     int64
	CallbackAllowPrivate bool
	RateLimit            int
	RateLimitHeader      string
	TorSOCKS             string
	TorAllCallbacks      bool
	TorControl           string
	TorPassword          string
	TorCookie            string
	TorOnionPort         int
	TorOnionListen       string
	TorOnionTarget       string
	LogFormat            string
	LogLevel             string
}

// DefaultConfig returns the defaults of every flag.
func DefaultConfig() Config {
	return Config{
		Listen:               "127.0.0.1:8080",
		DataDir:              "./ferry-data",
		Network:              "mainnet",
		MinLTC:               "0.010",
		LTCFallbackFee:       10,
		MinBTC:               "0.0010",
		BTCFallbackFee:       20,
		FeePercent:           "0.01",
		ForwardConfirmations: 1,
		FeeTarget:            3,
		AddressExpiry:        720 * time.Hour,
		MaxCallbackConfs:     100,
		RateLimit:            100,
		TorOnionPort:         80,
		TorOnionListen:       "127.0.0.1:0",
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
	fs.StringVar(&c.LTCFeeAddress, "ltc-fee-address", c.LTCFeeAddress, "where the Litecoin service fee goes; required when Litecoin is on")
	fs.StringVar(&c.MinLTC, "min-ltc", c.MinLTC, "smaller Litecoin deposits are donations")
	fs.Int64Var(&c.LTCFallbackFee, "ltc-fallback-fee", c.LTCFallbackFee, "Litecoin fee rate in sat/vB when the node has no estimate")
	fs.StringVar(&c.BTCRPC, "btc-rpc", c.BTCRPC, "http(s)://user:pass@host:port of bitcoind or btcd; empty turns Bitcoin off")
	fs.StringVar(&c.BTCRPCCert, "btc-rpc-cert", c.BTCRPCCert, "PEM certificate to trust for an https --btc-rpc (btcd's rpc.cert)")
	fs.StringVar(&c.BTCFeeAddress, "btc-fee-address", c.BTCFeeAddress, "where the Bitcoin service fee goes; required when Bitcoin is on")
	fs.StringVar(&c.MinBTC, "min-btc", c.MinBTC, "smaller Bitcoin deposits are donations")
	fs.Int64Var(&c.BTCFallbackFee, "btc-fallback-fee", c.BTCFallbackFee, "Bitcoin fee rate in sat/vB when the node has no estimate (btcd never has one)")
	fs.StringVar(&c.FeePercent, "fee-percent", c.FeePercent, "service fee, a fraction of each deposit")
	fs.Int64Var(&c.ForwardConfirmations, "forward-confirmations", c.ForwardConfirmations, "confirmations before forwarding")
	fs.IntVar(&c.FeeTarget, "fee-target", c.FeeTarget, "confirmation target in blocks for the network fee estimate")
	fs.DurationVar(&c.AddressExpiry, "address-expiry", c.AddressExpiry, "idle time after which an input address stops being watched (0: never)")
	fs.Int64Var(&c.MaxCallbackConfs, "max-callback-confirmations", c.MaxCallbackConfs, "confirmations after which an unacknowledged callback is no longer sent")
	fs.BoolVar(&c.CallbackAllowPrivate, "callback-allow-private", c.CallbackAllowPrivate, "let callbacks reach loopback, private and link-local addresses")
	fs.IntVar(&c.RateLimit, "rate-limit", c.RateLimit, "API requests per minute per client IP (0: no limit)")
	fs.StringVar(&c.RateLimitHeader, "rate-limit-header", c.RateLimitHeader, "header with the client IP set by a reverse proxy (e.g. X-Real-IP); empty: the connection's address")
	fs.StringVar(&c.TorSOCKS, "tor-socks", c.TorSOCKS, "host:port of Tor's SOCKS5 port: callbacks to .onion hosts go through it")
	fs.BoolVar(&c.TorAllCallbacks, "tor-all-callbacks", c.TorAllCallbacks, "send every callback through Tor (needs --tor-socks)")
	fs.StringVar(&c.TorControl, "tor-control", c.TorControl, "host:port of Tor's control port: publish the API as an onion service")
	fs.StringVar(&c.TorPassword, "tor-password", c.TorPassword, "Tor control port password (HashedControlPassword); empty: cookie authentication")
	fs.StringVar(&c.TorCookie, "tor-cookie", c.TorCookie, "path of Tor's control_auth_cookie, if not where Tor says (another container)")
	fs.IntVar(&c.TorOnionPort, "tor-onion-port", c.TorOnionPort, "the onion service's virtual port")
	fs.StringVar(&c.TorOnionListen, "tor-onion-listen", c.TorOnionListen, "address of the API listener that onion connections arrive on (port 0: any free port)")
	fs.StringVar(&c.TorOnionTarget, "tor-onion-target", c.TorOnionTarget, "host:port Tor forwards onion connections to; empty: the onion listener's address (127.0.0.1 if it listens on all addresses)")
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
	fs := c.flagSet(io.Discard)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			c.flagSet(flagOutput).PrintDefaults()
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
