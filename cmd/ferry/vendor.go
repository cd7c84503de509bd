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

// vendorUsage opens ferry vendor's help.
const vendorUsage = `usage: ferry vendor COMMAND [ARGUMENTS] [flags]

Manages the invoice engine's vendors: their API keys, secret and webhook
endpoints. Each command prints JSON on stdout. With the daemon running, the
commands go through its admin socket; otherwise they open the store
themselves.`

// vendorCommand is one of ferry vendor's commands.
type vendorCommand struct {
	// name is the command's words: "list", "key add".
	name string
	// args names its arguments, "ID KEY_ID"; opts shows its own flags.
	args, opts string
	summary    string
	// flags declares its own flags, if any, over o.
	flags func(g *flagGroup, o *vendorOptions)
	// request is its call of the operator's API, for its arguments a.
	request func(o *vendorOptions, a []string) vendorRequest
}

// vendorOptions are the values of the vendor commands' own flags.
type vendorOptions struct {
	name, email, ltc, btc string
	scope                 string
	rotate                bool
}

// vendorRequest is one call of the operator's API.
type vendorRequest struct {
	method, path string
	body         any
}

// vendorPath is the API path of the vendor id, and the rest, each part
// escaped.
func vendorPath(id string, rest ...string) string {
	p := "/vendors/" + url.PathEscape(id)
	for _, r := range rest {
		p += "/" + url.PathEscape(r)
	}
	return p
}

// vendorCommands are ferry vendor's commands, in the order of its help.
var vendorCommands = []vendorCommand{
	{name: "add", opts: "--name NAME --email EMAIL [--ltc-address A] [--btc-address B]",
		summary: "a new vendor: prints its id, its API key (scope all) and its secret",
		flags: func(g *flagGroup, o *vendorOptions) {
			g.String(&o.name, "name", "the vendor's name, shown to its customers")
			g.String(&o.email, "email", "where the vendor's email goes")
			g.String(&o.ltc, "ltc-address", "the vendor's Litecoin payout address")
			g.String(&o.btc, "btc-address", "the vendor's Bitcoin payout address")
		},
		request: func(o *vendorOptions, _ []string) vendorRequest {
			nv := invoice.NewVendor{Name: o.name, Email: o.email, Payout: map[string]string{}}
			for coin, a := range map[string]string{"ltc": o.ltc, "btc": o.btc} {
				if a != "" {
					nv.Payout[coin] = a
				}
			}
			return vendorRequest{http.MethodPost, "/vendors", nv}
		}},
	{name: "list", summary: "every vendor",
		request: func(*vendorOptions, []string) vendorRequest { return vendorRequest{http.MethodGet, "/vendors", nil} }},
	{name: "remove", args: "ID", summary: "the vendor is removed",
		request: func(_ *vendorOptions, a []string) vendorRequest {
			return vendorRequest{http.MethodDelete, vendorPath(a[0]), nil}
		}},
	{name: "key", args: "ID", summary: "one new API key of scope all in place of all the vendor's keys: they stop working at once",
		request: func(_ *vendorOptions, a []string) vendorRequest {
			return vendorRequest{http.MethodPost, vendorPath(a[0], "key"), nil}
		}},
	{name: "key add", args: "ID", opts: "[--scope create|all]",
		summary: "another API key: scope create (the default) may create and read payments only; all may also cancel, accept and refund them",
		flags: func(g *flagGroup, o *vendorOptions) {
			g.String(&o.scope, "scope", "what the key may do: create (create and read payments) or all")
		},
		request: func(o *vendorOptions, a []string) vendorRequest {
			return vendorRequest{http.MethodPost, vendorPath(a[0], "keys"), map[string]string{"scope": o.scope}}
		}},
	{name: "key list", args: "ID", summary: "the vendor's API keys: key_id, scope, created (never a key)",
		request: func(_ *vendorOptions, a []string) vendorRequest {
			return vendorRequest{http.MethodGet, vendorPath(a[0], "keys"), nil}
		}},
	{name: "key revoke", args: "ID KEY_ID", summary: "the key stops working at once",
		request: func(_ *vendorOptions, a []string) vendorRequest {
			return vendorRequest{http.MethodDelete, vendorPath(a[0], "keys", a[1]), nil}
		}},
	{name: "secret", args: "ID", summary: "a new secret; the old one stops working at once",
		request: func(_ *vendorOptions, a []string) vendorRequest {
			return vendorRequest{http.MethodPost, vendorPath(a[0], "secret"), nil}
		}},
	{name: "webhook add", args: "ID URL", summary: "registers an endpoint for the vendor's webhooks",
		request: func(_ *vendorOptions, a []string) vendorRequest {
			return vendorRequest{http.MethodPost, vendorPath(a[0], "webhooks"), map[string]string{"url": a[1]}}
		}},
	{name: "webhook list", args: "ID", summary: "the vendor's webhook endpoints",
		request: func(_ *vendorOptions, a []string) vendorRequest {
			return vendorRequest{http.MethodGet, vendorPath(a[0], "webhooks"), nil}
		}},
	{name: "webhook remove", args: "ID ENDPOINT", summary: "the endpoint gets no more webhooks",
		request: func(_ *vendorOptions, a []string) vendorRequest {
			return vendorRequest{http.MethodDelete, vendorPath(a[0], "webhooks", a[1]), nil}
		}},
	{name: "webhook secret", args: "ID", opts: "[--rotate]", summary: "the secret that signs the vendor's webhooks",
		flags: func(g *flagGroup, o *vendorOptions) {
			g.Bool(&o.rotate, "rotate", "make a new webhook secret; the old one stops working at once")
		},
		request: func(o *vendorOptions, a []string) vendorRequest {
			q := ""
			if o.rotate {
				q = "?rotate=1"
			}
			return vendorRequest{http.MethodGet, vendorPath(a[0], "webhook-secret") + q, nil}
		}},
}

// vendorMain runs "ferry vendor …" and returns the exit code: it prints
// JSON on stdout, help on stdout, and errors on stderr.
func vendorMain(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	call, code := parseVendorArgs(args, stdout, stderr, getenv)
	if call == nil {
		return code
	}
	c, closeClient, err := vendorConnect(call.dataDir, call.network)
	if err != nil {
		fmt.Fprintln(stderr, "ferry vendor:", redacted(err))
		return 1
	}
	defer closeClient()
	out, err := c.do(ctx, call.req.method, call.req.path, call.req.body)
	if err != nil {
		fmt.Fprintln(stderr, "ferry vendor:", redacted(err))
		return 1
	}
	printJSON(stdout, out)
	return 0
}

// vendorCall is one ferry vendor command, parsed: where it goes and what
// it asks.
type vendorCall struct {
	dataDir, network string
	req              vendorRequest
}

// parseVendorArgs finds the command of args and parses its arguments and
// flags. Without a call, it has printed the help (exit code 0) or the
// error (2).
func parseVendorArgs(args []string, stdout, stderr io.Writer, getenv func(string) string) (*vendorCall, int) {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "ferry vendor: no command\nRun 'ferry vendor --help' for usage.\n")
		return nil, 2
	}
	cmd, rest := findVendorCommand(args)
	if cmd == nil {
		return nil, vendorGroup(args, stdout, stderr)
	}
	call := &vendorCall{}
	var o vendorOptions
	fs := vendorFlags(cmd, &call.dataDir, &call.network, &o)
	pos, err := parseInterspersed(fs.FlagSet, rest)
	switch {
	case errors.Is(err, flag.ErrHelp):
		printVendorHelp(stdout, cmd.name)
		return nil, 0
	case err != nil:
		return nil, usageError(stderr, "ferry vendor "+cmd.name, flagParseError(err))
	case len(pos) != len(strings.Fields(cmd.args)):
		return nil, usageError(stderr, "ferry vendor "+cmd.name, fmt.Errorf("want the arguments %q, not %q", strings.Fields(cmd.args), pos))
	}
	if err := fs.setFromEnv(getenv); err != nil {
		return nil, usageError(stderr, "ferry vendor "+cmd.name, err)
	}
	call.req = cmd.request(&o, pos)
	return call, 0
}

// findVendorCommand returns the command that args name, of one word or
// two ("key add"), and the arguments after its name; nil if none.
func findVendorCommand(args []string) (*vendorCommand, []string) {
	var one, two *vendorCommand
	for i := range vendorCommands {
		switch c := &vendorCommands[i]; {
		case len(args) > 1 && c.name == args[0]+" "+args[1]:
			two = c
		case c.name == args[0]:
			one = c
		}
	}
	if two != nil {
		return two, args[2:]
	}
	if one != nil {
		return one, args[1:]
	}
	return nil, nil
}

// vendorGroup answers args that name no command: the help of ferry vendor
// or of a group of its commands ("webhook"), or an error. It returns the
// exit code.
func vendorGroup(args []string, stdout, stderr io.Writer) int {
	help := len(args) > 1 && isHelp(args[1])
	switch {
	case isHelp(args[0]):
		printVendorHelp(stdout, "")
		return 0
	case strings.HasPrefix(args[0], "-"):
		return usageError(stderr, "ferry vendor", fmt.Errorf("a command comes first, not %q", args[0]))
	case !isVendorGroup(args[0]):
		return usageError(stderr, "ferry vendor", fmt.Errorf("unknown command %q", args[0]))
	case help:
		printVendorHelp(stdout, args[0])
		return 0
	case len(args) == 1:
		return usageError(stderr, "ferry vendor "+args[0], errors.New("no command"))
	}
	return usageError(stderr, "ferry vendor "+args[0], fmt.Errorf("unknown command %q", args[1]))
}

// isVendorGroup reports whether word starts the names of vendor commands
// of two words.
func isVendorGroup(word string) bool {
	for _, c := range vendorCommands {
		if strings.HasPrefix(c.name, word+" ") {
			return true
		}
	}
	return false
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "--help" || arg == "-help"
}

// vendorFlags declares the flags of cmd over their defaults: those of
// every vendor command over dataDir and network, and its own over o.
func vendorFlags(cmd *vendorCommand, dataDir, network *string, o *vendorOptions) *flagSet {
	name := "ferry vendor"
	if cmd != nil {
		name += " " + cmd.name
	}
	def := DefaultConfig()
	*dataDir, *network = def.DataDir, def.Network
	*o = vendorOptions{scope: string(store.ScopeCreate)}
	fs := newFlagSet(name, io.Discard)
	if cmd != nil && cmd.flags != nil {
		cmd.flags(fs.ownGroup("Flags of "+name), o)
	}
	g := fs.group("Flags of every vendor command")
	g.String(dataDir, "data-dir", "the daemon's data directory")
	g.String(network, "network", "mainnet, testnet or regtest, for a data directory the daemon never ran on")
	return fs
}

// usage is the command's usage line, without "ferry vendor".
func (c *vendorCommand) usage() string {
	return strings.Join(strings.Fields(c.name+" "+c.args+" "+c.opts), " ")
}

// printVendorHelp writes the help of the vendor commands named name, or
// whose name starts with it ("key": key ID, key add, …), or all of them
// if name is empty.
func printVendorHelp(w io.Writer, name string) {
	var cmds []*vendorCommand
	for i, c := range vendorCommands {
		if name == "" || c.name == name || strings.HasPrefix(c.name, name+" ") {
			cmds = append(cmds, &vendorCommands[i])
		}
	}
	var dataDir, network string
	var o vendorOptions
	if len(cmds) == 1 {
		// One command: its usage, then its own flags and the others.
		fs := vendorFlags(cmds[0], &dataDir, &network, &o)
		fs.usage = "usage: ferry vendor " + cmds[0].usage() + " [flags]\n\n" + strings.Join(wrap(cmds[0].summary+".", helpWidth), "\n")
		fs.printHelp(w)
		return
	}
	fs := vendorFlags(nil, &dataDir, &network, &o)
	var b strings.Builder
	b.WriteString(vendorUsage + "\n\nCommands:\n")
	for _, c := range cmds {
		fmt.Fprintf(&b, "  %s\n", c.usage())
		for _, l := range wrap(c.summary, helpWidth-6) {
			fmt.Fprintf(&b, "      %s\n", l)
		}
	}
	b.WriteString("\n\"ferry vendor COMMAND --help\" shows a command's own flags.")
	fs.usage = b.String()
	fs.printHelp(w)
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

// vendorConnect returns the client of the operator's API of dataDir: the
// daemon's admin socket if a daemon runs, else the store, opened, and its
// closing.
func vendorConnect(dataDir, network string) (*vendorClient, func(), error) {
	if daemon, err := dialAdmin(dataDir); err == nil {
		return daemon, func() {}, nil
	}
	return openVendors(dataDir, network)
}

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
