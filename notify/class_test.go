package notify_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ferry-relay/ferry/notify"
	"github.com/ferry-relay/ferry/notify/notifytest"
)

// refusal is an outbound policy's refusal (torproxy's ErrForbidden).
type refusal struct{}

func (refusal) Error() string         { return "address not allowed for callbacks: 10.1.2.3 is private" }
func (refusal) RefusedByPolicy() bool { return true }

// policyDialer refuses the host "refused.example" by policy, resolves no
// name (its resolver's server is a closed port), and dials address
// literals on loopback.
type policyDialer struct{ dead string }

func (d policyDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, _ := net.SplitHostPort(addr)
	if host == "refused.example" {
		return nil, &net.OpError{Op: "dial", Net: network, Err: refusal{}}
	}
	nd := net.Dialer{Resolver: &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dd net.Dialer
		return dd.DialContext(ctx, "tcp", d.dead)
	}}}
	return nd.DialContext(ctx, network, addr)
}

// TestFailureClasses (review 18, item 9): each way a delivery fails has a
// class that names no address, port or host, and the full error is kept
// beside it for the log.
func TestFailureClasses(t *testing.T) {
	dead := notifytest.DeadURL(t)
	tlsServer := httptest.NewTLSServer(http.HandlerFunc(notifytest.OK))
	t.Cleanup(tlsServer.Close)
	tests := []struct {
		name, url, class, full string
	}{
		{"refused", dead + "/cb", notify.ClassRefused, strings.TrimPrefix(dead, "http://")},
		{"dns", "http://nowhere.example/cb", notify.ClassDNS, "nowhere.example"},
		{"policy", "http://refused.example/cb", notify.ClassPolicy, "10.1.2.3"},
		{"tls", tlsServer.URL + "/cb", notify.ClassTLS, "certificate"},
		{"timeout", notifytest.NewEndpoint(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }).URL + "/cb", notify.ClassTimeout, "timeout"},
		{"status", notifytest.NewEndpoint(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }).URL + "/cb", notify.ClassHTTPStatus, "HTTP 500"},
		{"redirect", notifytest.NewEndpoint(t, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, dead, http.StatusFound) }).URL + "/cb", notify.ClassRedirect, "302"},
		{"not ok", notifytest.NewEndpoint(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("secret page")) }).URL + "/cb", notify.ClassNotOK, "secret page"},
	}
	q := notifytest.NewMemQueue()
	for _, tt := range tests {
		q.Add(tt.name, tt.url, notify.AckOK)
	}
	cfg := notify.DefaultConfig()
	cfg.Timeout = 3 * time.Second // a TLS handshake on a loaded machine takes its time
	cfg.Outbound = policyDialer{dead: strings.TrimPrefix(dead, "http://")}
	startNotifier(t, cfg, q)
	for _, tt := range tests {
		waitFor(t, tt.name, func() bool { return len(q.Results(tt.name)) > 0 })
		r := q.Results(tt.name)[0]
		if r.Class != tt.class || !strings.Contains(r.Err, tt.full) {
			t.Errorf("%s: class %q (error %q), want %q, with %q in the error", tt.name, r.Class, r.Err, tt.class, tt.full)
		}
	}
}

// TestClass reduces failures recorded in full, before classes were kept,
// to their class.
func TestClass(t *testing.T) {
	tests := []struct{ recorded, want string }{
		{"", ""},
		{notify.ClassTimeout, notify.ClassTimeout},
		{notify.ClassPolicy, notify.ClassPolicy},
		{"dial tcp 203.0.113.7:8443: connect: connection refused", notify.ClassRefused},
		{"dial tcp: lookup shop.internal on 127.0.0.53:53: no such host", notify.ClassDNS},
		{"dial tcp 10.0.0.5:80: address not allowed for callbacks: 10.0.0.5 is private", notify.ClassPolicy},
		{"dial abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuv.onion:80: a .onion host needs Tor (--tor-socks)", notify.ClassPolicy},
		{"socks connect tcp 127.0.0.1:9050->abc.onion:80: unknown error host unreachable", notify.ClassConnection},
		{"tls: failed to verify certificate: x509: certificate signed by unknown authority", notify.ClassTLS},
		{"timeout", notify.ClassTimeout},
		{"HTTP 500", notify.ClassHTTPStatus},
		{"redirect (HTTP 302) not followed", notify.ClassRedirect},
		{`answer is not *ok*: "hello"`, notify.ClassNotOK},
		{"read tcp 127.0.0.1:5000->203.0.113.7:80: read: connection reset by peer", notify.ClassConnection},
	}
	for _, tt := range tests {
		if got := notify.Class(tt.recorded); got != tt.want {
			t.Errorf("Class(%q) = %q, want %q", tt.recorded, got, tt.want)
		}
	}
	var pe notify.PolicyError
	if !errors.As(error(refusal{}), &pe) {
		t.Error("a refusal is not a PolicyError")
	}
}

// FuzzClass: whatever a queue recorded, Class answers a class (or "" for
// ""), never any of the text itself.
func FuzzClass(f *testing.F) {
	for _, s := range []string{"", "timeout", "HTTP 500", "dial tcp 10.0.0.5:80: connect: connection refused",
		"socks connect tcp 127.0.0.1:9050->abc.onion:80: unknown error host unreachable", `answer is not *ok*: "x"`} {
		f.Add(s)
	}
	known := map[string]bool{notify.ClassTimeout: true, notify.ClassRefused: true, notify.ClassDNS: true, notify.ClassTLS: true,
		notify.ClassPolicy: true, notify.ClassConnection: true, notify.ClassRedirect: true, notify.ClassHTTPStatus: true,
		notify.ClassNotOK: true, notify.ClassBadRequest: true}
	f.Fuzz(func(t *testing.T, recorded string) {
		got := notify.Class(recorded)
		if recorded == "" && got != "" || recorded != "" && !known[got] {
			t.Fatalf("Class(%q) = %q", recorded, got)
		}
	})
}
