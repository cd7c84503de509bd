package main

import (
	"bytes"
	"flag"
	"io"
	"os"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// runCLI runs ferry's command line with args and no variables, and
// returns its exit code, stdout and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := ferryMain(t.Context(), args, &stdout, &stderr, func(string) string { return "" })
	return code, stdout.String(), stderr.String()
}

// flagLines returns how many lines of help declare each flag ("  --name"
// and the kind of its value).
func flagLines(help string) map[string]int {
	n := map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)^  --([a-z0-9-]+)( [a-z]+)?$`).FindAllStringSubmatch(help, -1) {
		n[m[1]]++
	}
	return n
}

// TestHelp: ferry --help and -h print on stdout, with exit status 0, the
// usage line first, then the commands, then every flag once, under the
// title of its group, with its variable.
func TestHelp(t *testing.T) {
	for _, arg := range []string{"--help", "-h", "-help"} {
		t.Run(arg, func(t *testing.T) {
			code, out, errOut := runCLI(t, arg)
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			if !strings.HasPrefix(out, "usage: ferry [flags]") {
				t.Errorf("help does not open with the usage line: %.80q", out)
			}
			cmds, firstFlag := strings.Index(out, "\nCommands:\n"), strings.Index(out, "\n  --")
			if cmds < 0 || firstFlag < 0 || cmds > firstFlag {
				t.Fatalf("commands at %d, first flag at %d", cmds, firstFlag)
			}
			for _, c := range commands {
				if i := strings.Index(out, "\n  "+c.name+" "); i < cmds || i > firstFlag {
					t.Errorf("command %s at %d, not between the commands' title and the flags", c.name, i)
				}
			}

			cfg := DefaultConfig()
			fs := cfg.flagSet(io.Discard)
			lines := flagLines(out)
			fs.VisitAll(func(f *flag.Flag) {
				if lines[f.Name] != 1 {
					t.Errorf("--%s is in the help %d times", f.Name, lines[f.Name])
				}
				if !strings.Contains(out, EnvName(f.Name)) {
					t.Errorf("the help does not name %s", EnvName(f.Name))
				}
			})
			if want := countFlags(fs.FlagSet); len(lines) != want {
				t.Errorf("the help lists %d flags, ferry has %d", len(lines), want)
			}
			last := cmds
			for _, title := range []string{groupNodes, groupFees, groupAddresses, groupInvoices, groupAPIs, groupTor, groupEmail, groupOperations} {
				i := strings.Index(out, "\n"+title+":\n")
				if i < last {
					t.Errorf("group %q at %d, want it after %d", title, i, last)
				}
				last = i
			}
		})
	}
}

// countFlags returns how many flags fs has.
func countFlags(fs *flag.FlagSet) int {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n
}

// TestFlagGroups: every flag of ferry and of ferry recover is declared in
// exactly one group, so that its help and its variable cannot be left out.
func TestFlagGroups(t *testing.T) {
	cfg := DefaultConfig()
	rc := recoverConfig{Config: DefaultConfig(), Gap: defaultGap}
	for name, fs := range map[string]*flagSet{"ferry": cfg.flagSet(io.Discard), "ferry recover": rc.flagSet(io.Discard)} {
		in := map[string]int{}
		for _, g := range fs.groups {
			for _, n := range g.names {
				in[n]++
			}
		}
		fs.VisitAll(func(f *flag.Flag) {
			if in[f.Name] != 1 {
				t.Errorf("%s --%s is in %d groups", name, f.Name, in[f.Name])
			}
		})
		if len(in) != countFlags(fs.FlagSet) {
			t.Errorf("%s: the groups name %d flags, the flag set has %d", name, len(in), countFlags(fs.FlagSet))
		}
	}
}

// TestCommandHelp: each command's --help (or -h) prints its own usage and
// flags on stdout, with exit status 0.
func TestCommandHelp(t *testing.T) {
	tests := []struct {
		args  []string
		usage string
		want  []string // in the help (as printed, or its lines joined)
		not   []string // not in it
	}{
		{[]string{"vendor", "--help"}, "usage: ferry vendor COMMAND",
			[]string{"\n  add --name NAME", "\n  key add ID [--scope create|all]", "\n  webhook secret ID [--rotate]", "\n  --data-dir string", "FERRY_DATA_DIR", "\n  --network string"},
			[]string{"--listen"}},
		{[]string{"vendor", "-h"}, "usage: ferry vendor COMMAND", []string{"\n  list\n", "\n  secret ID\n"}, nil},
		{[]string{"vendor", "key", "--help"}, "usage: ferry vendor COMMAND",
			[]string{"\n  key ID\n", "\n  key add ID", "\n  key list ID\n", "\n  key revoke ID KEY_ID\n", "\n  --data-dir string"},
			[]string{"\n  add --name", "\n  webhook"}},
		{[]string{"vendor", "key", "add", "--help"}, "usage: ferry vendor key add ID [--scope create|all]",
			[]string{"\n  --scope string\n", "default create", "\n  --data-dir string"}, []string{"FERRY_SCOPE", "key revoke"}},
		{[]string{"vendor", "add", "-h"}, "usage: ferry vendor add --name NAME --email EMAIL",
			[]string{"\n  --name string\n", "\n  --email string\n", "\n  --ltc-address string\n", "\n  --btc-address string\n"}, []string{"FERRY_NAME", "--scope"}},
		{[]string{"vendor", "webhook", "--help"}, "usage: ferry vendor COMMAND",
			[]string{"\n  webhook add ID URL\n", "\n  webhook remove ID ENDPOINT\n"}, []string{"\n  key "}},
		{[]string{"vendor", "webhook", "secret", "--help"}, "usage: ferry vendor webhook secret ID [--rotate]",
			[]string{"\n  --rotate\n"}, []string{"--scope"}},
		{[]string{"recover", "--help"}, "usage: ferry recover [--from-height N",
			[]string{"\nRecovery:\n", "\n  --from-height string\n", "\n  --gap uint\n", "FERRY_GAP; default 1000", "\n  --sweep-to string\n",
				"\n" + groupNodes + ":\n", "\n  --ltc-rpc string\n", "\n  --data-dir string\n"},
			[]string{"\n" + groupTor + ":\n", "--smtp-url"}},
		{[]string{"recover", "-h"}, "usage: ferry recover", nil, nil},
		{[]string{"version", "--help"}, "usage: ferry version", []string{"ferry --version"}, []string{"\n  --"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runCLI(t, tt.args...)
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			if !strings.HasPrefix(out, tt.usage) {
				t.Errorf("help opens with %.80q, want %q", out, tt.usage)
			}
			flat := strings.Join(strings.Fields(out), " ") // wrapped lines joined
			for _, w := range tt.want {
				if !strings.Contains(out, w) && !strings.Contains(flat, w) {
					t.Errorf("help lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(out, w) {
					t.Errorf("help has %q:\n%s", w, out)
				}
			}
			for name, n := range flagLines(out) {
				if n != 1 {
					t.Errorf("--%s is in the help %d times", name, n)
				}
			}
		})
	}
}

// TestUsageErrors: an unknown command or flag, a flag without its value,
// a missing or extra argument is a usage error: a message on stderr that
// says what is wrong and where the help is, nothing on stdout, exit
// status 2. None of them touches the data directory.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"nope"}, `ferry: unknown command "nope"`},
		{[]string{"--nope"}, "ferry: unknown flag --nope"},
		{[]string{"--listen"}, "ferry: flag needs an argument: --listen"},
		{[]string{"--forward-confirmations=many"}, `ferry: invalid value "many" for --forward-confirmations`},
		{[]string{"--data-dir", dir, "extra"}, `ferry: unexpected argument "extra"`},
		{[]string{"vendor"}, "ferry vendor: no command"},
		{[]string{"vendor", "nope"}, `ferry vendor: unknown command "nope"`},
		{[]string{"vendor", "--data-dir", dir, "list"}, `ferry vendor: a command comes first, not "--data-dir"`},
		{[]string{"vendor", "webhook"}, "ferry vendor webhook: no command"},
		{[]string{"vendor", "webhook", "nope", "--data-dir", dir}, `ferry vendor webhook: unknown command "nope"`},
		{[]string{"vendor", "list", "--rotate", "--data-dir", dir}, "ferry vendor list: unknown flag --rotate"},
		{[]string{"vendor", "key", "add", "ID", "--nope", "--data-dir", dir}, "ferry vendor key add: unknown flag --nope"},
		{[]string{"vendor", "key", "revoke", "ID", "--data-dir", dir}, `ferry vendor key revoke: want the arguments ["ID" "KEY_ID"], not ["ID"]`},
		{[]string{"vendor", "list", "extra", "--data-dir", dir}, `ferry vendor list: want the arguments [], not ["extra"]`},
		{[]string{"recover", "--nope"}, "ferry recover: unknown flag --nope"},
		{[]string{"recover", "--data-dir", dir, "extra"}, `ferry recover: unexpected argument "extra"`},
		{[]string{"version", "extra"}, `ferry version: unexpected argument "extra"`},
		{[]string{"version", "--nope"}, "ferry version: unknown flag --nope"},
		{[]string{"--version", "extra"}, `ferry version: unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runCLI(t, tt.args...)
			if code != 2 || out != "" {
				t.Errorf("exit %d, stdout %q; want 2 and nothing", code, out)
			}
			cmd, _, _ := strings.Cut(tt.msg, ":")
			if !strings.HasPrefix(errOut, tt.msg) || !strings.Contains(errOut, "Run '"+cmd+" --help' for usage.") {
				t.Errorf("stderr %q, want %q and where the help is", errOut, tt.msg)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a usage error left %d entries in the data directory", len(entries))
	}
}

// TestVersion: ferry version and ferry --version print the version, the
// commit and the Go version of the build.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		t.Run(args[0], func(t *testing.T) {
			code, out, errOut := runCLI(t, args...)
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != 3 || !strings.HasPrefix(lines[0], "ferry ") || !strings.HasPrefix(lines[1], "commit ") ||
				lines[2] != "go     "+runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH {
				t.Errorf("ferry %s printed %q", args[0], out)
			}
		})
	}
}

// TestVersionText: the version of a release, (devel) for a build that is
// none, the commit with its time and changes, or unknown.
func TestVersionText(t *testing.T) {
	const rev = "8d6293609dafcb0791252b16b173f5f6d4d44528"
	vcs := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev},
			{Key: "vcs.time", Value: "2026-12-07T21:39:50Z"}, {Key: "vcs.modified", Value: modified}}
	}
	build := func(version string, settings []debug.BuildSetting) *debug.BuildInfo {
		return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/ferry-relay/ferry", Version: version}, Settings: settings}
	}
	goLine := "go     go1.26.8 " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{"release", build("v1.4.0", vcs("false")),
			"ferry v1.4.0\ncommit " + rev + " (2026-12-07T21:39:50Z)\n" + goLine},
		{"tree with changes", build("v0.0.0-20261207213950-8d6293609daf+dirty", vcs("true")),
			"ferry (devel)\ncommit " + rev + " (2026-12-07T21:39:50Z, with uncommitted changes)\n" + goLine},
		{"tree after a tag", build("v1.4.1-0.20261207213950-8d6293609daf", vcs("false")),
			"ferry (devel)\ncommit " + rev + " (2026-12-07T21:39:50Z)\n" + goLine},
		{"pre-release tree", build("v1.5.0-rc.1.0.20261207213950-8d6293609daf", vcs("false")),
			"ferry (devel)\ncommit " + rev + " (2026-12-07T21:39:50Z)\n" + goLine},
		{"release candidate", build("v1.5.0-rc.1", nil),
			"ferry v1.5.0-rc.1\ncommit unknown (built without version control information)\n" + goLine},
		{"no version control", build("(devel)", nil),
			"ferry (devel)\ncommit unknown (built without version control information)\n" + goLine},
		{"no build information", nil,
			"ferry (devel)\ncommit unknown (built without version control information)\ngo     " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := versionText(tt.bi); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestREADMEFlagGroups: README's configuration tables group the flags as
// ferry --help does: each flag's table is under the heading of its group.
func TestREADMEFlagGroups(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	heading := ""
	under := map[string]string{}
	for _, line := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(line, "#") {
			heading = strings.TrimSpace(strings.TrimLeft(line, "#"))
		}
		if strings.HasPrefix(line, "| `--") {
			name := strings.Trim(strings.TrimSpace(strings.Split(line, "|")[1]), "`-")
			under[name] = heading
		}
	}
	cfg := DefaultConfig()
	for _, g := range cfg.flagSet(io.Discard).groups {
		for _, name := range g.names {
			if under[name] != g.title {
				t.Errorf("--%s is under README's heading %q, want %q", name, under[name], g.title)
			}
		}
	}
}
