package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{`parse "http://user:s3cret@127.0.0.1:99999x": invalid port`, `parse "http://user:xxxxx@127.0.0.1:99999x": invalid port`},
		{"smtps://ferry:p%40ss@mail.example:465", "smtps://ferry:xxxxx@mail.example:465"},
		{"http://u:p@ss@host/path@x", "http://u:xxxxx@host/path@x"}, // '@' in the password
		{`{"url":"https://a:b@h","n":"http://c:d@i"}`, `{"url":"https://a:xxxxx@h","n":"http://c:xxxxx@i"}`},
		{"http://user@host:80/ and ltc1q:abc@ and mailto:a@b", "http://user@host:80/ and ltc1q:abc@ and mailto:a@b"},
		{"no url at all", "no url at all"},
	}
	for _, tt := range tests {
		if got := redact(tt.in); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	var buf bytes.Buffer
	if n, err := (redactor{&buf}).Write([]byte(tests[0].in)); err != nil || n != len(tests[0].in) || buf.String() != tests[0].want {
		t.Errorf("redactor wrote %q (%d, %v)", buf.String(), n, err)
	}
}

// TestRunRedactsCredentials: a malformed URL with a password, in any flag
// that takes one, is refused without the password in the error or the log.
func TestRunRedactsCredentials(t *testing.T) {
	const secret = "s3cretPW"
	tests := []struct {
		name string
		mod  func(*Config)
	}{
		{"ltc rpc port", func(c *Config) { c.LTCRPC = "http://user:" + secret + "@127.0.0.1:99999x" }},
		{"ltc rpc escape", func(c *Config) { c.LTCRPC = "http://user:" + secret + "%zz@127.0.0.1:1" }},
		{"btc rpc scheme", func(c *Config) {
			c.BTCRPC, c.BTCFeeAddress = "ftp://user:"+secret+"@127.0.0.1:1", "bcrt1qjmxnz78nmc8nq77wuxh25n2es7rzm5c2q0mfcs"
		}},
		{"price API", func(c *Config) { c.FiatRatesURL = "ftp://user:" + secret + "@127.0.0.1:1" }},
		{"price API malformed", func(c *Config) { c.FiatRatesURL = "http://user:" + secret + "@127.0.0.1:x" }},
		{"smtp", func(c *Config) {
			c.SMTPURL, c.SMTPFrom = "smtp://user:"+secret+"@mail example:25", "ferry@relay.example"
		}},
		{"public url", func(c *Config) { c.PublicURL = "ftp://user:" + secret + "@pay.example" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.DataDir, cfg.Listen, cfg.Network = t.TempDir(), "127.0.0.1:0", "regtest"
			cfg.LTCRPC, cfg.LTCFeeAddress = "http://u:p@127.0.0.1:1", "rltc1qjmxnz78nmc8nq77wuxh25n2es7rzm5c23g5xdr"
			tt.mod(&cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			log := &logBuffer{}
			err := Run(ctx, cfg, log, nil)
			if err == nil {
				t.Fatal("started")
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(log.String(), secret) {
				t.Errorf("the password shows: %v\n%s", err, log.String())
			}
		})
	}
}
