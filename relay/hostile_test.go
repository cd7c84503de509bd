package relay

import (
	"context"
	"encoding/hex"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/store"
	"github.com/ferry-relay/ferry/torproxy"
	"github.com/ferry-relay/ferry/torproxy/dnstest"
)

// TestHostileCallbacks registers hostile callback URLs with callback_req=1.
// Each is refused when it is registered, or, if its host looks public then,
// refused by the guard when it is called. The loopback listeners the URLs
// point at see no connection; no case sends a packet anywhere but
// 127.0.0.0/8 and ::1 (the DNS server is on 127.0.0.1 too).
func TestHostileCallbacks(t *testing.T) {
	v4 := newCounted(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("*ok*")) })
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(v4.URL, "http://"))
	v6accepts, v6port := listenV6(t)

	dns := dnstest.NewServer(t)
	dns.Set("loop.test", netip.MustParseAddr("127.0.0.1"))
	dns.Set("loop6.test", netip.MustParseAddr("::1"))
	dns.Set("private.test", netip.MustParseAddr("10.1.2.3"))
	dns.Set("metadata.test", netip.MustParseAddr("169.254.169.254"))
	dns.Set("mixed.test", netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("127.0.0.1"))
	dns.Set("mapped.test", netip.MustParseAddr("::ffff:127.0.0.1"))
	// Public when registered, loopback when called.
	dns.Set("rebind.test", netip.MustParseAddr("93.184.216.34"))
	dns.Set("redirector.test", netip.MustParseAddr("93.184.216.34"))
	atDial := map[string]netip.Addr{"rebind.test": netip.MustParseAddr("127.0.0.1"), "redirector.test": netip.MustParseAddr("127.0.0.1")}
	d := &torproxy.Dialer{Resolver: dns.Resolver(), Timeout: 2 * time.Second}
	s, cb := hostileService(t, d)

	p := ":" + port
	urls := []string{
		// Loopback, every way it can be written.
		"http://127.0.0.1" + p + "/cb",
		"http://127.0.0.2" + p + "/cb",
		"http://localhost" + p + "/cb",
		"http://LOCALHOST" + p + "/cb",
		"http://localhost." + p + "/cb",
		"https://127.0.0.1" + p + "/cb",
		"http://[::1]:" + v6port + "/cb",
		"http://loop6.test:" + v6port + "/cb",
		"http://[::ffff:127.0.0.1]" + p + "/cb",
		"http://[0:0:0:0:0:ffff:7f00:1]" + p + "/cb",
		"http://[::127.0.0.1]" + p + "/cb",
		"http://[64:ff9b::7f00:1]" + p + "/cb",
		"http://[2002:7f00:1::1]" + p + "/cb",
		"http://2130706433" + p + "/cb",   // decimal
		"http://0x7f000001" + p + "/cb",   // hex
		"http://0x7f.0.0.1" + p + "/cb",   // hex octet
		"http://0177.0.0.1" + p + "/cb",   // octal
		"http://017700000001" + p + "/cb", // octal, whole
		"http://127.1" + p + "/cb",        // short form
		"http://0" + p + "/cb",
		"http://0.0.0.0" + p + "/cb",
		"http://[::]" + p + "/cb",
		// Names that resolve to loopback or private addresses.
		"http://loop.test" + p + "/cb",
		"http://mapped.test" + p + "/cb",
		"http://private.test/cb",
		"http://metadata.test/latest/meta-data/",
		"http://mixed.test" + p + "/cb", // one public address, one loopback
		"http://rebind.test" + p + "/cb",
		"http://redirector.test" + p + "/to-loopback",
		"http://unknown.test/cb", // does not resolve
		// Private, link-local, shared and special ranges.
		"http://10.0.0.1/cb",
		"http://172.16.0.1/cb",
		"http://192.168.1.1/cb",
		"http://169.254.169.254/latest/meta-data/",
		"http://100.64.0.1/cb",
		"http://[fe80::1]/cb",
		"http://[fd00::1]/cb",
		"http://224.0.0.1/cb",
		"http://255.255.255.255/cb",
		"http://[::ffff:10.0.0.1]/cb",
		"http://[::ffff:169.254.169.254]/cb",
		// Credentials, schemes, form.
		"http://user:pass@93.184.216.34/cb",
		"http://93.184.216.34@127.0.0.1" + p + "/cb",
		"ftp://93.184.216.34/cb",
		"file:///etc/passwd",
		"gopher://127.0.0.1" + p + "/_GET%20/",
		"javascript:alert(1)",
		"http:93.184.216.34/cb",
		"http:///cb",
		"http://93.184.216.34:99999/cb",
		"http://93.184.216.34:0/cb",
		"http://93.184.216.34/cb\r\nX-Injected: 1",
		"http://93.184.216.34/cb x",
		"http://93.184.216.34/" + strings.Repeat("a", 240),
	}
	for _, u := range urls {
		t.Run(u[:min(len(u), 60)], func(t *testing.T) {
			_, err := s.checkCallback(context.Background(), u, true)
			if err != nil {
				return // refused at registration
			}
			j := job(t, u)
			if ip, ok := atDial[j.url.Hostname()]; ok {
				dns.Set(j.url.Hostname(), ip)
				defer dns.Set(j.url.Hostname(), netip.MustParseAddr("93.184.216.34"))
			}
			a := cb.request(context.Background(), j)
			if !strings.Contains(a.Error, "not allowed for callbacks") {
				t.Errorf("accepted at registration and then not refused at dial: %q", a.Error)
			}
		})
	}
	if n := v4.conns.Load(); n != 0 {
		t.Errorf("the 127.0.0.1 listener saw %d connections", n)
	}
	if n := v6accepts.Load(); n != 0 {
		t.Errorf("the ::1 listener saw %d connections", n)
	}
	if len(urls) < 30 {
		t.Errorf("only %d hostile URLs", len(urls))
	}
}

// hostileService returns a service whose callbacks go through d.
func hostileService(t *testing.T, d *torproxy.Dialer) (*Service, *callbacker) {
	t.Helper()
	db, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	coin, _ := chain.Litecoin(chain.Regtest)
	seed, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	keys, _ := chain.NewKeychain(seed, coin.CoinType())
	fee, _ := coin.ParseDestination("rltc1qjmxnz78nmc8nq77wuxh25n2es7rzm5c23g5xdr")
	cfg := DefaultConfig()
	cfg.Callbacks.Outbound = d
	s, err := New(cfg, db, []Chain{{Coin: coin, Node: offline{}, Keys: keys, FeeAddress: fee, MinDeposit: 1, FallbackFeeRate: 1000}}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return s, s.callbacks
}

// listenV6 listens on [::1] and counts the connections it accepts; without
// IPv6 loopback it returns a port nothing listens on, and the count stays 0.
func listenV6(t *testing.T) (*atomic.Int64, string) {
	t.Helper()
	var n atomic.Int64
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		return &n, "9"
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return &n, port
}
