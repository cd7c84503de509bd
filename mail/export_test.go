package mail

import (
	"context"
	"net"
)

// RedirectDial makes s connect to addr whatever host its URL names, so
// that a test reaches a local server under a name that is not loopback.
func RedirectDial(s *Sender, addr string) {
	s.dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
}
