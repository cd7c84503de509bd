// Package torproxy is how ferry reaches the outside world: the dialer that
// merchant callbacks go through.
//
// Dialer resolves a callback's host itself and judges every address it is
// about to connect to with a Guard, at dial time, so that a callback URL can
// never reach the operator's own network: not by naming a private address,
// not by a name that resolves to one, not by a name that resolves to a public
// address when checked and a private one when dialed (DNS rebinding), and not
// by the disguises IPv6 offers IPv4 addresses (mapped, compatible, NAT64,
// 6to4, Teredo).
package torproxy
