package torproxy_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry/torproxy"
	"github.com/ferry-relay/ferry/torproxy/dnstest"
	"github.com/ferry-relay/ferry/torproxy/tortest"
)

// onionName is a well-formed v3 onion address; only the test's SOCKS proxy
// knows where it leads.
var onionName = torproxy.OnionAddress(bytes.Repeat([]byte{1}, 32))

// TestTorDialer sends connections through a real SOCKS5 proxy (Debian's
// microsocks): a .onion host always, any host with AllViaTor, each handed
// to the proxy by name: ferry's own resolver is never asked.
func TestTorDialer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "*ok*") }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	socks := tortest.StartSOCKS(t, onionName, "merchant.test")
	tor, err := torproxy.NewTor(socks.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	dns := dnstest.NewServer(t)

	get := func(d *torproxy.Dialer, host string) (string, error) {
		client := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
		resp, err := client.Get("http://" + host + ":" + port + "/")
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b), nil
	}

	onion := &torproxy.Dialer{Tor: tor, Resolver: dns.Resolver()}
	if body, err := get(onion, onionName); err != nil || body != "*ok*" {
		t.Fatalf(".onion through the proxy: %q, %v", body, err)
	}
	all := &torproxy.Dialer{Tor: tor, AllViaTor: true, Resolver: dns.Resolver()}
	if body, err := get(all, "merchant.test"); err != nil || body != "*ok*" {
		t.Fatalf("clearnet name through the proxy: %q, %v", body, err)
	}
	want := []string{onionName + ":" + port, "merchant.test:" + port}
	if got := socks.Connections(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("the proxy connected to %v, want %v", got, want)
	}
	if n := dns.Queries(onionName) + dns.Queries("merchant.test"); n != 0 {
		t.Errorf("ferry's resolver was asked %d times", n)
	}

	// Without AllViaTor a clearnet name does not go through the proxy:
	// it is resolved here (and unknown).
	if _, err := get(onion, "merchant.test"); err == nil {
		t.Error("merchant.test was reached without AllViaTor")
	}
	// Address literals are still guarded on the Tor path.
	if _, err := get(all, "127.0.0.1"); !errors.Is(err, torproxy.ErrForbidden) {
		t.Errorf("127.0.0.1 through Tor: %v", err)
	}
	// No Tor, no .onion.
	if _, err := get(&torproxy.Dialer{}, onionName); !errors.Is(err, torproxy.ErrNoTor) {
		t.Errorf(".onion without Tor: %v", err)
	}
}

func TestCheckOnionHost(t *testing.T) {
	tor, _ := torproxy.NewTor("127.0.0.1:9", time.Second) // never dialed
	withTor := &torproxy.Dialer{Tor: tor}
	tests := []struct {
		d    *torproxy.Dialer
		host string
		err  error
	}{
		{withTor, onionName, nil},
		{withTor, "www." + onionName, nil},
		{withTor, strings.ToUpper(onionName), nil},
		{withTor, "abcdefghijklmnop.onion", torproxy.ErrUnresolvable}, // v2: gone from Tor
		{withTor, "not-an-onion-address.onion", torproxy.ErrUnresolvable},
		{&torproxy.Dialer{}, onionName, torproxy.ErrNoTor},
		{&torproxy.Dialer{Tor: tor, AllViaTor: true}, "shop.example", nil}, // Tor resolves it
		{&torproxy.Dialer{Tor: tor, AllViaTor: true}, "10.0.0.1", torproxy.ErrForbidden},
	}
	for _, tt := range tests {
		err := tt.d.CheckHost(context.Background(), tt.host)
		if tt.err == nil && err != nil || tt.err != nil && !errors.Is(err, tt.err) {
			t.Errorf("CheckHost(%s) = %v, want %v", tt.host, err, tt.err)
		}
	}
}

// TestOnionService publishes an onion service through a real tor's control
// port (network disabled), with cookie and with password authentication.
// Tor's own ServiceID matches the address ferry derives from its key; the
// same key gives the same address after the service is withdrawn, and the
// service is published again when tor restarts.
func TestOnionService(t *testing.T) {
	seed := bytes.Repeat([]byte{7}, 32)
	want := torproxy.OnionAddress(seed)
	for _, auth := range []string{"cookie", "password"} {
		t.Run(auth, func(t *testing.T) {
			var tor *tortest.Tor
			var a torproxy.Auth
			if auth == "password" {
				tor = tortest.StartTor(t, "s3cret pass \"quoted\"")
				a.Password = "s3cret pass \"quoted\""
			} else {
				tor = tortest.StartTor(t, "")
			}
			cfg := torproxy.OnionConfig{Control: tor.Control, Auth: a, Seed: seed, Port: 80, Target: "127.0.0.1:8080"}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			o, err := torproxy.PublishOnion(ctx, cfg, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			if o.Address() != want || !o.Up() {
				t.Fatalf("published %s (up %v), want %s", o.Address(), o.Up(), want)
			}
			o.Close()
			again, err := torproxy.PublishOnion(ctx, cfg, zerolog.Nop())
			if err != nil || again.Address() != want {
				t.Fatalf("again: %v, %v", again, err)
			}
			// While it is up, tor refuses the same key to anyone else:
			// proof that tor, not only ferry, holds the service.
			if _, err := torproxy.PublishOnion(ctx, cfg, zerolog.Nop()); !errors.Is(err, torproxy.ErrControl) || !strings.Contains(err.Error(), "collision") {
				t.Fatalf("a second publication of a published key: %v", err)
			}

			tor.Restart()
			deadline := time.Now().Add(30 * time.Second)
			for !again.Up() {
				if time.Now().After(deadline) {
					t.Fatal("not published again after tor restarted")
				}
				time.Sleep(50 * time.Millisecond)
			}
			if probe, err := torproxy.PublishOnion(ctx, cfg, zerolog.Nop()); !errors.Is(err, torproxy.ErrControl) {
				if probe != nil {
					probe.Close()
				}
				t.Fatalf("after tor's restart the key is free: %v", err)
			}
			again.Close()
		})
	}

	// A wrong password is refused, and says so.
	tor := tortest.StartTor(t, "right")
	_, err := torproxy.PublishOnion(context.Background(), torproxy.OnionConfig{Control: tor.Control, Auth: torproxy.Auth{Password: "wrong"}, Seed: seed, Port: 80, Target: "127.0.0.1:1"}, zerolog.Nop())
	if !errors.Is(err, torproxy.ErrControl) {
		t.Errorf("wrong password: %v", err)
	}
}

func TestOnionAddress(t *testing.T) {
	// Tor 0.4.9.8's ServiceID for ADD_ONION of this seed's key.
	const want = "5jfgyy7ctrjavpxvkb5rglwf7gkuo5vox27hxescd3vgsfcg2iwfmxqd.onion"
	if a := torproxy.OnionAddress(bytes.Repeat([]byte{7}, 32)); a != want {
		t.Errorf("OnionAddress = %q, want %q", a, want)
	}
}
