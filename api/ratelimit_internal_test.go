package api

import (
	"net/netip"
	"strconv"
	"testing"

	"github.com/ferry-relay/ferry/relay/relaytest"
)

// TestRateLimiterFull fills a limiter's table (three clients here, 2^20 in
// the daemon) and checks that new clients are still served, IPv4 after a
// flood of IPv6 /64s included: the client seen least recently is
// forgotten, a client that keeps coming keeps its count, and the table
// never grows past its bound.
func TestRateLimiterFull(t *testing.T) {
	clk := relaytest.Clock()
	l := newRateLimiter(2, clk)
	l.max = 3
	p := func(s string) netip.Prefix {
		t.Helper()
		a := netip.MustParseAddr(s)
		bits := 32
		if a.Is6() {
			bits = 64
		}
		pf, _ := a.Prefix(bits)
		return pf
	}
	want := func(client string, ok bool, left int) {
		t.Helper()
		if gotOK, gotLeft := l.allow(p(client)); gotOK != ok || gotLeft != left {
			t.Fatalf("%s: %v, %d left; want %v, %d", client, gotOK, gotLeft, ok, left)
		}
		checkTable(t, l)
	}

	want("198.51.100.1", true, 1) // A
	want("198.51.100.2", true, 1) // B
	want("198.51.100.3", true, 1) // C
	// The table is full: D is served, and A, the least recent, forgotten.
	want("198.51.100.4", true, 1)
	if _, ok := l.index[p("198.51.100.1")]; ok {
		t.Fatal("the least recent client is still counted")
	}
	// B comes back: it keeps its count, and is now the most recent, so E
	// takes C's place, not B's.
	want("198.51.100.2", true, 0)
	want("198.51.100.5", true, 1)
	want("198.51.100.2", false, 0)

	// A flood of IPv6 /64s (one /44 holds 2^20 of them) leaves room for
	// an IPv4 client.
	for i := range 50 {
		want("2001:db8:"+strconv.Itoa(i)+"::1", true, 1)
	}
	want("203.0.113.9", true, 1)
	if len(l.slots) != 3 || len(l.index) != 3 {
		t.Fatalf("%d slots, %d indexed: the table grew past its bound", len(l.slots), len(l.index))
	}

	// The next window starts afresh.
	clk.Advance(rateWindow)
	want("198.51.100.2", true, 1)
	if len(l.index) != 1 {
		t.Fatalf("%d clients counted in a new window", len(l.index))
	}
}

// checkTable checks that the recency list links every client of the
// index, once, both ways.
func checkTable(t *testing.T, l *rateLimiter) {
	t.Helper()
	n, prev := 0, int32(-1)
	for i := l.head; i >= 0; i = l.slots[i].next {
		s := l.slots[i]
		if s.prev != prev || l.index[s.client] != i || n > len(l.slots) {
			t.Fatalf("recency list broken at slot %d: %+v", i, s)
		}
		prev, n = i, n+1
	}
	if prev != l.tail || n != len(l.index) || n > l.max {
		t.Fatalf("recency list of %d, %d indexed, tail %d (last %d), max %d", n, len(l.index), l.tail, prev, l.max)
	}
}

// BenchmarkRateLimiterFlood measures a request of a new client once the
// table is full.
func BenchmarkRateLimiterFlood(b *testing.B) {
	l := newRateLimiter(100, relaytest.Clock())
	l.max = 1 << 16
	var a [16]byte
	a[0], a[1] = 0x20, 0x01
	for i := range b.N {
		a[4], a[5], a[6], a[7] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
		pf, _ := netip.AddrFrom16(a).Prefix(64)
		l.allow(pf)
	}
}
