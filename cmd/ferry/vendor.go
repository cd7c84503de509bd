package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry/api"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/store"
)

// vendorUsage is ferry vendor's help.
const vendorUsage = `usage:
  ferry vendor add --name NAME --email EMAIL [--ltc-address A] [--btc-address B]
  ferry vendor list
  ferry vendor remove ID
  ferry vendor key add ID [--scope create|all]
                                           another API key: scope create (the default) may create
                                           and read payments only; all may also cancel, accept
                                           and refund them
  ferry vendor key list ID                 the vendor's API keys: key_id, scope, created
  ferry vendor key revoke ID KEY_ID        the key stops working at once
  ferry vendor key ID                      one new API key of scope all in place of all the
                                           vendor's keys: they stop working at once
  ferry vendor secret ID                   a new secret; the old one stops working at once
  ferry vendor webhook add ID URL          register an endpoint for the vendor's webhooks
  ferry vendor webhook list ID
  ferry vendor webhook remove ID ENDPOINT
  ferry vendor webhook secret [--rotate] ID   the secret that signs them
Each takes --data-dir (FERRY_DATA_DIR), and --network (FERRY_NETWORK) for a
data directory the daemon never ran on. With the daemon running, they go
through its admin socket; otherwise they open the store themselves.`

// vendorMain runs "ferry vendor …" and returns the exit code: it prints
// JSON on stdout, and errors on stderr.
func vendorMain(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, vendorUsage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	if cmd == "webhook" && len(rest) > 0 {
		cmd, rest = "webhook "+rest[0], rest[1:]
	}
	if cmd == "key" && len(rest) > 0 && (rest[0] == "add" || rest[0] == "list" || rest[0] == "revoke") {
		cmd, rest = "key "+rest[0], rest[1:]
	}
	fs := flag.NewFlagSet("ferry vendor "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	def := DefaultConfig()
	dataDir := fs.String("data-dir", def.DataDir, "the daemon's data directory")
	network := fs.String("network", def.Network, "mainnet, testnet or regtest")
	var nv invoice.NewVendor
	var ltc, btc string
	if cmd == "add" {
		fs.StringVar(&nv.Name, "name", "", "the vendor's name, shown to its customers")
		fs.StringVar(&nv.Email, "email", "", "where the vendor's email goes")
		fs.StringVar(&ltc, "ltc-address", "", "the vendor's Litecoin payout address")
		fs.StringVar(&btc, "btc-address", "", "the vendor's Bitcoin payout address")
	}
	rotate := fs.Bool("rotate", false, "make a new webhook secret")
	scope := string(store.ScopeCreate)
	if cmd == "key add" {
		fs.StringVar(&scope, "scope", scope, "what the key may do: create (create and read payments) or all")
	}
	pos, err := parseInterspersed(fs, rest)
	if err != nil {
		fmt.Fprintf(stderr, "ferry vendor %s: %s\n%s\n", cmd, redacted(err), vendorUsage)
		return 2
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if v := getenv(EnvName("data-dir")); v != "" && !set["data-dir"] {
		*dataDir = v
	}
	if v := getenv(EnvName("network")); v != "" && !set["network"] {
		*network = v
	}
	nv.Payout = map[string]string{}
	for coin, a := range map[string]string{"ltc": ltc, "btc": btc} {
		if a != "" {
			nv.Payout[coin] = a
		}
	}

	var c *vendorClient
	if daemon, err := dialAdmin(*dataDir); err == nil {
		c = daemon
	} else {
		offline, closeStore, err := openVendors(*dataDir, *network)
		if err != nil {
			fmt.Fprintln(stderr, "ferry vendor:", redacted(err))
			return 1
		}
		defer closeStore()
		c = offline
	}

	var out any
	arg := func(i int) string { return url.PathEscape(pos[i]) }
	switch n := len(pos); {
	case cmd == "add" && n == 0:
		out, err = c.do(ctx, http.MethodPost, "/vendors", nv)
	case cmd == "list" && n == 0:
		out, err = c.do(ctx, http.MethodGet, "/vendors", nil)
	case cmd == "remove" && n == 1:
		out, err = c.do(ctx, http.MethodDelete, "/vendors/"+arg(0), nil)
	case cmd == "key" && n == 1:
		out, err = c.do(ctx, http.MethodPost, "/vendors/"+arg(0)+"/key", nil)
	case cmd == "key add" && n == 1:
		out, err = c.do(ctx, http.MethodPost, "/vendors/"+arg(0)+"/keys", map[string]string{"scope": scope})
	case cmd == "key list" && n == 1:
		out, err = c.do(ctx, http.MethodGet, "/vendors/"+arg(0)+"/keys", nil)
	case cmd == "key revoke" && n == 2:
		out, err = c.do(ctx, http.MethodDelete, "/vendors/"+arg(0)+"/keys/"+arg(1), nil)
	case cmd == "secret" && n == 1:
		out, err = c.do(ctx, http.MethodPost, "/vendors/"+arg(0)+"/secret", nil)
	case cmd == "webhook add" && n == 2:
		out, err = c.do(ctx, http.MethodPost, "/vendors/"+arg(0)+"/webhooks", map[string]string{"url": pos[1]})
	case cmd == "webhook list" && n == 1:
		out, err = c.do(ctx, http.MethodGet, "/vendors/"+arg(0)+"/webhooks", nil)
	case cmd == "webhook remove" && n == 2:
		out, err = c.do(ctx, http.MethodDelete, "/vendors/"+arg(0)+"/webhooks/"+arg(1), nil)
	case cmd == "webhook secret" && n == 1:
		q := ""
		if *rotate {
			q = "?rotate=1"
		}
		out, err = c.do(ctx, http.MethodGet, "/vendors/"+arg(0)+"/webhook-secret"+q, nil)
	default:
		fmt.Fprintln(stderr, vendorUsage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "ferry vendor:", redacted(err))
		return 1
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.Encode(out)
	return 0
}

// parseInterspersed parses args with fs, flags before, between and after
// the positional arguments ("key add ID --scope all"), and returns the
// positional ones; those after "--" are all positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		dashes := slices.Index(args, "--")
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if dashes >= 0 && len(args)-dashes-1 == len(rest) {
			return append(pos, rest...), nil // fs stopped at "--"
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// vendorClient is where ferry vendor's commands go: the operator's API,
// on the daemon's admin socket, or served in-process over the store when
// no daemon runs.
type vendorClient struct{ http *http.Client }

// dialAdmin connects to the daemon's admin socket, if a daemon runs.
func dialAdmin(dataDir string) (*vendorClient, error) {
	path := adminSocket(dataDir)
	conn, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		return nil, err
	}
	conn.Close()
	return &vendorClient{http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}}, nil
}

// inProcess serves requests with a handler in this process.
type inProcess struct{ h http.Handler }

// RoundTrip implements http.RoundTripper.
func (p inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	p.h.ServeHTTP(rec, req)
	return rec.Result(), nil
}

// do makes one call of the operator's API and returns its JSON answer, or
// its error message as an error.
func (c *vendorClient) do(ctx context.Context, method, path string, body any) (any, error) {
	var in io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		in = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://ferry"+path, in)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	if resp.StatusCode >= 300 {
		return nil, errors.New(fmt.Sprint(out["error"]))
	}
	return out, nil
}

// openVendors opens the data directory's store to manage its vendors,
// serving the operator's API in-process; a daemon holding the store is
// reported.
func openVendors(dataDir, network string) (*vendorClient, func(), error) {
	if _, err := os.Stat(dataDir); err != nil {
		return nil, nil, fmt.Errorf("data directory %s: %w", dataDir, err)
	}
	db, err := store.Open(dataDir)
	if err != nil {
		if strings.Contains(err.Error(), "resource temporarily unavailable") {
			return nil, nil, fmt.Errorf("the daemon holds %s but its admin socket does not answer", dataDir)
		}
		return nil, nil, err
	}
	if n, err := db.Network(); err == nil {
		network = n
	} else if !errors.Is(err, store.ErrNotFound) {
		db.Close()
		return nil, nil, err
	}
	net, err := chain.ParseNetwork(network)
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("--network: %w", err)
	}
	v := &invoice.Vendors{Store: db, Destination: invoice.PayoutParser(net), Clock: clock.System{}, Log: zerolog.Nop()}
	c := &vendorClient{http: &http.Client{Transport: inProcess{api.AdminHandler(v, zerolog.Nop())}}}
	return c, func() { db.Close() }, nil
}
