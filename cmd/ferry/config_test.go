package main

import (
	"context"
	"flag"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ferry-relay/ferry/invoice"
)

func TestParseFlags(t *testing.T) {
	env := map[string]string{
		"FERRY_LTC_RPC":               "http://u:p@127.0.0.1:9332",
		"FERRY_LISTEN":                "127.0.0.1:9999",
		"FERRY_FORWARD_CONFIRMATIONS": "3",
		"FERRY_ADDRESS_EXPIRY":        "48h",
	}
	cfg := DefaultConfig()
	if err := cfg.ParseFlags([]string{"--listen", "0.0.0.0:8080", "--network=regtest"}, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "0.0.0.0:8080" {
		t.Errorf("flag did not win over FERRY_LISTEN: %q", cfg.Listen)
	}
	if cfg.LTCRPC != env["FERRY_LTC_RPC"] || cfg.ForwardConfirmations != 3 || cfg.AddressExpiry != 48*time.Hour || cfg.Network != "regtest" {
		t.Errorf("config %+v", cfg)
	}
	if cfg.DataDir != "./ferry-data" || cfg.FeePercent != "0.01" || cfg.MinLTC != "0.010" || cfg.LogFormat != "json" {
		t.Errorf("defaults lost: %+v", cfg)
	}

	bad := DefaultConfig()
	err := bad.ParseFlags(nil, func(k string) string { return map[string]string{"FERRY_FORWARD_CONFIRMATIONS": "many"}[k] })
	if err == nil || !strings.Contains(err.Error(), "FERRY_FORWARD_CONFIRMATIONS") {
		t.Errorf("bad variable: %v", err)
	}
	if err := bad.ParseFlags([]string{"--no-such-flag"}, func(string) string { return "" }); err == nil {
		t.Error("unknown flag accepted")
	}
	if got := EnvName("ltc-fee-address"); got != "FERRY_LTC_FEE_ADDRESS" {
		t.Errorf("EnvName = %q", got)
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	base := func() Config {
		c := DefaultConfig()
		c.DataDir = t.TempDir()
		c.Listen = "127.0.0.1:0"
		c.Network = "regtest"
		c.LTCRPC = "http://u:p@127.0.0.1:1"
		c.LTCFeeAddress = "rltc1qjmxnz78nmc8nq77wuxh25n2es7rzm5c23g5xdr"
		return c
	}
	tests := []struct {
		name string
		mod  func(*Config)
		msg  string
	}{
		{"no coin", func(c *Config) { c.LTCRPC = "" }, "no coin is enabled"},
		{"no fee address", func(c *Config) { c.LTCFeeAddress = "" }, "--ltc-fee-address is required"},
		{"fee address of another network", func(c *Config) { c.LTCFeeAddress = "ltc1qjmxnz78nmc8nq77wuxh25n2es7rzm5c2rkk4wh" }, "litecoin mainnet"},
		{"bad network", func(c *Config) { c.Network = "signet" }, "unknown network"},
		{"bad fee", func(c *Config) { c.FeePercent = "1" }, "--fee-percent"},
		{"bad refund fee", func(c *Config) { c.RefundFeePercent = "0.5%" }, "--refund-fee-percent"},
		{"bad minimum", func(c *Config) { c.MinLTC = "0.0.1" }, "--min-ltc"},
		{"zero confirmations", func(c *Config) { c.ForwardConfirmations = 0 }, "--forward-confirmations: must be at least 1"},
		{"zero fee target", func(c *Config) { c.FeeTarget = 0 }, "--fee-target: must be at least 1 block, not 0"},
		{"forward after the callbacks end", func(c *Config) { c.ForwardConfirmations, c.MaxCallbackConfs = 7, 6 },
			"--forward-confirmations: 7 is above the confirmation limit of callbacks (6)"},
		{"negative grace", func(c *Config) { c.ExpiryGrace = -time.Hour }, "--expiry-grace: must not be negative"},
		{"first index out of range", func(c *Config) { c.FirstIndex = 1 << 31 }, "--first-index: must be below 2^31"},
		{"bad log format", func(c *Config) { c.LogFormat = "xml" }, "--log-format"},
		{"bad rpc url", func(c *Config) { c.LTCRPC = "ftp://x" }, "--ltc-rpc"},
		{"unknown price source", func(c *Config) { c.FiatRates = "bitstamp" }, "--fiat-rates"},
		{"bad static rate", func(c *Config) { c.FiatRates = "static:LTC/USD=abc" }, "--fiat-rates"},
		{"bad price API URL", func(c *Config) { c.FiatRatesURL = "not a url" }, "--fiat-rates-url: coingecko: bad base url"},
		{"price API URL for static rates", func(c *Config) { c.FiatRates, c.FiatRatesURL = "static:LTC/USD=80", "http://127.0.0.1:1" }, "--fiat-rates-url"},
		{"short quote", func(c *Config) { c.QuoteValidity = 10 * time.Second }, "--quote-validity: must be at least a minute"},
		{"invoice outliving its address", func(c *Config) { c.InvoiceExpiry, c.AddressExpiry = 1000*time.Hour, 720*time.Hour },
			"--invoice-expiry: 1000h0m0s is longer than --address-expiry (720h0m0s)"},
		{"short invoice expiry", func(c *Config) { c.InvoiceExpiry = 0 }, "--invoice-expiry: must be at least a minute"},
		{"smtp without a sender", func(c *Config) { c.SMTPURL = "smtp://127.0.0.1:25" }, "--smtp-from: required"},
		{"bad smtp url", func(c *Config) { c.SMTPURL, c.SMTPFrom = "http://mail.example", "ferry@relay.example" }, "--smtp-url: scheme"},
		{"sender without smtp", func(c *Config) { c.SMTPFrom = "ferry@relay.example" }, "--smtp-url: required"},
		{"bad public url", func(c *Config) { c.PublicURL = "ftp://pay.example" }, "--public-url"},
		{"metrics on the API", func(c *Config) { c.MetricsListen = c.Listen }, "--metrics-listen: must not be the API's address"},
		{"short hold", func(c *Config) { c.HoldExpiry = time.Second }, "--hold-expiry: must be at least a minute"},
		{"negative open invoices", func(c *Config) { c.MaxOpenInvoices = -1 }, "--max-open-invoices: must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base()
			tt.mod(&cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := Run(ctx, cfg, &logBuffer{}, nil)
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Run = %v, want an error with %q", err, tt.msg)
			}
			// A refused configuration leaves no trace.
			if entries, _ := os.ReadDir(cfg.DataDir); len(entries) != 0 {
				t.Errorf("data dir has %d entries after a refused start", len(entries))
			}
		})
	}
}

// TestREADMEConfigTable checks README.md's configuration tables against the
// flags of ferry and ferry recover: every flag is there once, with its
// variable and its default.
func TestREADMEConfigTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(string(readme), "\n") {
		if !strings.HasPrefix(line, "| `--") {
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) < 5 {
			continue
		}
		name := strings.Trim(strings.TrimSpace(cells[1]), "`-")
		if _, dup := rows[name]; dup {
			t.Errorf("--%s is in the table twice", name)
		}
		rows[name] = []string{strings.Trim(strings.TrimSpace(cells[2]), "`"), strings.Trim(strings.TrimSpace(cells[3]), "`")}
	}
	// ferry's flags, and ferry recover's, which has them all.
	rc := recoverConfig{Config: DefaultConfig(), Gap: defaultGap}
	n := 0
	rc.flagSet(io.Discard).VisitAll(func(f *flag.Flag) {
		n++
		row, ok := rows[f.Name]
		if !ok {
			t.Errorf("--%s is not in README's table", f.Name)
			return
		}
		if row[0] != EnvName(f.Name) {
			t.Errorf("--%s: README says variable %s, want %s", f.Name, row[0], EnvName(f.Name))
		}
		def := f.DefValue
		if def == "" {
			def = "empty"
		}
		if d, err := time.ParseDuration(row[1]); err == nil && def != "empty" {
			if fd, err := time.ParseDuration(def); err == nil && fd == d {
				def = row[1]
			}
		}
		if row[1] != def {
			t.Errorf("--%s: README says default %s, the flag has %s", f.Name, row[1], def)
		}
	})
	if len(rows) != n {
		t.Errorf("README's table has %d flags, ferry %d", len(rows), n)
	}
}

// TestDeployEnvFile checks the settings file of the systemd unit: every
// variable it names, set or commented out, is one of ferry's, and it
// leaves FERRY_DATA_DIR to the unit.
func TestDeployEnvFile(t *testing.T) {
	text, err := os.ReadFile("../../deploy/ferry.env")
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	cfg := DefaultConfig()
	cfg.flagSet(io.Discard).VisitAll(func(f *flag.Flag) { known[EnvName(f.Name)] = true })
	n := 0
	for _, line := range strings.Split(string(text), "\n") {
		name, _, ok := strings.Cut(strings.TrimPrefix(line, "#"), "=")
		if !ok || !strings.HasPrefix(name, "FERRY_") {
			continue
		}
		n++
		if !known[name] {
			t.Errorf("deploy/ferry.env: %s is not a variable of ferry's", name)
		}
		if name == "FERRY_DATA_DIR" {
			t.Error("deploy/ferry.env sets FERRY_DATA_DIR, which would override the unit's state directory")
		}
	}
	if n == 0 {
		t.Error("deploy/ferry.env names no variable")
	}
}

// TestMaxOpenInvoicesFlag: --max-open-invoices (or its variable) reaches
// the invoice engine; its default is the engine's.
func TestMaxOpenInvoicesFlag(t *testing.T) {
	env := map[string]string{"FERRY_NETWORK": "regtest", "FERRY_LTC_RPC": "http://u:p@127.0.0.1:1",
		"FERRY_LTC_FEE_ADDRESS": "rltc1qjmxnz78nmc8nq77wuxh25n2es7rzm5c23g5xdr"}
	for _, tt := range []struct {
		env  string
		want int
	}{{"", invoice.DefaultMaxOpen}, {"5", 5}, {"0", 0}} {
		env["FERRY_MAX_OPEN_INVOICES"] = tt.env
		cfg := DefaultConfig()
		if err := cfg.ParseFlags(nil, func(k string) string { return env[k] }); err != nil {
			t.Fatal(err)
		}
		s, err := cfg.settings()
		if err != nil {
			t.Fatal(err)
		}
		if s.invoice.MaxOpen != tt.want {
			t.Errorf("FERRY_MAX_OPEN_INVOICES=%q: MaxOpen %d, want %d", tt.env, s.invoice.MaxOpen, tt.want)
		}
	}
}
