package relay

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
)

// parseURL checks the form of a URL ferry is to deliver to: http or https,
// printable ASCII, a host that is not escaped, a valid port, no
// credentials. Its errors complete a sentence that begins with what the
// URL is ("callback URL must be http or https").
func parseURL(raw string) (*url.URL, error) {
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c >= 0x7f {
			return nil, errors.New("must be printable ASCII, percent-encoded, without white space")
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("is malformed")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, errors.New("must be http or https")
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return nil, errors.New("has no host")
	}
	if strings.Contains(u.Host, "%") {
		return nil, errors.New("host must not be escaped or carry an IPv6 zone")
	}
	if u.User != nil {
		return nil, errors.New("must not carry credentials (user:password@)")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, errors.New("has a bad port")
		}
	}
	return u, nil
}
