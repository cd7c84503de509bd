package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// flagSet is the flags of one of ferry's commands, declared in groups, and
// its help: the usage text, then each group's flags with their variables
// and defaults. Parse errors are returned, never printed: the command
// prints them its own way.
type flagSet struct {
	*flag.FlagSet
	// help receives the help that --help (-h) asks for.
	help io.Writer
	// usage opens the help: the usage lines, what the command does.
	usage  string
	groups []*flagGroup
}

// flagGroup declares flags of one concern, in the order the help lists
// them.
type flagGroup struct {
	fs    *flag.FlagSet
	title string
	names []string
	// env is set when the group's flags have FERRY_ variables.
	env bool
	// hidden leaves the group out of the help (flags a command accepts and
	// does not use).
	hidden bool
}

// newFlagSet returns an empty flag set for the command name whose help
// goes to help.
func newFlagSet(name string, help io.Writer) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flagSet{FlagSet: fs, help: help}
}

// group starts a group of flags with FERRY_ variables.
func (fs *flagSet) group(title string) *flagGroup {
	g := &flagGroup{fs: fs.FlagSet, title: title, env: true}
	fs.groups = append(fs.groups, g)
	return g
}

// ownGroup starts a group of flags without variables: a subcommand's own
// flags, which differ between its calls (a vendor's name).
func (fs *flagSet) ownGroup(title string) *flagGroup {
	g := fs.group(title)
	g.env = false
	return g
}

// String declares a string flag whose default is *p.
func (g *flagGroup) String(p *string, name, usage string) {
	g.fs.StringVar(p, name, *p, usage)
	g.names = append(g.names, name)
}

// Bool declares a bool flag whose default is *p.
func (g *flagGroup) Bool(p *bool, name, usage string) {
	g.fs.BoolVar(p, name, *p, usage)
	g.names = append(g.names, name)
}

// Int declares an int flag whose default is *p.
func (g *flagGroup) Int(p *int, name, usage string) {
	g.fs.IntVar(p, name, *p, usage)
	g.names = append(g.names, name)
}

// Int64 declares an int64 flag whose default is *p.
func (g *flagGroup) Int64(p *int64, name, usage string) {
	g.fs.Int64Var(p, name, *p, usage)
	g.names = append(g.names, name)
}

// Uint declares a uint flag whose default is *p.
func (g *flagGroup) Uint(p *uint, name, usage string) {
	g.fs.UintVar(p, name, *p, usage)
	g.names = append(g.names, name)
}

// Duration declares a duration flag whose default is *p.
func (g *flagGroup) Duration(p *time.Duration, name, usage string) {
	g.fs.DurationVar(p, name, *p, usage)
	g.names = append(g.names, name)
}

// setFromEnv sets every flag with a variable that the command line left
// out from its variable (see EnvName).
func (fs *flagSet) setFromEnv(getenv func(string) string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, g := range fs.groups {
		if !g.env {
			continue
		}
		for _, name := range g.names {
			v := getenv(EnvName(name))
			if set[name] || v == "" {
				continue
			}
			if err := fs.Set(name, v); err != nil {
				return fmt.Errorf("%s: %w", EnvName(name), err)
			}
		}
	}
	return nil
}

// flagParseError rewords the flag package's errors, which name a flag with
// one dash, for ferry's --flags.
func flagParseError(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	for _, r := range []struct{ from, to string }{
		{"flag provided but not defined: -", "unknown flag --"},
		{"flag needs an argument: -", "flag needs an argument: --"},
		{" for flag -", " for --"},
		{" for -", " for --"},
	} {
		if strings.Contains(msg, r.from) {
			return errors.New(strings.Replace(msg, r.from, r.to, 1))
		}
	}
	return err
}

// helpWidth is the width the help's text is wrapped to.
const helpWidth = 80

// printHelp writes fs's help to w: the usage, then each group's flags.
func (fs *flagSet) printHelp(w io.Writer) {
	fmt.Fprintln(w, strings.TrimRight(fs.usage, "\n"))
	for _, g := range fs.groups {
		if g.hidden || len(g.names) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", g.title)
		for _, name := range g.names {
			printFlag(w, fs.Lookup(name), g.env)
		}
	}
}

// printFlag writes one flag's entry: its name and the kind of value on a
// line, then what it means, its variable and its default, indented.
func printFlag(w io.Writer, f *flag.Flag, env bool) {
	kind, usage := flag.UnquoteUsage(f)
	line := "  --" + f.Name
	if kind != "" {
		line += " " + kind
	}
	var notes []string
	if env {
		notes = append(notes, EnvName(f.Name))
	}
	if def := f.DefValue; def != "" && !(kind == "" && def == "false") {
		if kind == "duration" {
			def = shortDuration(def)
		}
		notes = append(notes, "default "+redact(def))
	}
	if len(notes) > 0 {
		usage += " (" + strings.Join(notes, "; ") + ")"
	}
	fmt.Fprintln(w, line)
	for _, l := range wrap(usage, helpWidth-6) {
		fmt.Fprintln(w, "      "+l)
	}
}

// shortDuration drops the zero minutes and seconds of a duration's text:
// 720h0m0s is 720h, 15m0s 15m.
func shortDuration(s string) string {
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// wrap splits s into lines of at most width characters, at spaces (a word
// longer than width gets a line of its own).
func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	return append(lines, line)
}

// usageError prints a command's error on the command line, and where its
// usage is, to w, and returns the exit code of a usage error.
func usageError(w io.Writer, command string, err error) int {
	fmt.Fprintf(w, "%s: %s\nRun '%s --help' for usage.\n", command, redacted(err), command)
	return 2
}
