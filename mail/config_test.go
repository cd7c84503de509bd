package mail_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ferry-relay/ferry/mail"
)

func TestConfigValidate(t *testing.T) {
	const from = "Ferry <ferry@example.net>"
	tests := []struct {
		name string
		cfg  mail.Config
		want string // "" for valid; else a part of the error
	}{
		{"smtp", mail.Config{URL: "smtp://mail.example.com", From: from}, ""},
		{"smtps with port and credentials", mail.Config{URL: "smtps://u%40x:p%3Ass@mail.example.com:2465", From: "ferry@example.net"}, ""},
		{"ip and trailing slash", mail.Config{URL: "smtp://127.0.0.1:25/", From: from, Timeout: time.Second}, ""},
		{"ipv6", mail.Config{URL: "smtp://[::1]:25", From: from}, ""},
		{"no url", mail.Config{From: from}, "smtp-url: required"},
		{"other scheme", mail.Config{URL: "http://mail.example.com", From: from}, "smtp-url: scheme must be smtp or smtps"},
		{"no scheme", mail.Config{URL: "mail.example.com:587", From: from}, "smtp-url: scheme"},
		{"no host", mail.Config{URL: "smtp://:587", From: from}, "smtp-url: no host"},
		{"credentials, no host", mail.Config{URL: "smtp://user:pw@", From: from}, "smtp-url: no host"},
		{"opaque", mail.Config{URL: "smtp:mail.example.com", From: from}, "smtp-url: want smtp://host"},
		{"port 0", mail.Config{URL: "smtp://mail.example.com:0", From: from}, "smtp-url: port"},
		{"port too big", mail.Config{URL: "smtp://mail.example.com:70000", From: from}, "smtp-url: port"},
		{"path", mail.Config{URL: "smtp://mail.example.com/x", From: from}, "smtp-url: want no path"},
		{"query", mail.Config{URL: "smtp://mail.example.com?tls=0", From: from}, "smtp-url: want no path"},
		{"bad host", mail.Config{URL: "smtp://mail!example.com", From: from}, "smtp-url: host"},
		{"password without user", mail.Config{URL: "smtp://:pw@mail.example.com", From: from}, "smtp-url: credentials without a user"},
		{"no from", mail.Config{URL: "smtp://mail.example.com"}, "smtp-from: required"},
		{"bad from", mail.Config{URL: "smtp://mail.example.com", From: "ferry"}, "smtp-from:"},
		{"negative timeout", mail.Config{URL: "smtp://mail.example.com", From: from, Timeout: -time.Second}, "timeout"},
		{"all wrong", mail.Config{URL: "ftp://x", Timeout: -1}, "smtp-from: required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate() = %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestValidateHidesPassword: no error about a URL quotes its password.
func TestValidateHidesPassword(t *testing.T) {
	for _, u := range []string{
		"smtp://user:s3cr3t-pw@",
		"smtp://user:s3cr3t-pw@host:99999",
		"smtp://user:s3cr3t-pw@host/path",
		"smtp://user:s3cr3t-pw%zz@host",
		"smtp://user:s3cr3t-pw@ho st",
		"ftp://user:s3cr3t-pw@host",
		"smtp:user:s3cr3t-pw@host",
		"smtp://user:s3cr3t-pw@[::1",
		"s3cr3t-pw:x@host",
	} {
		err := mail.Config{URL: u, From: "a@example.com"}.Validate()
		if err == nil {
			t.Errorf("%s: valid", u)
			continue
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: %v", u, err)
		}
	}
}
