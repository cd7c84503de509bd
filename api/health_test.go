package api_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-relay/ferry/api"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/relay/relaytest"
	"github.com/ferry-relay/ferry/torproxy"
)

// TestHealthzAsksNodesOncePerSecond: /healthz is public and not rate
// limited, so however many requests come at once, each coin's node is
// asked at most once per second of the engine's clock; the answer keeps
// up with the node from one second to the next.
func TestHealthzAsksNodesOncePerSecond(t *testing.T) {
	clk := relaytest.Clock()
	cfg := relay.DefaultConfig()
	cfg.Clock = clk
	env := relaytest.NewEngine(t, relaytest.Options{Config: &cfg, Coins: []string{"ltc", "btc"}, Hosts: &torproxy.Dialer{}, Started: true})
	srv := newServer(t, api.New(api.DefaultConfig(), env.Engine, nil))
	ltc, btc := env.Nodes["ltc"].(*relaytest.Node), env.Nodes["btc"].(*relaytest.Node)

	// round makes 20 concurrent requests; each answers status, and each
	// node has been asked calls times in all.
	round := func(name string, status int, calls int64) {
		t.Helper()
		const n = 20
		got := make([]int, n)
		bodies := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				resp, err := http.Get(srv.URL + "/healthz")
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				got[i], bodies[i] = resp.StatusCode, string(b)
			})
		}
		wg.Wait()
		for i := range n {
			if got[i] != status || !strings.Contains(bodies[i], `"coin":"bitcoin"`) {
				t.Fatalf("%s: request %d: %d %s, want %d", name, i, got[i], bodies[i], status)
			}
		}
		if ltc.Calls() != calls || btc.Calls() != calls {
			t.Fatalf("%s: the nodes were asked %d and %d times in all, want %d each", name, ltc.Calls(), btc.Calls(), calls)
		}
	}
	round("first second", http.StatusOK, 1)
	clk.Advance(999 * time.Millisecond)
	round("the same second", http.StatusOK, 1)

	// The node's state is a second old at most.
	ltc.SetDown(errors.New("connection refused"))
	clk.Advance(time.Millisecond)
	round("the next second, Litecoin's node down", http.StatusServiceUnavailable, 2)
	clk.Advance(time.Second)
	ltc.SetDown(nil)
	round("back", http.StatusOK, 3)
}
