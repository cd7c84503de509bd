package main

import (
	"io"
	"regexp"
)

// userinfo matches the password of a URL with credentials
// ("scheme://user:password@"), up to the last '@' before the URL's path:
// a password may hold '@' unescaped.
var userinfo = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.\-]*://[^/\s"'@:]*):[^/\s"']*@`)

// redact returns s with the password of every URL in it replaced by
// "xxxxx", as url.URL.Redacted does: whatever reaches an error message or a
// log (a malformed --ltc-rpc, a node's error quoting its URL) shows no
// credentials.
func redact(s string) string {
	return userinfo.ReplaceAllString(s, "${1}:xxxxx@")
}

// redacted returns err's message, redacted.
func redacted(err error) string { return redact(err.Error()) }

// redactor is an io.Writer that redacts what it writes to w: the daemon's
// log goes through one. Each Write is one log line (zerolog writes whole
// events), so a URL is never split between two writes.
type redactor struct{ w io.Writer }

// Write implements io.Writer: it writes p redacted, and reports p's whole
// length on success.
func (r redactor) Write(p []byte) (int, error) {
	if !userinfo.Match(p) {
		return r.w.Write(p)
	}
	if _, err := r.w.Write(userinfo.ReplaceAll(p, []byte("${1}:xxxxx@"))); err != nil {
		return 0, err
	}
	return len(p), nil
}
