package mail

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"
)

// Config configures the SMTP server ferry sends through (--smtp-url,
// --smtp-from).
type Config struct {
	// URL is "smtp://[user:pass@]host[:port]" (a plain connection upgraded
	// with STARTTLS whenever the server offers it; port 587 by default) or
	// "smtps://[user:pass@]host[:port]" (TLS from the first byte; port
	// 465). User and password are percent-decoded.
	URL string
	// From is the sender address (envelope and From header), as net/mail
	// parses it: "ferry@example.com" or "Ferry <ferry@example.com>".
	// Required.
	From string
	// Timeout bounds one delivery: dial, commands and data
	// (DefaultTimeout when zero).
	Timeout time.Duration
	// TLS configures the TLS connection; optional. Its ServerName is set
	// from the URL's host when empty. Tests give RootCAs for a private
	// certificate.
	TLS *tls.Config
}

// DefaultTimeout bounds one delivery when Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// The default ports of the two schemes.
const (
	submissionPort = "587"
	smtpsPort      = "465"
)

// Validate reports what is wrong with c, naming the field, or nil. Its
// errors never contain the URL's password.
func (c Config) Validate() error {
	var errs []error
	if _, err := parseURL(c.URL); err != nil {
		errs = append(errs, fmt.Errorf("smtp-url: %w", err))
	}
	if c.From == "" {
		errs = append(errs, errors.New("smtp-from: required"))
	} else if _, err := parseAddress(c.From); err != nil {
		errs = append(errs, fmt.Errorf("smtp-from: %w", err))
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("smtp timeout: negative"))
	}
	return errors.Join(errs...)
}

// server is an SMTP URL, parsed.
type server struct {
	implicitTLS bool   // smtps://
	host, port  string // host without brackets
	user, pass  string
}

// auth reports whether credentials were given.
func (s server) auth() bool { return s.user != "" || s.pass != "" }

func (s server) addr() string { return net.JoinHostPort(s.host, s.port) }

// parseURL parses an SMTP URL. Its errors name what is wrong and never
// quote the URL, which may hold a password.
func parseURL(raw string) (server, error) {
	if raw == "" {
		return server{}, errors.New("required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return server{}, errors.New("not a URL")
	}
	var s server
	switch u.Scheme {
	case "smtp":
		s.port = submissionPort
	case "smtps":
		s.implicitTLS, s.port = true, smtpsPort
	default:
		return server{}, errors.New("scheme must be smtp or smtps")
	}
	switch {
	case u.Opaque != "":
		return server{}, errors.New("want smtp://host or smtps://host")
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.ForceQuery, u.Fragment != "":
		return server{}, errors.New("want no path, query or fragment")
	}
	s.host = u.Hostname()
	if s.host == "" {
		return server{}, errors.New("no host")
	}
	if !validHost(s.host) {
		return server{}, errors.New("host is not a host name or IP address")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return server{}, errors.New("port is not a number from 1 to 65535")
		}
		s.port = strconv.Itoa(n)
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
		if s.user == "" {
			return server{}, errors.New("credentials without a user name")
		}
	}
	return s, nil
}

// validHost reports whether h is an IP address or a DNS name: letters,
// digits, '-', '_' and '.'.
func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	if len(h) > 253 {
		return false
	}
	for i := 0; i < len(h); i++ {
		switch c := h[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

// loopback reports whether host names this machine: "localhost" or a
// loopback IP address. Only there may credentials cross a connection
// that is not TLS.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
