package torproxy_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/ferry-relay/ferry/torproxy"
)

func TestGuard(t *testing.T) {
	tests := []struct {
		ip      string
		allowed bool
	}{
		{"8.8.8.8", true},
		{"1.1.1.1", true},
		{"2606:4700:4700::1111", true},
		{"::ffff:8.8.8.8", true},
		{"64:ff9b::808:808", true},                      // NAT64 of 8.8.8.8
		{"2002:808:808::1", true},                       // 6to4 of 8.8.8.8
		{"127.0.0.1", false},                            // loopback
		{"127.255.255.254", false},                      // loopback
		{"::1", false},                                  // loopback
		{"10.0.0.1", false},                             // private
		{"172.16.5.4", false},                           // private
		{"172.31.255.255", false},                       // private
		{"192.168.1.1", false},                          // private
		{"fd00::1", false},                              // unique local
		{"169.254.169.254", false},                      // link-local: cloud metadata
		{"fe80::1", false},                              // link-local
		{"fe80::1%eth0", false},                         // link-local with zone
		{"100.64.0.1", false},                           // carrier-grade NAT
		{"100.127.255.254", false},                      // carrier-grade NAT
		{"0.0.0.0", false},                              // unspecified
		{"::", false},                                   // unspecified
		{"0.1.2.3", false},                              // this network
		{"224.0.0.1", false},                            // multicast
		{"ff02::1", false},                              // multicast
		{"255.255.255.255", false},                      // broadcast
		{"240.0.0.1", false},                            // reserved
		{"192.0.2.1", false},                            // documentation
		{"198.18.0.1", false},                           // benchmarking
		{"::ffff:127.0.0.1", false},                     // IPv4-mapped loopback
		{"::ffff:10.0.0.1", false},                      // IPv4-mapped private
		{"::ffff:169.254.169.254", false},               // IPv4-mapped metadata
		{"::127.0.0.1", false},                          // IPv4-compatible
		{"64:ff9b::7f00:1", false},                      // NAT64 of 127.0.0.1
		{"64:ff9b::a9fe:a9fe", false},                   // NAT64 of 169.254.169.254
		{"64:ff9b:1::1", false},                         // local-use NAT64
		{"2002:7f00:1::1", false},                       // 6to4 of 127.0.0.1
		{"2002:c0a8:101::1", false},                     // 6to4 of 192.168.1.1
		{"2001:0:4136:e378:8000:63bf:80ff:fffe", false}, // Teredo of 127.0.0.1
		{"2001:db8::1", false},                          // documentation
		{"fec0::1", false},                              // site-local
	}
	for _, tt := range tests {
		ip := netip.MustParseAddr(tt.ip)
		err := torproxy.Guard{}.Check(ip)
		if (err == nil) != tt.allowed {
			t.Errorf("Check(%s) = %v, want allowed=%v", tt.ip, err, tt.allowed)
		}
		if err != nil && !errors.Is(err, torproxy.ErrForbidden) {
			t.Errorf("Check(%s) error %v does not wrap ErrForbidden", tt.ip, err)
		}
		if err := (torproxy.Guard{AllowPrivate: true}).Check(ip); err != nil {
			t.Errorf("AllowPrivate: Check(%s) = %v", tt.ip, err)
		}
	}
}

// countingListener counts the connections a 127.0.0.1 listener accepts.
func countingListener(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var n atomic.Int64
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
	return ln.Addr().String(), &n
}

func TestDialerRefusesLoopback(t *testing.T) {
	addr, accepted := countingListener(t)
	_, port, _ := net.SplitHostPort(addr)
	d := &torproxy.Dialer{}
	for _, target := range []string{addr, "localhost:" + port, "[::ffff:127.0.0.1]:" + port} {
		c, err := d.DialContext(context.Background(), "tcp", target)
		if err == nil {
			c.Close()
			t.Errorf("dial %s succeeded", target)
		} else if !errors.Is(err, torproxy.ErrForbidden) {
			t.Errorf("dial %s: %v, want ErrForbidden", target, err)
		}
	}
	if _, err := d.DialContext(context.Background(), "udp", addr); err == nil {
		t.Error("udp dial allowed")
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("listener accepted %d connections", n)
	}

	// With AllowPrivate the same dial goes through.
	open := &torproxy.Dialer{Guard: torproxy.Guard{AllowPrivate: true}}
	c, err := open.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}
