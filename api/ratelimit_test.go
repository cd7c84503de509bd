package api_test

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-relay/ferry/api"
	"github.com/ferry-relay/ferry/relay/relaytest"
	"github.com/ferry-relay/ferry/torproxy"
	"github.com/ferry-relay/ferry/torproxy/dnstest"
)

func TestRateLimit(t *testing.T) {
	dns := dnstest.NewServer(t)
	dns.Set("shop.example", netip.MustParseAddr("93.184.216.34"))
	clock := relaytest.Clock()
	cfg := api.DefaultConfig()
	cfg.RateLimit = 3
	cfg.ClientIPHeader = "X-Real-IP"
	cfg.Clock = clock
	srv, db := newAPIWith(t, cfg, &torproxy.Dialer{Resolver: dns.Resolver()})

	call := func(ip, path string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("X-Real-IP", ip)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	mintPath := "/api/receive?method=litecoin&callback_req=0&address=" + dest
	checkPath := "/api/check?method=litecoin&address=" + dest

	// Three calls a minute, /api/receive and /api/check together.
	for i, path := range []string{mintPath, checkPath, mintPath} {
		resp := call("203.0.113.7", path)
		if resp.Header.Get("x-ratelimit-limit") != "3" || resp.Header.Get("x-ratelimit-remaining") != strconv.Itoa(2-i) {
			t.Errorf("call %d: limit %q remaining %q", i, resp.Header.Get("x-ratelimit-limit"), resp.Header.Get("x-ratelimit-remaining"))
		}
	}
	resp := call("203.0.113.7", mintPath)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("x-ratelimit-remaining") != "0" {
		t.Fatalf("fourth call: %d, remaining %q", resp.StatusCode, resp.Header.Get("x-ratelimit-remaining"))
	}
	if n, _ := db.NextIndex("ltc"); n != 2 {
		t.Errorf("%d addresses minted, want 2: a refused call changes nothing", n)
	}

	// Other clients have their own budget; an IPv6 client's /64 is one.
	if resp := call("203.0.113.8", mintPath); resp.StatusCode != 200 {
		t.Errorf("another client: %d", resp.StatusCode)
	}
	for i := range 3 {
		call("2001:db8:1:2::"+strconv.Itoa(i+1), checkPath)
	}
	if resp := call("2001:db8:1:2:ffff::1", checkPath); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a fourth address of the same /64: %d", resp.StatusCode)
	}
	// The merchant API shares the budget, and refuses in its own form.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/p/", strings.NewReader("vendor=x"))
	req.Header.Set("X-Real-IP", "203.0.113.7")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		var r struct{ Status, Message string }
		err := json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests || err != nil || r.Status != "error" || r.Message != "Too Many Attempts" {
			t.Errorf("/p/ past the limit: %d %+v %v", resp.StatusCode, r, err)
		}
	}
	// /healthz is not limited.
	if resp := call("203.0.113.7", "/healthz"); resp.StatusCode == http.StatusTooManyRequests {
		t.Error("/healthz is rate limited")
	}

	// The next minute starts afresh.
	clock.Advance(time.Minute)
	if resp := call("203.0.113.7", mintPath); resp.StatusCode != 200 || resp.Header.Get("x-ratelimit-remaining") != "2" {
		t.Errorf("next minute: %d, remaining %q", resp.StatusCode, resp.Header.Get("x-ratelimit-remaining"))
	}
}
