package api

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/ferry-relay/ferry/clock"
)

// rateWindow is the rate limit's window: limits count requests per minute
// and reset every minute, as Coinremitter's do.
const rateWindow = time.Minute

// maxRateClients bounds the clients tracked in one window, so that a flood
// of sources (one IPv6 /44 holds 2^20 /64s) cannot grow the table without
// bound: past it, the client seen least recently is forgotten to make room
// for a new one, which then starts with a full budget. A client that keeps
// making requests stays among the most recent and keeps its count. The
// table takes about 120 bytes a client, 120 MiB when full.
const maxRateClients = 1 << 20

// rateLimiter counts each client's requests in fixed one-minute windows,
// for at most max clients at a time (the least recently seen forgotten
// first). It is safe for concurrent use.
type rateLimiter struct {
	limit int
	clock clock.Clock
	// max is the most clients tracked: maxRateClients, less in tests.
	max int

	mu     sync.Mutex
	window time.Time
	// slots holds the clients of the window, in a list from the most
	// recently seen (head) to the least (tail), linked by index; index
	// finds a client's slot.
	slots      []rateSlot
	index      map[netip.Prefix]int32
	head, tail int32
}

// rateSlot is one client's count, and its neighbours in the recency list
// (-1: none).
type rateSlot struct {
	client     netip.Prefix
	n          int
	prev, next int32
}

func newRateLimiter(limit int, clk clock.Clock) *rateLimiter {
	return &rateLimiter{limit: limit, clock: clk, max: maxRateClients, index: map[netip.Prefix]int32{}, head: -1, tail: -1}
}

// allow counts a request of client and returns whether it is within the
// limit, and how many requests the client has left in the window.
func (l *rateLimiter) allow(client netip.Prefix) (bool, int) {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if w := now.Truncate(rateWindow); !w.Equal(l.window) {
		l.window = w
		clear(l.index)
		l.slots, l.head, l.tail = l.slots[:0], -1, -1
	}
	i, known := l.index[client]
	switch {
	case known:
		l.unlink(i)
	case len(l.slots) < l.max:
		i = int32(len(l.slots))
		l.slots = append(l.slots, rateSlot{client: client})
		l.index[client] = i
	default:
		// Full: the least recently seen client makes room.
		i = l.tail
		l.unlink(i)
		delete(l.index, l.slots[i].client)
		l.slots[i] = rateSlot{client: client}
		l.index[client] = i
	}
	l.pushFront(i)
	s := &l.slots[i]
	if s.n >= l.limit {
		return false, 0
	}
	s.n++
	return true, l.limit - s.n
}

// unlink takes slot i out of the recency list.
func (l *rateLimiter) unlink(i int32) {
	s := &l.slots[i]
	if s.prev >= 0 {
		l.slots[s.prev].next = s.next
	} else {
		l.head = s.next
	}
	if s.next >= 0 {
		l.slots[s.next].prev = s.prev
	} else {
		l.tail = s.prev
	}
	s.prev, s.next = -1, -1
}

// pushFront makes slot i the most recently seen.
func (l *rateLimiter) pushFront(i int32) {
	s := &l.slots[i]
	s.prev, s.next = -1, l.head
	if l.head >= 0 {
		l.slots[l.head].prev = i
	}
	l.head = i
	if l.tail < 0 {
		l.tail = i
	}
}

// clientOf returns the rate limit's key for a request: the client's IPv4
// address, or its IPv6 /64 (one host's usual share), taken from the
// operator's proxy header if one is configured.
func clientOf(req *http.Request, header string) netip.Prefix {
	host := ""
	if header != "" {
		// The last hop the proxy added is the one it saw.
		vals := strings.Split(req.Header.Get(header), ",")
		host = strings.TrimSpace(vals[len(vals)-1])
	}
	if host == "" {
		host, _, _ = net.SplitHostPort(req.RemoteAddr)
	}
	return clientPrefix(host)
}

// clientPrefix returns the rate limit's key for a client's address (host,
// without a port): the IPv4 address, or the IPv6 /64; the zero prefix
// for what is not an address.
func clientPrefix(host string) netip.Prefix {
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{}
	}
	ip = ip.Unmap().WithZone("")
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}

// tooMany is what a client past its limit is told, as LitePay says it.
const tooMany = "Too Many Attempts"

// limited wraps an API handler with the rate limit: every answer carries
// x-ratelimit-limit and x-ratelimit-remaining, and a client past its limit
// gets 429 "Too Many Attempts", as text, or through refuse, which answers
// it in the dialect's form. client names the budget a request draws on.
func limited(l *rateLimiter, client func(*http.Request) netip.Prefix, h httprouter.Handle, refuse ...func(http.ResponseWriter, string)) httprouter.Handle {
	if l.limit <= 0 {
		return h
	}
	limit := strconv.Itoa(l.limit)
	return func(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
		ok, left := l.allow(client(req))
		w.Header().Set("x-ratelimit-limit", limit)
		w.Header().Set("x-ratelimit-remaining", strconv.Itoa(left))
		if !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(rateWindow.Seconds())))
			if len(refuse) > 0 {
				refuse[0](w, tooMany)
				return
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(tooMany + "\n"))
			return
		}
		h(w, req, ps)
	}
}
