package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/recovery"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/store"
)

// recoverUsage is ferry recover's help.
const recoverUsage = `usage: ferry recover [--from-height N | --from-height ltc=N,btc=M] [--gap 1000] [--sweep-to ADDR[,ADDR]] [ferry's flags]
Rebuilds the store of --data-dir from its seed and the chain, lists the coins
stranded at the seed's addresses, and with --sweep-to spends them there. It
takes ferry's own flags (nodes, fee addresses, expiry) and variables, and
needs ferry stopped. Progress goes to stderr, the report (JSON) to stdout.`

// recoverConfig is ferry recover's configuration: the daemon's, and its
// own flags.
type recoverConfig struct {
	Config
	// FromHeight is "" (the store's oldest address), a height for every
	// coin, or "ltc=N,btc=M".
	FromHeight string
	Gap        uint
	// SweepTo lists addresses to sweep to, at most one per coin.
	SweepTo string
}

// defaultGap is how many indexes past the highest one found are looked
// for.
const defaultGap = 1000

// flagSet declares ferry's flags and recover's over rc.
func (rc *recoverConfig) flagSet(out io.Writer) *flag.FlagSet {
	fs := rc.Config.flagSet(out)
	fs.StringVar(&rc.FromHeight, "from-height", rc.FromHeight, "first block to scan: a height for every coin, or ltc=N,btc=M; empty: the store's oldest address")
	fs.UintVar(&rc.Gap, "gap", rc.Gap, "how many indexes past the highest one found are looked for")
	fs.StringVar(&rc.SweepTo, "sweep-to", rc.SweepTo, "address (one per coin, comma-separated) the stranded coins are swept to; empty: list them only")
	return fs
}

// recoverMain runs "ferry recover …" and returns the exit code.
func recoverMain(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	rc := recoverConfig{Config: DefaultConfig(), Gap: defaultGap}
	if err := parseFlags(rc.flagSet(io.Discard), args, getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, recoverUsage)
			return 0
		}
		fmt.Fprintf(stderr, "ferry recover: %s\n%s\n", redacted(err), recoverUsage)
		return 2
	}
	progress := newProgressPrinter(stderr, clock.System{})
	err := runRecover(ctx, rc, stdout, progress, stderr)
	progress.Done()
	switch {
	case err != nil && ctx.Err() != nil:
		fmt.Fprintln(stderr, "ferry recover: interrupted; what it found is kept: run it again to go on")
		return 1
	case err != nil:
		fmt.Fprintln(stderr, "ferry recover:", redacted(err))
		return 1
	}
	return 0
}

// recoverReport is what ferry recover prints on stdout.
type recoverReport struct {
	DataDir string `json:"data_dir"`
	// DryRun is set when no coin had an address to sweep to.
	DryRun bool               `json:"dry_run"`
	Coins  []*recovery.Report `json:"coins"`
}

// runRecover checks rc, opens the data directory, recovers every coin and
// prints the report to stdout; the daemon's scanner logs its warnings to
// logOut.
func runRecover(ctx context.Context, rc recoverConfig, stdout io.Writer, progress recovery.Progress, logOut io.Writer) error {
	set, err := rc.settings()
	if err != nil {
		return err
	}
	if rc.Gap < 1 || rc.Gap >= 1<<31 {
		return fmt.Errorf("--gap: must be between 1 and 2^31, not %d", rc.Gap)
	}
	ids := make([]string, len(set.coins))
	coins := make([]*chain.Coin, len(set.coins))
	for i, c := range set.coins {
		ids[i], coins[i] = c.coin.ID(), c.coin
	}
	from, err := parseHeights(rc.FromHeight, ids)
	if err != nil {
		return fmt.Errorf("--from-height: %w", err)
	}
	sweepTo, err := parseSweepTo(rc.SweepTo, coins)
	if err != nil {
		return fmt.Errorf("--sweep-to: %w", err)
	}

	// The seed, which must be there, and the store.
	seedPath := filepath.Join(rc.DataDir, "seed")
	if _, err := os.Stat(seedPath); err != nil {
		return fmt.Errorf("no seed: %w (ferry recover rebuilds a store around the seed it was made with)", err)
	}
	seed, _, err := store.LoadSecret(seedPath, chain.SeedLen)
	if err != nil {
		return err
	}
	defer clear(seed)
	fp, err := chain.SeedFingerprint(seed)
	if err != nil {
		return err
	}
	db, err := store.Open(rc.DataDir)
	if err != nil {
		if strings.Contains(err.Error(), "resource temporarily unavailable") {
			return fmt.Errorf("ferry is running on %s: stop it first", rc.DataDir)
		}
		return err
	}
	defer db.Close()
	if err := db.CheckNetwork(rc.Network); err != nil {
		return err
	}
	fresh, err := db.Fresh()
	if err != nil {
		return err
	}
	if !fresh {
		if err := db.CheckSeed(fp); err != nil {
			return fmt.Errorf("%s: %w", seedPath, err)
		}
	}

	// The coins, their nodes reached.
	cfg := recovery.Config{Store: db, Gap: uint32(rc.Gap), FeeTarget: set.relay.FeeTarget, Progress: progress, Clock: clock.System{}}
	if set.relay.AddressExpiry > 0 {
		cfg.WatchFor = set.relay.AddressExpiry + set.relay.ExpiryGrace
	}
	nodes := map[string]*chain.Node{}
	for _, c := range set.coins {
		defer c.node.Close()
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := c.node.CheckNetwork(cctx, c.coin.Network())
		cancel()
		if err != nil {
			return fmt.Errorf("%s node %s: %w", c.coin.Name(), c.node, err)
		}
		keys, err := chain.NewKeychain(seed, c.coin.CoinType())
		if err != nil {
			return err
		}
		rcoin := recovery.Coin{Chain: c.coin, Keys: keys, Node: c.node, FeeAddress: c.feeDest, MinDeposit: c.minDeposit,
			FallbackFeeRate: c.fallback, From: from[c.coin.ID()]}
		if d, ok := sweepTo[c.coin.ID()]; ok {
			rcoin.SweepTo = &d
		}
		cfg.Coins = append(cfg.Coins, rcoin)
		nodes[c.coin.ID()] = c.node
	}
	// On a store ferry never ran on, the recovery brings the scan up to
	// the chain itself; on another, ferry's scan does, with its forwarder
	// watching.
	log := zerolog.New(redactor{logOut}).Level(zerolog.WarnLevel).With().Timestamp().Str("component", "scanner").Logger()
	if fresh {
		cfg.Scan = func(ctx context.Context, id string) (store.Cursor, error) {
			coin, _ := chain.CoinByID(id, set.network)
			watch, err := db.LoadWatchSet(id)
			if err != nil {
				return store.Cursor{}, err
			}
			sc, err := relay.NewScanner(relay.ScannerConfig{Coin: coin, Blocks: nodes[id], Store: db, Watch: watch, Clock: clock.System{},
				PollInterval: set.relay.PollInterval, WatchFor: cfg.WatchFor, Log: log.With().Str("coin", id).Logger()})
			if err != nil {
				return store.Cursor{}, err
			}
			return sc.Sync(ctx)
		}
	}

	reports, err := recovery.Run(ctx, cfg)
	if err != nil {
		return err
	}
	// The store is whole: recording the seed makes it startable.
	if fresh {
		if err := db.CheckSeed(fp); err != nil {
			return err
		}
	}
	out := recoverReport{DataDir: rc.DataDir, DryRun: len(sweepTo) == 0, Coins: reports}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// parseHeights parses --from-height for the coins ids: "" (every coin
// from its store's oldest address, -1), one height for every coin, or
// "ltc=N,btc=M" (a coin left out starts from its oldest address).
func parseHeights(s string, ids []string) (map[string]int64, error) {
	from := map[string]int64{}
	for _, id := range ids {
		from[id] = -1
	}
	if s == "" {
		return from, nil
	}
	if !strings.Contains(s, "=") {
		h, err := parseHeight(s)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			from[id] = h
		}
		return from, nil
	}
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		id, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("%.40q: want coin=height", part)
		}
		if _, enabled := from[id]; !enabled {
			return nil, fmt.Errorf("%.20q is not an enabled coin (%s)", id, strings.Join(ids, ", "))
		}
		if seen[id] {
			return nil, fmt.Errorf("%s given twice", id)
		}
		seen[id] = true
		h, err := parseHeight(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		from[id] = h
	}
	return from, nil
}

// parseHeight parses a block height.
func parseHeight(s string) (int64, error) {
	h, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || h < 0 || h >= 1<<40 {
		return 0, fmt.Errorf("%.40q is not a block height", s)
	}
	return h, nil
}

// parseSweepTo parses --sweep-to: addresses separated by commas, each of
// exactly one of coins, at most one per coin.
func parseSweepTo(s string, coins []*chain.Coin) (map[string]chain.Destination, error) {
	to := map[string]chain.Destination{}
	if strings.TrimSpace(s) == "" {
		return to, nil
	}
	for _, a := range strings.Split(s, ",") {
		a = strings.TrimSpace(a)
		var why []string
		matched := false
		for _, c := range coins {
			d, err := c.ParseDestination(a)
			if err != nil {
				why = append(why, fmt.Sprintf("%s: %s", c.Name(), relay.DestinationError(err)))
				continue
			}
			if _, dup := to[c.ID()]; dup {
				return nil, fmt.Errorf("two %s addresses", c.Name())
			}
			to[c.ID()], matched = d, true
		}
		if !matched {
			return nil, fmt.Errorf("%.100q is no address of an enabled coin (%s)", a, strings.Join(why, "; "))
		}
	}
	return to, nil
}
