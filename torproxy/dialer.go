package torproxy

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// Dialer dials TCP connections for callbacks. It resolves names like
// net.Dialer, but every address it is about to connect to, after
// resolution, passes its Guard first: the check happens on the very address
// of the socket, so a name cannot be made to resolve differently between a
// check and a dial. It is safe for concurrent use.
type Dialer struct {
	Guard Guard
	// Timeout bounds the connection, resolution included (default 10 s).
	Timeout time.Duration
	// Resolver resolves names (default net.DefaultResolver).
	Resolver *net.Resolver
}

// DialContext connects to addr ("host:port") on network "tcp", "tcp4" or
// "tcp6". It fails with an error wrapping ErrForbidden if every address the
// host resolves to is forbidden.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, fmt.Errorf("dial %s: network %q not allowed", addr, network)
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
// connection, since a name can resolve differently later.
func (d *Dialer) CheckHost(ctx context.Context, host string) error {
	if ip, err := netip.ParseAddr(host); err == nil {
		return d.Guard.Check(ip)
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
