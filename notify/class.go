package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/url"
	"strings"
	"syscall"
)

// Classes of failed deliveries: what may be shown of a failure to anyone,
// without the endpoint's address, port, host name or answer, which stay in
// the log.
const (
	ClassTimeout    = "timeout"
	ClassRefused    = "connection refused"
	ClassDNS        = "dns"
	ClassTLS        = "tls"
	ClassPolicy     = "refused by policy"
	ClassConnection = "connection failed"
	ClassRedirect   = "redirect not followed"
	ClassHTTPStatus = "http status"
	ClassNotOK      = "answer not *ok*"
	ClassBadRequest = "invalid request"
)

// classes are every class, for Class.
var classes = map[string]bool{
	ClassTimeout: true, ClassRefused: true, ClassDNS: true, ClassTLS: true, ClassPolicy: true, ClassConnection: true,
	ClassRedirect: true, ClassHTTPStatus: true, ClassNotOK: true, ClassBadRequest: true,
}

// PolicyError is implemented by the errors of an Outbound that refuses a
// connection by its own rules (an address callbacks may not reach, a
// .onion host without Tor): RefusedByPolicy reports true. Such a failure
// is of ClassPolicy.
type PolicyError interface {
	error
	RefusedByPolicy() bool
}

// classify returns the class of a request's error.
func classify(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var (
		pe   PolicyError
		dns  *net.DNSError
		ne   net.Error
		cve  *tls.CertificateVerificationError
		rhe  tls.RecordHeaderError
		ae   tls.AlertError
		uae  x509.UnknownAuthorityError
		he   x509.HostnameError
		cie  x509.CertificateInvalidError
		text = err.Error()
	)
	switch {
	case errors.As(err, &pe) && pe.RefusedByPolicy():
		return ClassPolicy
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout(), strings.Contains(text, "Client.Timeout"):
		return ClassTimeout
	case errors.As(err, &dns):
		return ClassDNS
	case errors.Is(err, syscall.ECONNREFUSED):
		return ClassRefused
	case errors.As(err, &cve), errors.As(err, &rhe), errors.As(err, &ae), errors.As(err, &uae), errors.As(err, &he), errors.As(err, &cie):
		return ClassTLS
	}
	return textClass(text)
}

// Class returns the class of a failure as a queue recorded it: a class is
// itself; the full text of a failure (recorded before failures were
// classed) is reduced to its class; "" (delivered) stays "".
func Class(recorded string) string {
	if recorded == "" || classes[recorded] {
		return recorded
	}
	switch {
	case strings.HasPrefix(recorded, "redirect (HTTP "):
		return ClassRedirect
	case strings.HasPrefix(recorded, "HTTP "):
		return ClassHTTPStatus
	case strings.HasPrefix(recorded, "answer is not *ok*"):
		return ClassNotOK
	}
	return textClass(recorded)
}

// textClass classes an error by its text: for the errors that carry no
// type to tell them by (a SOCKS proxy's replies, a record's text).
func textClass(text string) string {
	t := strings.ToLower(text)
	switch {
	case strings.Contains(t, "not allowed for callbacks") || strings.Contains(t, "needs tor"):
		return ClassPolicy
	case strings.Contains(t, "timeout") || strings.Contains(t, "deadline exceeded") || strings.Contains(t, "ttl expired"):
		return ClassTimeout
	case strings.Contains(t, "no such host") || strings.Contains(t, "does not resolve") || strings.Contains(t, "lookup "):
		return ClassDNS
	case strings.Contains(t, "connection refused"):
		return ClassRefused
	case strings.Contains(t, "tls:") || strings.Contains(t, "x509:") || strings.Contains(t, "certificate"):
		return ClassTLS
	}
	return ClassConnection
}
