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
