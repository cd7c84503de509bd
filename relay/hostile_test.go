package relay_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-relay/ferry/notify"
	"github.com/ferry-relay/ferry/notify/notifytest"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/relay/relaytest"
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
	env := relaytest.NewEngine(t, relaytest.Options{Hosts: d, Started: true})

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
	// Registration: each is refused, or looks public for now.
	var accepted []string
	for _, u := range urls {
		_, err := env.Engine.Mint(context.Background(), relay.MintRequest{Coin: "ltc", Destination: dest, Callback: u, CallbackReq: true})
		if err == nil {
			accepted = append(accepted, u)
		}
	}
	// Delivery: the names that rebind point at loopback now, and every
	// connection is refused by the dialer's guard.
	for host, ip := range atDial {
		dns.Set(host, ip)
	}
	q := notifytest.NewMemQueue()
	for i, u := range accepted {
		q.Add(fmt.Sprint(i), u, notify.AckOK)
	}
	cfg := notify.DefaultConfig()
	cfg.Queues, cfg.Outbound = []notify.Queue{q}, d
	n, err := notify.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	for i, u := range accepted {
		relaytest.WaitFor(t, "a delivery to "+u, func() bool { return len(q.Results(fmt.Sprint(i))) > 0 })
		if r := q.Results(fmt.Sprint(i))[0]; !strings.Contains(r.Err, "not allowed for callbacks") {
			t.Errorf("%s: accepted at registration and then not refused at dial: %q", u, r.Err)
		}
	}
	cancel()
	<-done
	if len(accepted) == 0 || len(accepted) > 8 {
		t.Errorf("%d hostile URLs passed registration: %v", len(accepted), accepted)
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
