package mail

import (
	"net/url"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		raw  string
		want server
	}{
		{"smtp://mail.example.com", server{host: "mail.example.com", port: "587"}},
		{"smtps://mail.example.com", server{implicitTLS: true, host: "mail.example.com", port: "465"}},
		{"smtp://u:p@mail.example.com:25", server{host: "mail.example.com", port: "25", user: "u", pass: "p"}},
		{"smtps://me%40example.com:p%25%3A%40%2Fw@[::1]:2465/", server{implicitTLS: true, host: "::1", port: "2465", user: "me@example.com", pass: "p%:@/w"}},
		{"smtp://u@127.0.0.1", server{host: "127.0.0.1", port: "587", user: "u"}},
	}
	for _, tt := range tests {
		got, err := parseURL(tt.raw)
		if err != nil || got != tt.want {
			t.Errorf("parseURL(%q) = %+v, %v; want %+v", tt.raw, got, err, tt.want)
		}
	}
}

func TestLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "127.0.0.1": true, "127.3.2.1": true, "::1": true,
		"mail.example.com": false, "10.0.0.1": false, "localhost.example.com": false, "::": false, "": false,
	} {
		if loopback(host) != want {
			t.Errorf("loopback(%q) = %v", host, !want)
		}
	}
}

// FuzzParseURL: parseURL never panics, never accepts a URL without a host,
// and never shows the password in an error.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"smtp://mail.example.com", "smtps://u:p@h:465", "smtp://:587", "smtp://u:p@", "smtp:opaque",
		"smtp://u:p%zz@h", "smtp://[::1]:25", "smtp://h?x=1#f", "", "smtp://u:p@h:0", "smtp://%00",
	} {
		f.Add(s, "pw")
	}
	f.Fuzz(func(t *testing.T, raw, pass string) {
		check := func(raw string) {
			s, err := parseURL(raw)
			if err == nil {
				if s.host == "" || s.port == "" || !validHost(s.host) {
					t.Fatalf("parseURL(%q) accepted %+v", raw, s)
				}
				return
			}
			if u, perr := url.Parse(raw); perr == nil && u.User != nil {
				if p, ok := u.User.Password(); ok && len(p) >= 8 && strings.Contains(err.Error(), p) {
					t.Fatalf("parseURL(%q): the error %q shows the password", raw, err)
				}
			}
		}
		check(raw)

		// A marked password, in raw's place after the scheme.
		mark := "Zq9X" + pass + "Zq9X"
		for _, scheme := range []string{"smtp://", "smtps://"} {
			for _, p := range []string{url.PathEscape(mark), url.QueryEscape(mark), mark} {
				u := scheme + "user:" + p + "@" + raw
				if _, err := parseURL(u); err != nil && (strings.Contains(err.Error(), "Zq9X") || pass != "" && strings.Contains(err.Error(), p)) {
					t.Fatalf("parseURL(%q): the error %q shows the password", u, err)
				}
			}
		}
	})
}
