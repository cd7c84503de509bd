package torproxy

import (
	"errors"
	"fmt"
	"net/netip"
)

// Errors callers branch on.
var (
	// ErrForbidden reports an address that callbacks may not reach. It is
	// a refusal by policy (see RefusedByPolicy).
	ErrForbidden error = policyError("address not allowed for callbacks")
	// ErrUnresolvable reports a host name that has no address.
	ErrUnresolvable = errors.New("host does not resolve")
)

// policyError is a connection refused by ferry's own rules, not by the
// network: the notifier shows it as such (notify.PolicyError).
type policyError string

func (e policyError) Error() string { return string(e) }

// RefusedByPolicy reports true: the dialer refused the connection itself.
func (e policyError) RefusedByPolicy() bool { return true }

// Guard decides which IP addresses outbound connections may reach. The zero
// Guard allows only public unicast addresses.
type Guard struct {
	// AllowPrivate lets callbacks reach loopback, private, link-local and
	// other non-public addresses: for tests, and shops on the operator's
	// own network.
	AllowPrivate bool
}

// forbidden lists the non-public IPv4 and IPv6 ranges beyond those netip's
// predicates name.
var forbidden = []struct {
	prefix netip.Prefix
	why    string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "this-network"},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignment"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("192.88.99.0/24"), "6to4 relay anycast"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
	{netip.MustParsePrefix("::/96"), "IPv4-compatible"},
	{netip.MustParsePrefix("100::/64"), "discard-only"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("2001:2::/48"), "benchmarking"},
	{netip.MustParsePrefix("2001:10::/28"), "ORCHID"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
}

// Embedded IPv4 carried by IPv6 forms, judged as the IPv4 they carry.
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	nat64Loc  = netip.MustParsePrefix("64:ff9b:1::/48")
	sixToFour = netip.MustParsePrefix("2002::/16")
	teredo    = netip.MustParsePrefix("2001::/32")
)

// Check returns nil if ip may be reached, and an error wrapping ErrForbidden
// that says why not otherwise.
func (g Guard) Check(ip netip.Addr) error {
	if g.AllowPrivate {
		return nil
	}
	if why := classify(ip); why != "" {
		return fmt.Errorf("%w: %s is %s", ErrForbidden, ip, why)
	}
	return nil
}

// classify returns why ip is not a public unicast address, or "".
func classify(ip netip.Addr) string {
	if !ip.IsValid() {
		return "invalid"
	}
	ip = ip.WithZone("")
	if ip.Is4In6() {
		if why := classify(ip.Unmap()); why != "" {
			return why + " (IPv4-mapped)"
		}
		return ""
	}
	switch {
	case ip.IsUnspecified():
		return "unspecified"
	case ip.IsLoopback():
		return "loopback"
	case ip.IsPrivate():
		return "private"
	case ip.IsLinkLocalUnicast():
		return "link-local"
	case ip.IsMulticast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast():
		return "multicast"
	case ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "broadcast"
	}
	for _, f := range forbidden {
		if f.prefix.Contains(ip) {
			return f.why
		}
	}
	if ip.Is6() {
		b := ip.As16()
		var v4 netip.Addr
		switch {
		case nat64.Contains(ip):
			v4 = netip.AddrFrom4([4]byte(b[12:16]))
		case nat64Loc.Contains(ip):
			// RFC 8215 local-use NAT64: any embedding; refuse outright.
			return "local NAT64"
		case sixToFour.Contains(ip):
			v4 = netip.AddrFrom4([4]byte(b[2:6]))
		case teredo.Contains(ip):
			// The client's IPv4 address is the last four bytes, inverted.
			v4 = netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]})
		}
		if v4.IsValid() {
			if why := classify(v4); why != "" {
				return why + " (embedded in " + ip.String() + ")"
			}
		}
	}
	return ""
}
