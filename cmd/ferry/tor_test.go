package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-relay/ferry/torproxy"
	"github.com/ferry-relay/ferry/torproxy/tortest"
)

// TestTorCallbacks sends callbacks through a real SOCKS5 proxy (Debian's
// microsocks, standing in for Tor's SocksPort): one to a .onion host, and,
// with --tor-all-callbacks, one to a clearnet name. Both names reach the
// proxy unresolved (the proxy's own hosts file is the only place they
// resolve), and the merchant gets a correctly signed callback each time.
func TestTorCallbacks(t *testing.T) {
	t.Parallel()
	n := startNode(t, "litecoin")
	onion := torproxy.OnionAddress(bytes.Repeat([]byte{3}, 32))
	socks := tortest.StartSOCKS(t, onion, "merchant.test")

	cfg := nodeConfig(t, n, t.TempDir())
	cfg.TorSOCKS = socks.Addr
	viaOnion := startFerry(t, cfg)
	m := startMerchant(t, cfg.DataDir)
	_, port, _ := strings.Cut(strings.TrimPrefix(m.URL, "http://"), ":")

	allCfg := nodeConfig(t, n, t.TempDir())
	allCfg.TorSOCKS, allCfg.TorAllCallbacks = socks.Addr, true
	viaTor := startFerry(t, allCfg)
	m2 := startMerchant(t, allCfg.DataDir)
	_, port2, _ := strings.Cut(strings.TrimPrefix(m2.URL, "http://"), ":")

	a := receive(t, viaOnion.URL, n.coin, newAddress(t, n), "http://"+onion+":"+port+"/cb.php?"+url.Values{"order": {"onion"}}.Encode())
	b := receive(t, viaTor.URL, n.coin, newAddress(t, n), "http://merchant.test:"+port2+"/cb.php?"+url.Values{"order": {"clearnet"}}.Encode())
	pay(t, n, a.InputAddress, 2_000_000)
	pay(t, n, b.InputAddress, 2_000_000)
	mine(t, n, 1)

	waitFor(t, "the .onion callback", func() bool { return len(m.calls(t, "end", map[string]string{"order": "onion"})) == 1 })
	waitFor(t, "the callback through Tor", func() bool { return len(m2.calls(t, "end", map[string]string{"order": "clearnet"})) == 1 })
	for _, c := range append(m.calls(t, "start", nil), m2.calls(t, "start", nil)...) {
		if !c.SigOK {
			t.Errorf("callback %s: bad signature", c.URL)
		}
	}
	// The proxy's log is read by a goroutine of its own: give it time.
	for _, want := range []string{onion + ":" + port, "merchant.test:" + port2} {
		waitFor(t, "the proxy's log of "+want, func() bool { return strings.Contains(strings.Join(socks.Connections(), " "), want) })
	}
}

// TestOnionServiceRestart publishes ferry's API as an onion service through
// Debian's tor (network disabled, cookie authentication): /healthz shows the
// address, and after a restart of ferry the address is the same.
func TestOnionServiceRestart(t *testing.T) {
	t.Parallel()
	n := startNode(t, "litecoin")
	tor := tortest.StartTor(t, "")
	cfg := nodeConfig(t, n, t.TempDir())
	cfg.TorControl = tor.Control
	cfg.RateLimit = 100

	onionOf := func(d *testDaemon) (string, bool) {
		resp, err := http.Get(d.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var h struct {
			Onion *struct {
				Address   string `json:"address"`
				Published bool   `json:"published"`
			} `json:"onion"`
		}
		json.NewDecoder(resp.Body).Decode(&h)
		if h.Onion == nil {
			t.Fatal("/healthz shows no onion service")
		}
		return h.Onion.Address, h.Onion.Published
	}

	d := startFerry(t, cfg)
	first, up := onionOf(d)
	if !up || !strings.HasSuffix(first, ".onion") || len(first) != 62 {
		t.Fatalf("onion %q published %v", first, up)
	}
	logged := d.Log.find("API published as an onion service", map[string]any{"onion": "http://" + first})
	if logged == nil {
		t.Fatal("the onion address was not logged")
	}
	// Tor's target, the onion listener, serves the API.
	resp, err := http.Get("http://" + logged["target"].(string) + "/api/check?method=litecoin&address=x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("x-ratelimit-limit") != "1000" {
		t.Errorf("onion listener: %d, rate limit %q", resp.StatusCode, resp.Header.Get("x-ratelimit-limit"))
	}
	fi, err := os.Stat(filepath.Join(cfg.DataDir, "onion.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("onion.key: %v, %v", fi, err)
	}
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}

	d = startFerry(t, cfg)
	second, up := onionOf(d)
	if second != first || !up {
		t.Errorf("after a restart: %s (published %v), before %s", second, up, first)
	}
}
