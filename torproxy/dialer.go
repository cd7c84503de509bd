package torproxy

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"syscall"
	"time"

	"golang.org/x/net/proxy"
)

// Dialer dials TCP connections for callbacks. It resolves names like
// net.Dialer, but every address it is about to connect to, after
// resolution, passes its Guard first: the check happens on the very address
// of the socket, so a name cannot be made to resolve differently between a
// check and a dial. A .onion host, or any host with AllViaTor, goes through
// Tor's SOCKS5 port instead, by name: Tor resolves it, never this process.
// It is safe for concurrent use.
type Dialer struct {
	Guard Guard
	// Timeout bounds the connection, resolution included (default 10 s).
	Timeout time.Duration
	// Resolver resolves names (default net.DefaultResolver).
	Resolver *net.Resolver
	// Tor is Tor's SOCKS5 proxy (see NewTor); nil refuses .onion hosts.
	Tor proxy.ContextDialer
	// AllViaTor sends every connection through Tor, not only .onion ones.
	AllViaTor bool
}

// ErrNoTor reports a .onion host, or AllViaTor, without a Tor proxy: a
// refusal by policy.
var ErrNoTor error = policyError("a .onion host needs Tor (--tor-socks)")

// NewTor returns a dialer through the SOCKS5 proxy at addr (Tor's
// SocksPort), which hands host names to the proxy unresolved. The
// connection to the proxy itself is not guarded: it is the operator's.
func NewTor(addr string, timeout time.Duration) (proxy.ContextDialer, error) {
	d, err := proxy.SOCKS5("tcp", addr, nil, &net.Dialer{Timeout: timeout})
	if err != nil {
		return nil, fmt.Errorf("tor socks %s: %w", addr, err)
	}
	cd, ok := d.(proxy.ContextDialer)
	if !ok {
		return nil, fmt.Errorf("tor socks %s: dialer has no DialContext", addr)
	}
	return cd, nil
}

// IsOnion reports whether host is a Tor onion service name.
func IsOnion(host string) bool {
	return strings.HasSuffix(strings.ToLower(strings.TrimSuffix(host, ".")), ".onion")
}

// onionV3 matches a version 3 onion address, with optional subdomains:
// 56 base32 characters before ".onion".
var onionV3 = regexp.MustCompile(`^([a-z0-9-]+\.)*[a-z2-7]{56}\.onion$`)

// viaTor reports whether a connection to host goes through Tor.
func (d *Dialer) viaTor(host string) bool { return d.AllViaTor || IsOnion(host) }

// DialContext connects to addr ("host:port") on network "tcp", "tcp4" or
// "tcp6". It fails with an error wrapping ErrForbidden if every address the
// host resolves to is forbidden, or ErrNoTor for a .onion host without Tor.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, fmt.Errorf("dial %s: network %q not allowed", addr, network)
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	if d.viaTor(host) {
		if d.Tor == nil {
			return nil, fmt.Errorf("dial %s: %w", addr, ErrNoTor)
		}
		// An address literal still passes the guard: Tor would reach it
		// from an exit, but ferry does not ask for non-public ones.
		if ip, err := netip.ParseAddr(host); err == nil {
			if err := d.Guard.Check(ip); err != nil {
				return nil, err
			}
		}
		ctx, cancel := context.WithTimeout(ctx, d.timeout())
		defer cancel()
		return d.Tor.DialContext(ctx, "tcp", addr)
	}
	nd := net.Dialer{
		Timeout:  d.timeout(),
		Resolver: d.Resolver,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %s", ErrForbidden, address)
			}
			return d.Guard.Check(ap.Addr())
		},
	}
	return nd.DialContext(ctx, network, addr)
}

func (d *Dialer) timeout() time.Duration {
	if d.Timeout > 0 {
		return d.Timeout
	}
	return 10 * time.Second
}

// CheckHost resolves host (a name or an IP literal) and returns nil if
// callbacks may reach every address it resolves to. It is the check made
// when a callback URL is registered; DialContext checks again at every
// connection, since a name can resolve differently later. A host that goes
// through Tor is not resolved here: a .onion name must be well formed (v3)
// and Tor configured.
func (d *Dialer) CheckHost(ctx context.Context, host string) error {
	if ip, err := netip.ParseAddr(host); err == nil {
		return d.Guard.Check(ip)
	}
	if d.viaTor(host) {
		if d.Tor == nil {
			return fmt.Errorf("%s: %w", host, ErrNoTor)
		}
		if IsOnion(host) && !onionV3.MatchString(strings.ToLower(strings.TrimSuffix(host, "."))) {
			return fmt.Errorf("%w: %s is not a v3 onion address", ErrUnresolvable, host)
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, d.timeout())
	defer cancel()
	r := d.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	ips, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("%w: %s does not resolve", ErrUnresolvable, host)
	}
	if len(ips) == 0 {
		return fmt.Errorf("%w: %s has no address", ErrUnresolvable, host)
	}
	for _, ip := range ips {
		if err := d.Guard.Check(ip); err != nil {
			return fmt.Errorf("%s resolves to a forbidden address: %w", host, err)
		}
	}
	return nil
}
