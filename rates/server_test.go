package rates_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/rates"
)

// start is the test clocks' time.
var start = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

// api is a local stand-in for a price API: it answers from the answers
// recorded in testdata, or as a test tells it to, and records the requests.
type api struct {
	*httptest.Server

	mu      sync.Mutex
	queries []string // the raw query of each request, in order
	agents  []string
	reply   func(q url.Values) (int, string)
	hold    chan struct{} // if set, each request waits for it to close
	arrived chan struct{} // if set, each request signals it on arrival
}

// newAPI starts an api that answers with reply until a test sets another.
func newAPI(tb testing.TB, reply func(q url.Values) (int, string)) *api {
	tb.Helper()
	a := &api{reply: reply}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.queries = append(a.queries, r.URL.RawQuery)
		a.agents = append(a.agents, r.UserAgent())
		reply, hold, arrived := a.reply, a.hold, a.arrived
		a.mu.Unlock()
		if arrived != nil {
			arrived <- struct{}{}
		}
		if hold != nil {
			<-hold
		}
		status, body := reply(r.URL.Query())
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	tb.Cleanup(a.Close)
	return a
}

// set makes the api answer every request with status and body.
func (a *api) set(status int, body string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reply = func(url.Values) (int, string) { return status, body }
}

// requests returns how many requests the api has had.
func (a *api) requests() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.queries)
}

// lastQuery returns the decoded query of the last request.
func (a *api) lastQuery(tb testing.TB) url.Values {
	tb.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.queries) == 0 {
		tb.Fatal("no request")
	}
	q, err := url.ParseQuery(a.queries[len(a.queries)-1])
	if err != nil {
		tb.Fatal(err)
	}
	return q
}

// readFile returns a file of testdata.
func readFile(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// coinGeckoReply answers like CoinGecko's simple price API, from the
// recorded answer: only the coins and currencies asked for, each number as
// CoinGecko wrote it.
func coinGeckoReply(tb testing.TB) func(url.Values) (int, string) {
	tb.Helper()
	var recorded map[string]map[string]json.RawMessage
	if err := json.Unmarshal([]byte(readFile(tb, "coingecko/simple_price.json")), &recorded); err != nil {
		tb.Fatal(err)
	}
	return func(q url.Values) (int, string) {
		out := map[string]map[string]json.RawMessage{}
		for id := range strings.SplitSeq(q.Get("ids"), ",") {
			quotes, ok := recorded[id]
			if !ok {
				continue
			}
			out[id] = map[string]json.RawMessage{}
			for vs := range strings.SplitSeq(q.Get("vs_currencies"), ",") {
				if n, ok := quotes[vs]; ok {
					out[id][vs] = n
				}
			}
		}
		b, _ := json.Marshal(out)
		return http.StatusOK, string(b)
	}
}

// krakenReply answers like Kraken's ticker, from the recorded answer: the
// pairs asked for by their short names (LTCUSD, XBTUSD), under Kraken's
// canonical names (XLTCZUSD, XXBTZUSD), or Kraken's error if any pair is
// unknown.
func krakenReply(tb testing.TB) func(url.Values) (int, string) {
	tb.Helper()
	var recorded struct {
		Result map[string]json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal([]byte(readFile(tb, "kraken/ticker.json")), &recorded); err != nil {
		tb.Fatal(err)
	}
	byShort := map[string]string{}
	for name := range recorded.Result {
		short := name
		if len(name) == 8 && name[0] == 'X' && name[4] == 'Z' {
			short = name[1:4] + name[5:]
		}
		byShort[short] = name
	}
	unknown := readFile(tb, "kraken/unknown_pair.json")
	return func(q url.Values) (int, string) {
		out := map[string]json.RawMessage{}
		for short := range strings.SplitSeq(q.Get("pair"), ",") {
			name, ok := byShort[short]
			if !ok {
				return http.StatusOK, unknown
			}
			out[name] = recorded.Result[name]
		}
		b, _ := json.Marshal(map[string]any{"error": []string{}, "result": out})
		return http.StatusOK, string(b)
	}
}

// newSource returns the source spec names, pointed at a.
func newSource(tb testing.TB, spec string, a *api, clk clock.Clock) rates.Source {
	tb.Helper()
	src, err := rates.New(spec, rates.Options{BaseURL: a.URL, Client: a.Client(), Clock: clk})
	if err != nil {
		tb.Fatal(err)
	}
	return src
}

// mustPair parses a pair.
func mustPair(tb testing.TB, s string) rates.Pair {
	tb.Helper()
	p, err := rates.ParsePair(s)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// mustDecimal parses a decimal.
func mustDecimal(tb testing.TB, s string) rates.Decimal {
	tb.Helper()
	d, err := rates.ParseDecimal(s)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}
