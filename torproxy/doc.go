// Package torproxy is how ferry reaches the outside world and how the
// outside world reaches ferry over Tor.
//
// Dialer is the dialer merchant callbacks go through. It resolves a
// callback's host itself and judges every address it is about to connect to
// with a Guard, at dial time, so that a callback URL can never reach the
// operator's own network: not by naming a private address, not by a name
// that resolves to one, not by a name that resolves to a public address when
// checked and a private one when dialed (DNS rebinding), and not by the
// disguises IPv6 offers IPv4 addresses (mapped, compatible, NAT64, 6to4,
// Teredo). A .onion host (or every host, if asked) goes through Tor's SOCKS5
// port instead, by name, never resolved locally.
//
// PublishOnion publishes ferry's API as a Tor onion service through Tor's
// control port (SAFECOOKIE, COOKIE, password or no authentication), with a
// key derived from a seed the caller keeps, so that the .onion address stays
// the same across restarts; it publishes again when Tor restarts.
//
// The control protocol client is ferry's own: it speaks only PROTOCOLINFO,
// AUTHCHALLENGE, AUTHENTICATE and ADD_ONION.
package torproxy
