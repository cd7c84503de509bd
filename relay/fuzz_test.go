package relay

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzParseQuery feeds query strings to the API's parser: it must never
// panic, and what it accepts has each API parameter at most once.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"method=litecoin&address=ltc1q&callback=http%3A%2F%2Fshop.example%2Fcb%3Fa%3D1&callback_req=1",
		"address=a&address=b", "callback=%zz", "a;b=c", "", "=", "&&&", "method=%00",
		strings.Repeat("x", 3000),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := parseQuery(raw)
		if err != nil {
			return
		}
		for _, p := range queryParams {
			if len(q[p]) > 1 {
				t.Fatalf("%s accepted %d times", p, len(q[p]))
			}
		}
	})
}

// FuzzParseCallback feeds callback URLs, as the API reads them (a URL
// encoded twice decoded once more), to the form check: it must never
// panic; what it accepts is http or https, at most 255 characters, with a
// host and no credentials, and the callback URL built from it keeps that
// host and the merchant's query.
func FuzzParseCallback(f *testing.F) {
	for _, s := range []string{
		"http://shop.example/cb.php?call=123&secret=NTIz", "https://[::1]:8443/x", "http://user@h/", "http:h",
		"http://0x7f000001/", "http://h:99999/", "javascript:alert(1)", "http://h/\r\n", "http://%41/",
		"http://[fe80::1%25eth0]/", "http://h#frag", "HTTP://H/",
		"https%3A%2F%2Fshop.example%2Fcb.php%3Fid%3D7%26secret%3Ds", "http%3a%2f%2fh%2F%zz", "https%3A%2F%2F127.0.0.1%2F",
	} {
		f.Add(s)
	}
	p := url.Values{"value": {"1"}, "coin": {"ltc"}}
	f.Fuzz(func(t *testing.T, raw string) {
		raw = decodeTwice(raw)
		u, err := parseCallback(raw)
		if err != nil {
			return
		}
		if len(raw) > maxCallbackLen || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Hostname() == "" {
			t.Fatalf("accepted %q: %#v", raw, u)
		}
		cu, err := callbackURL(raw, p)
		if err != nil {
			t.Fatalf("callbackURL(%q): %v", raw, err)
		}
		back, err := url.Parse(cu.String())
		if err != nil {
			t.Fatalf("built URL %q does not parse: %v", cu, err)
		}
		if back.Hostname() != u.Hostname() || back.Query().Get("coin") != "ltc" {
			t.Fatalf("built URL %q lost its host %q or parameters", cu, u.Hostname())
		}
		if u.RawQuery != "" && !strings.HasPrefix(back.RawQuery, u.RawQuery+"&") {
			t.Fatalf("built URL %q changed the merchant's query %q", cu, u.RawQuery)
		}
	})
}
