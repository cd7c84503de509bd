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

// maxRateClients bounds the clients tracked in one window; past it, new
// clients are refused until the window turns, so that a flood of sources
// cannot grow the table without bound.
const maxRateClients = 1 << 20

// rateLimiter counts each client's requests in fixed one-minute windows. It
// is safe for concurrent use.
type rateLimiter struct {
	limit int
	clock clock.Clock

	mu     sync.Mutex
	window time.Time
	counts map[netip.Prefix]int
}

func newRateLimiter(limit int, clk clock.Clock) *rateLimiter {
	return &rateLimiter{limit: limit, clock: clk, counts: map[netip.Prefix]int{}}
}

// allow counts a request of client and returns whether it is within the
// limit, and how many requests the client has left in the window.
func (l *rateLimiter) allow(client netip.Prefix) (bool, int) {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if w := now.Truncate(rateWindow); !w.Equal(l.window) {
		l.window = w
		clear(l.counts)
	}
	n, known := l.counts[client]
	if !known && len(l.counts) >= maxRateClients {
		return false, 0
	}
	if n >= l.limit {
		return false, 0
	}
	l.counts[client] = n + 1
	return true, l.limit - n - 1
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
