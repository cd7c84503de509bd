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

// recoverUsage opens ferry recover's help.
const recoverUsage = `usage: ferry recover [--from-height N | --from-height ltc=N,btc=M] [--gap 1000]
                     [--sweep-to ADDR[,ADDR]] [ferry's flags]

Rebuilds the store of --data-dir from its seed and the chain, lists the coins
stranded at the seed's addresses, and with --sweep-to spends them there. It
takes ferry's own flags (nodes, fee addresses, expiry) and variables, and
needs ferry stopped. Progress goes to stderr, the report (JSON) to stdout.
It accepts ferry's other flags too (ferry --help), and does not use them.`

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

// flagSet declares recover's flags and ferry's over rc; help receives
// the help that --help asks for.
func (rc *recoverConfig) flagSet(help io.Writer) *flagSet {
	fs := newFlagSet("ferry recover", help)
	fs.usage = recoverUsage
	g := fs.group("Recovery")
	g.String(&rc.FromHeight, "from-height", "first block to scan: a height for every coin, or ltc=N,btc=M; empty: the store's oldest address")
	g.Uint(&rc.Gap, "gap", "how many indexes past the highest one found are looked for")
	g.String(&rc.SweepTo, "sweep-to", "address (one per coin, comma-separated) the stranded coins are swept to; empty: list them only")
	rc.Config.declareFlags(fs)
	// The groups of flags recover uses; it accepts the others.
	for _, g := range fs.groups {
		switch g.title {
		case groupInvoices, groupAPIs, groupTor, groupEmail:
			g.hidden = true
		}
	}
	return fs
}

// recoverMain runs "ferry recover …" and returns the exit code.
func recoverMain(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	rc := recoverConfig{Config: DefaultConfig(), Gap: defaultGap}
	if err := parseFlags(rc.flagSet(stdout), args, getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return usageError(stderr, "ferry recover", err)
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
	plan, err := rc.plan()
	if err != nil {
		return err
	}
	defer plan.closeNodes()

	// The seed, which must be there, and the store.
	seed, fp, err := loadSeed(rc.DataDir)
	if err != nil {
		return err
	}
	defer clear(seed)
	db, fresh, err := openRecoverStore(rc.Config, fp)
	if err != nil {
		return err
	}
	defer db.Close()

	// The coins, their nodes reached.
	cfg := recovery.Config{Store: db, Gap: uint32(rc.Gap), FeeTarget: plan.set.relay.FeeTarget, Progress: progress,
		Clock: clock.System{}, WatchFor: plan.watchFor()}
	if cfg.Coins, err = plan.coins(ctx, seed); err != nil {
		return err
	}
	// On a store ferry never ran on, the recovery brings the scan up to
	// the chain itself; on another, ferry's scan does, with its forwarder
	// watching.
	if fresh {
		cfg.Scan = plan.scan(db, cfg.WatchFor, logOut)
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
	return printJSON(stdout, recoverReport{DataDir: rc.DataDir, DryRun: len(plan.sweepTo) == 0, Coins: reports})
}

// recoverPlan is ferry recover's configuration, checked: the daemon's
// settings, the height each coin's scan starts from and where each coin's
// stranded coins go.
type recoverPlan struct {
	set     *settings
	from    map[string]int64
	sweepTo map[string]chain.Destination
}

// plan checks rc, without touching disk or network.
func (rc recoverConfig) plan() (*recoverPlan, error) {
	set, err := rc.settings()
	if err != nil {
		return nil, err
	}
	p := &recoverPlan{set: set}
	if rc.Gap < 1 || rc.Gap >= 1<<31 {
		return nil, fmt.Errorf("--gap: must be between 1 and 2^31, not %d", rc.Gap)
	}
	ids := make([]string, len(set.coins))
	coins := make([]*chain.Coin, len(set.coins))
	for i, c := range set.coins {
		ids[i], coins[i] = c.coin.ID(), c.coin
	}
	if p.from, err = parseHeights(rc.FromHeight, ids); err != nil {
		return nil, fmt.Errorf("--from-height: %w", err)
	}
	if p.sweepTo, err = parseSweepTo(rc.SweepTo, coins); err != nil {
		return nil, fmt.Errorf("--sweep-to: %w", err)
	}
	return p, nil
}

// closeNodes closes the clients of every coin's node (their idle
// connections: the settings of a coin make its client without a
// connection).
func (p *recoverPlan) closeNodes() {
	for _, c := range p.set.coins {
		c.node.Close()
	}
}

// watchFor is how long an address stays watched past its last use, as the
// daemon watches it: 0 for ever.
func (p *recoverPlan) watchFor() time.Duration {
	if p.set.relay.AddressExpiry > 0 {
		return p.set.relay.AddressExpiry + p.set.relay.ExpiryGrace
	}
	return 0
}

// coins reaches every coin's node, checks that it follows the coin's
// network, and returns what recovery needs of each coin.
func (p *recoverPlan) coins(ctx context.Context, seed []byte) ([]recovery.Coin, error) {
	var coins []recovery.Coin
	for _, c := range p.set.coins {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := c.node.CheckNetwork(cctx, c.coin.Network())
		cancel()
		if err != nil {
			return nil, fmt.Errorf("%s node %s: %w", c.coin.Name(), c.node, err)
		}
		keys, err := chain.NewKeychain(seed, c.coin.CoinType())
		if err != nil {
			return nil, err
		}
		rcoin := recovery.Coin{Chain: c.coin, Keys: keys, Node: c.node, FeeAddress: c.feeDest, MinDeposit: c.minDeposit,
			FallbackFeeRate: c.fallback, From: p.from[c.coin.ID()]}
		if d, ok := p.sweepTo[c.coin.ID()]; ok {
			rcoin.SweepTo = &d
		}
		coins = append(coins, rcoin)
	}
	return coins, nil
}

// scan returns the scan of a fresh store: the daemon's scanner brings a
// coin's scan up to its chain, logging its warnings to logOut.
func (p *recoverPlan) scan(db *store.DB, watchFor time.Duration, logOut io.Writer) func(context.Context, string) (store.Cursor, error) {
	nodes := map[string]*chain.Node{}
	for _, c := range p.set.coins {
		nodes[c.coin.ID()] = c.node
	}
	log := zerolog.New(redactor{logOut}).Level(zerolog.WarnLevel).With().Timestamp().Str("component", "scanner").Logger()
	return func(ctx context.Context, id string) (store.Cursor, error) {
		coin, _ := chain.CoinByID(id, p.set.network)
		watch, err := db.LoadWatchSet(id)
		if err != nil {
			return store.Cursor{}, err
		}
		sc, err := relay.NewScanner(relay.ScannerConfig{Coin: coin, Blocks: nodes[id], Store: db, Watch: watch, Clock: clock.System{},
			PollInterval: p.set.relay.PollInterval, WatchFor: watchFor, Log: log.With().Str("coin", id).Logger()})
		if err != nil {
			return store.Cursor{}, err
		}
		return sc.Sync(ctx)
	}
}

// loadSeed reads the seed of dataDir, which must be there, and its
// fingerprint.
func loadSeed(dataDir string) (seed, fingerprint []byte, err error) {
	seedPath := filepath.Join(dataDir, "seed")
	if _, err := os.Stat(seedPath); err != nil {
		return nil, nil, fmt.Errorf("no seed: %w (ferry recover rebuilds a store around the seed it was made with)", err)
	}
	seed, _, err = store.LoadSecret(seedPath, chain.SeedLen)
	if err != nil {
		return nil, nil, err
	}
	fp, err := chain.SeedFingerprint(seed)
	if err != nil {
		clear(seed)
		return nil, nil, err
	}
	return seed, fp, nil
}

// openRecoverStore opens the store of cfg's data directory, which ferry
// must not hold, checks its network and, unless it is fresh (ferry never
// ran on it), that it was made with the seed of fingerprint fp.
func openRecoverStore(cfg Config, fp []byte) (db *store.DB, fresh bool, err error) {
	db, err = store.Open(cfg.DataDir)
	if err != nil {
		if strings.Contains(err.Error(), "resource temporarily unavailable") {
			return nil, false, fmt.Errorf("ferry is running on %s: stop it first", cfg.DataDir)
		}
		return nil, false, err
	}
	defer func() {
		if err != nil {
			db.Close()
		}
	}()
	if err := db.CheckNetwork(cfg.Network); err != nil {
		return nil, false, err
	}
	if fresh, err = db.Fresh(); err != nil {
		return nil, false, err
	}
	if !fresh {
		if err := db.CheckSeed(fp); err != nil {
			return nil, false, fmt.Errorf("%s: %w", filepath.Join(cfg.DataDir, "seed"), err)
		}
	}
	return db, fresh, nil
}

// printJSON writes v to w as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
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
