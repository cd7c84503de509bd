package api

import (
	"strings"
	"testing"

	"github.com/ferry-relay/ferry/relay"
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

// FuzzCallbackParam feeds callback parameters, as LitePay's API reads
// them (a URL encoded twice decoded once more), to the callback check: it
// must never panic, and what it accepts is http or https, at most 255
// characters, with a host and no credentials.
func FuzzCallbackParam(f *testing.F) {
	for _, s := range []string{
		"http://shop.example/cb.php?call=123&secret=NTIz", "https%3A%2F%2Fshop.example%2Fcb.php%3Fid%3D7%26secret%3Ds",
		"http%3a%2f%2fh%2F%zz", "https%3A%2F%2F127.0.0.1%2F", "HTTP%3A%2F%2Fh%2F", "http://h#frag",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := relay.ParseCallback(decodeTwice(raw))
		if err != nil {
			return
		}
		if len(u.String()) > 2*relay.MaxCallbackLen || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Hostname() == "" {
			t.Fatalf("accepted %q: %#v", raw, u)
		}
	})
}
