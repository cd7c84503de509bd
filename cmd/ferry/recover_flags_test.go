package main

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/recovery"
)

func TestParseHeights(t *testing.T) {
	both := []string{"ltc", "btc"}
	for _, c := range []struct {
		name string
		in   string
		ids  []string
		want map[string]int64
		err  string
	}{
		{name: "empty", in: "", ids: both, want: map[string]int64{"ltc": -1, "btc": -1}},
		{name: "one height for all", in: "123", ids: both, want: map[string]int64{"ltc": 123, "btc": 123}},
		{name: "per coin", in: "ltc=5, btc=7", ids: both, want: map[string]int64{"ltc": 5, "btc": 7}},
		{name: "a coin left out", in: "btc=0", ids: both, want: map[string]int64{"ltc": -1, "btc": 0}},
		{name: "negative", in: "-1", ids: both, err: "not a block height"},
		{name: "not a number", in: "ltc=x", ids: both, err: "ltc"},
		{name: "a coin off", in: "btc=5", ids: []string{"ltc"}, err: "not an enabled coin"},
		{name: "twice", in: "ltc=1,ltc=2", ids: both, err: "twice"},
		{name: "missing height", in: "ltc=1,btc", ids: both, err: "coin=height"},
		{name: "too high", in: "99999999999999", ids: both, err: "not a block height"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseHeights(c.in, c.ids)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("%q: %v, want an error with %q", c.in, err, c.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Errorf("%q: %v, %v; want %v", c.in, got, err, c.want)
			}
		})
	}
}

// FuzzParseHeights: --from-height is the operator's text; whatever it is,
// the parse either fails or gives every enabled coin a height from -1 up.
func FuzzParseHeights(f *testing.F) {
	for _, s := range []string{"", "0", "123", "ltc=5,btc=7", "ltc=", "=5", "ltc=1,ltc=2", " btc = 3 "} {
		f.Add(s)
	}
	ids := []string{"ltc", "btc"}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseHeights(s, ids)
		if err != nil {
			return
		}
		if len(got) != len(ids) {
			t.Fatalf("%q: %v", s, got)
		}
		for _, id := range ids {
			if h, ok := got[id]; !ok || h < -1 {
				t.Fatalf("%q: %v", s, got)
			}
		}
	})
}

func TestParseSweepTo(t *testing.T) {
	ltc, _ := chain.Litecoin(chain.Mainnet)
	btc, _ := chain.Bitcoin(chain.Mainnet)
	const la, lb = "ltc1qqypqxpq9qcrsszg2pvxq6rs0zqg3yyc5dyg36p", "LKKHMBjCU89fyFNgSRprDoD8Jb25N8uWvd"
	const ba = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
	for _, c := range []struct {
		name  string
		in    string
		coins []*chain.Coin
		want  map[string]string
		err   string
	}{
		{name: "none", in: " ", coins: []*chain.Coin{ltc, btc}, want: map[string]string{}},
		{name: "one", in: la, coins: []*chain.Coin{ltc, btc}, want: map[string]string{"ltc": la}},
		{name: "both", in: ba + ", " + la, coins: []*chain.Coin{ltc, btc}, want: map[string]string{"ltc": la, "btc": ba}},
		{name: "two of a coin", in: la + "," + lb, coins: []*chain.Coin{ltc}, err: "two litecoin addresses"},
		{name: "a coin off", in: ba, coins: []*chain.Coin{ltc}, err: "no address of an enabled coin"},
		{name: "garbage", in: "nope", coins: []*chain.Coin{ltc, btc}, err: "malformed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseSweepTo(c.in, c.coins)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("%q: %v, want an error with %q", c.in, err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			addrs := map[string]string{}
			for id, d := range got {
				addrs[id] = d.Address
			}
			if !reflect.DeepEqual(addrs, c.want) {
				t.Errorf("%q: %v, want %v", c.in, addrs, c.want)
			}
		})
	}
}

// TestProgressPrinter: a log gets a JSON line per second at most within a
// phase, the last state of a phase when the next begins; a terminal gets a
// bar redrawn on one line, a new line per phase.
func TestProgressPrinter(t *testing.T) {
	clk := clock.NewTest(time.Unix(1700000000, 0))
	scan := func(h int64) recovery.Event {
		return recovery.Event{Coin: "ltc", Phase: recovery.PhaseScan, Height: h, From: 100, To: 199, Window: 2000, Addresses: 3, Payments: 4}
	}

	var log bytes.Buffer
	p := newProgressPrinter(&log, clk)
	if p.tty {
		t.Fatal("a buffer is a terminal")
	}
	p.Report(scan(100))
	for h := int64(101); h < 150; h++ {
		clk.Advance(10 * time.Millisecond)
		p.Report(scan(h))
	}
	clk.Advance(time.Second)
	p.Report(scan(150))
	p.Report(scan(151))
	p.Report(recovery.Event{Coin: "ltc", Phase: recovery.PhaseRebuild, Height: 99})
	p.Done()
	var heights []int64
	for _, line := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		var ev recovery.Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		heights = append(heights, ev.Height)
	}
	if want := []int64{100, 150, 151, 99}; !reflect.DeepEqual(heights, want) {
		t.Errorf("lines at heights %v, want %v", heights, want)
	}

	var term bytes.Buffer
	p = &progressPrinter{out: &term, tty: true, clock: clk}
	p.Report(scan(149))
	clk.Advance(time.Second)
	p.Report(scan(199))
	p.Report(recovery.Event{Coin: "ltc", Phase: recovery.PhaseFinished, Height: 199})
	p.Done()
	out := term.String()
	if !strings.Contains(out, "[###############---------------]  50%  block 149 of 199") ||
		!strings.Contains(out, "[##############################] 100%  block 199 of 199  addresses 3  payments 4  window 2000") ||
		strings.Count(out, "\n") != 2 || !strings.HasSuffix(out, "\n") {
		t.Errorf("terminal output: %q", out)
	}
}
