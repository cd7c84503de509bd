package relay

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/torproxy"
	"github.com/ferry-relay/ferry/torproxy/dnstest"
)

// counted is a 127.0.0.1 HTTP server that counts the connections it
// accepts, whatever it answers.
type counted struct {
	*httptest.Server
	conns atomic.Int64
}

func newCounted(t *testing.T, h http.HandlerFunc) *counted {
	t.Helper()
	c := &counted{}
	c.Server = httptest.NewUnstartedServer(h)
	c.Server.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			c.conns.Add(1)
		}
	}
	c.Start()
	t.Cleanup(c.Close)
	return c
}

func testCallbacker(t *testing.T, d *torproxy.Dialer, timeout time.Duration) *callbacker {
	t.Helper()
	return newCallbacker(CallbackConfig{Outbound: d, Key: []byte("k"), Timeout: timeout, Workers: 4, PerHost: 2, MaxConfirmations: 100},
		nil, realClock{}, zerolog.Nop())
}

func job(t *testing.T, raw string) callbackJob {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return callbackJob{coin: "ltc", op: chain.OutPoint{Index: 1}, url: u, confs: 1}
}

func TestCallbackRequest(t *testing.T) {
	var gotSig, gotURL atomic.Value
	ok := newCounted(t, func(w http.ResponseWriter, r *http.Request) {
		gotSig.Store(r.Header.Get(SignatureHeader))
		gotURL.Store("http://" + r.Host + r.URL.RequestURI())
		w.Write([]byte(" *ok*\n"))
	})
	target := newCounted(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("*ok*")) })
	refused := func() string { // a port nothing listens on
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		a := ln.Addr().String()
		ln.Close()
		return a
	}()
	tests := []struct {
		name    string
		handler http.HandlerFunc
		url     string
		err     string // "" for an *ok*
	}{
		{name: "ok", url: ok.URL + "/cb?secret=s"},
		{name: "other answer", handler: func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("thanks")) }, err: "not *ok*"},
		{name: "ok with 500", handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500); w.Write([]byte("*ok*")) }, err: "HTTP 500"},
		{name: "redirect", handler: func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, target.URL, http.StatusFound) }, err: "redirect (HTTP 302) not followed"},
		{name: "ok past 1 KiB", handler: func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(strings.Repeat(" ", 2000) + "*ok*")) }, err: "not *ok*"},
		{name: "hangs", handler: func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, err: "timeout"},
		{name: "refused", url: "http://" + refused + "/cb", err: "refused"},
	}
	cb := testCallbacker(t, &torproxy.Dialer{Guard: torproxy.Guard{AllowPrivate: true}}, 500*time.Millisecond)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.url
			if tt.handler != nil {
				u = newCounted(t, tt.handler).URL + "/cb"
			}
			a := cb.request(context.Background(), job(t, u))
			if tt.err == "" && a.Error != "" || tt.err != "" && !strings.Contains(a.Error, tt.err) {
				t.Errorf("attempt error %q, want %q", a.Error, tt.err)
			}
		})
	}
	if n := target.conns.Load(); n != 0 {
		t.Errorf("the redirect was followed: %d connections", n)
	}
	// The signature covers the URL as requested.
	if want := Sign([]byte("k"), parseSigTime(t, gotSig.Load().(string)), gotURL.Load().(string)); gotSig.Load() != want {
		t.Errorf("signature %q, want %q for %s", gotSig.Load(), want, gotURL.Load())
	}
}

func parseSigTime(t *testing.T, sig string) time.Time {
	t.Helper()
	v, _, _ := strings.Cut(strings.TrimPrefix(sig, "t="), ",")
	ts, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatalf("signature %q: %v", sig, err)
	}
	return time.Unix(ts, 0)
}

// TestCallbackDialGuard sends callbacks whose hosts pass the check at
// registration but resolve, or are, loopback at dial time: the guard refuses
// each, and the listener sees no connection.
func TestCallbackDialGuard(t *testing.T) {
	srv := newCounted(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("*ok*")) })
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	dns := dnstest.NewServer(t)
	d := &torproxy.Dialer{Resolver: dns.Resolver()}

	// DNS rebinding: public when registered, loopback when called.
	dns.Set("rebind.test", netip.MustParseAddr("93.184.216.34"))
	if err := d.CheckHost(context.Background(), "rebind.test"); err != nil {
		t.Fatalf("registration check of rebind.test: %v", err)
	}
	dns.Set("rebind.test", netip.MustParseAddr("127.0.0.1"))
	dns.Set("mapped.test", netip.MustParseAddr("::ffff:127.0.0.1"))

	cb := testCallbacker(t, d, 2*time.Second)
	for _, host := range []string{"rebind.test", "mapped.test", "127.0.0.1", "localhost", "[::ffff:127.0.0.1]"} {
		a := cb.request(context.Background(), job(t, "http://"+host+":"+port+"/cb"))
		if !strings.Contains(a.Error, "not allowed for callbacks") {
			t.Errorf("%s: attempt error %q, want a refusal", host, a.Error)
		}
	}
	if n := srv.conns.Load(); n != 0 {
		t.Errorf("the loopback listener saw %d connections", n)
	}
}

func TestCallbackURL(t *testing.T) {
	p := url.Values{"value": {"5"}, "coin": {"ltc"}}
	tests := []struct{ in, want string }{
		{"http://shop.example/cb.php?call=123&secret=NTIz", "http://shop.example/cb.php?call=123&secret=NTIz&coin=ltc&value=5"},
		{"https://shop.example/cb", "https://shop.example/cb?coin=ltc&value=5"},
		{"http://shop.example/cb?a=%20b#frag", "http://shop.example/cb?a=%20b&coin=ltc&value=5"},
		// No path: the request line says "/", so the signed URL does too.
		{"https://shop.example?x=1", "https://shop.example/?x=1&coin=ltc&value=5"},
		{"http://shop.example:8080", "http://shop.example:8080/?coin=ltc&value=5"},
	}
	for _, tt := range tests {
		u, err := callbackURL(tt.in, p)
		if err != nil || u.String() != tt.want {
			t.Errorf("callbackURL(%q) = %v, %v; want %s", tt.in, u, err, tt.want)
		}
	}
}
