// Command ferry is a self-hosted, non-custodial payment forwarding relay
// for Litecoin and Bitcoin, compatible with LitePay's receive and merchant
// APIs.
//
// "ferry [flags]" runs the relay. Every flag has an environment variable:
// --ltc-rpc is FERRY_LTC_RPC. A flag given on the command line wins over
// its variable. "ferry vendor …" manages the invoice engine's vendors;
// "ferry recover" rebuilds a lost store from the seed and the chain, and
// sweeps stranded coins; "ferry version" prints the build's version.
// "ferry --help" and "ferry COMMAND --help" print the usage and the flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/rs/zerolog"
)

func init() {
	// Millisecond timestamps: a block's arrival and its scan are apart by
	// less than a second. (A zerolog global, so set once, here.)
	zerolog.TimeFieldFormat = "2006-01-02T15:04:05.000Z07:00"
}

// commandMain runs a command with the arguments after its name and returns
// the exit code: 0, 1 when it failed, 2 for a usage error.
type commandMain func(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int

// command is one of ferry's commands besides the daemon, each in a file of
// its name.
type command struct {
	name    string
	summary string
	main    commandMain
}

// commands are ferry's commands besides the daemon, in the order of the
// help. A command is added here and in a file of its name.
var commands = []command{
	{"vendor", "manage the vendors of invoices: their API keys, secret and webhooks", vendorMain},
	{"recover", "rebuild a lost store from the seed and the chain; sweep stranded coins", recoverMain},
	{"version", "print the version, the commit and the Go version of this build", versionMain},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := ferryMain(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// ferryMain runs ferry's command line, args without the program's name,
// and returns the exit code: a command, or the daemon.
func ferryMain(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version") {
		return versionMain(ctx, args[1:], stdout, stderr, getenv)
	}
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		for _, c := range commands {
			if c.name == args[0] {
				return c.main(ctx, args[1:], stdout, stderr, getenv)
			}
		}
		return usageError(stderr, "ferry", fmt.Errorf("unknown command %q", args[0]))
	}
	return daemonMain(ctx, args, stdout, stderr, getenv)
}

// daemonMain runs the daemon with the flags args until ctx ends, and
// returns the exit code.
func daemonMain(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	cfg := DefaultConfig()
	fs := cfg.flagSet(stdout)
	fs.usage = daemonUsage()
	if err := parseFlags(fs, args, getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return usageError(stderr, "ferry", err)
	}
	if err := Run(ctx, cfg, stderr, nil); err != nil {
		fmt.Fprintln(stderr, "ferry:", redacted(err))
		return 1
	}
	return 0
}

// daemonUsage opens ferry's help: the usage, the commands, then the
// flags.
func daemonUsage() string {
	var b strings.Builder
	b.WriteString(`usage: ferry [flags]               run the relay
       ferry COMMAND [arguments]   run a command
       ferry --version

ferry is a self-hosted, non-custodial payment forwarding relay for Litecoin
and Bitcoin, compatible with LitePay's receive and merchant APIs.

Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-10s %s\n", c.name, c.summary)
	}
	b.WriteString(`
"ferry COMMAND --help" shows a command's usage and flags.

Flags: every flag has an environment variable, FERRY_ and its name (--ltc-rpc
is FERRY_LTC_RPC); a flag given on the command line wins over its variable.`)
	return b.String()
}
