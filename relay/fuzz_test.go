package relay

import (
	"net/url"
	"strings"
	"testing"

	"github.com/ferry-relay/ferry/notify"
)

// FuzzParseCallback feeds callback URLs to the form check: it must never
// panic; what it accepts is http or https, at most 255 characters, with a
// host and no credentials, and the callback URL built from it keeps that
// host and the merchant's query.
func FuzzParseCallback(f *testing.F) {
	for _, s := range []string{
		"http://shop.example/cb.php?call=123&secret=NTIz", "https://[::1]:8443/x", "http://user@h/", "http:h",
		"http://0x7f000001/", "http://h:99999/", "javascript:alert(1)", "http://h/\r\n", "http://%41/",
		"http://[fe80::1%25eth0]/", "http://h#frag", "HTTP://H/",
	} {
		f.Add(s)
	}
	p := url.Values{"value": {"1"}, "coin": {"ltc"}}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := ParseCallback(raw)
		if err != nil {
			return
		}
		if len(raw) > MaxCallbackLen || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Hostname() == "" {
			t.Fatalf("accepted %q: %#v", raw, u)
		}
		cu, err := notify.CallbackURL(raw, p)
		if err != nil {
			t.Fatalf("CallbackURL(%q): %v", raw, err)
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
