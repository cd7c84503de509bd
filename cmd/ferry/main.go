// Command ferry is a self-hosted, non-custodial payment forwarding relay
// for Litecoin and Bitcoin, compatible with LitePay's receive and merchant
// APIs.
//
// Every flag has an environment variable: --ltc-rpc is FERRY_LTC_RPC. A flag
// given on the command line wins over its variable. "ferry vendor add|list|
// remove" manages the invoice engine's vendors; "ferry recover" rebuilds a
// lost store from the seed and the chain, and sweeps stranded coins.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/rs/zerolog"
)

func init() {
	// Millisecond timestamps: a block's arrival and its scan are apart by
	// less than a second. (A zerolog global, so set once, here.)
	zerolog.TimeFieldFormat = "2006-01-02T15:04:05.000Z07:00"
}

// subcommands are ferry's commands besides the daemon, each in a file of
// its name: they take the arguments after their name and return the exit
// code.
var subcommands = map[string]func(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int{
	"vendor":  vendorMain,
	"recover": recoverMain,
}

func main() {
	if len(os.Args) > 1 {
		if sub, ok := subcommands[os.Args[1]]; ok {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			code := sub(ctx, os.Args[2:], os.Stdout, os.Stderr, os.Getenv)
			stop()
			os.Exit(code)
		}
	}
	cfg := DefaultConfig()
	if err := cfg.ParseFlags(os.Args[1:], os.Getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "ferry:", redacted(err))
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, cfg, os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "ferry:", redacted(err))
		os.Exit(1)
	}
}
