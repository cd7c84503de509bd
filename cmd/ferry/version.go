package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
)

// versionUsage is ferry version's help.
const versionUsage = `usage: ferry version
       ferry --version

Prints the version of this build of ferry, the commit it was built from and
the Go version it was built with, from the build information Go records in
the binary. A build from a source tree rather than a release says (devel).`

// versionMain runs "ferry version" and returns the exit code.
func versionMain(_ context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := newFlagSet("ferry version", stdout)
	fs.usage = versionUsage
	if err := parseFlags(fs, args, getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return usageError(stderr, "ferry version", err)
	}
	bi, _ := debug.ReadBuildInfo()
	fmt.Fprint(stdout, versionText(bi))
	return 0
}

// pseudoVersion matches the versions Go makes up for a build from a
// commit that is not a release (v0.0.0-20261207213950-8d6293609daf, with
// +dirty if modified).
var pseudoVersion = regexp.MustCompile(`[-.](0\.)?\d{14}-[0-9a-f]{12}(\+dirty)?$`)

// versionText is what ferry version prints for the build information bi
// (nil: none): the version, or (devel) for a build that is not a
// release; the commit, its time and whether the tree had changes; the Go
// version and the platform.
func versionText(bi *debug.BuildInfo) string {
	version, goVersion := "(devel)", runtime.Version()
	settings := map[string]string{}
	if bi != nil {
		if v := bi.Main.Version; v != "" && v != "(devel)" && !pseudoVersion.MatchString(v) {
			version = v
		}
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
	}
	commit := "unknown (built without version control information)"
	if rev := settings["vcs.revision"]; rev != "" {
		var notes []string
		if t := settings["vcs.time"]; t != "" {
			notes = append(notes, t)
		}
		if settings["vcs.modified"] == "true" {
			notes = append(notes, "with uncommitted changes")
		}
		commit = rev
		if len(notes) > 0 {
			commit += " (" + strings.Join(notes, ", ") + ")"
		}
	}
	return fmt.Sprintf("ferry %s\ncommit %s\ngo     %s %s/%s\n", version, commit, goVersion, runtime.GOOS, runtime.GOARCH)
}
