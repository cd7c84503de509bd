package deploy_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ferry-relay/ferry/chain/regtest"
)

// maxExposure is the highest overall exposure `systemd-analyze security`
// may give the unit, in its tenths (README says 1.5).
const maxExposure = "20"

// TestUnit checks ferry.service with systemd: `systemd-analyze verify`
// (systemd knows every directive and value, and the binary it names is
// executable) and `systemd-analyze security --offline` (the exposure its
// hardening leaves); and that it has the hardening README names.
func TestUnit(t *testing.T) {
	analyze := need(t, "systemd-analyze")
	unit, err := os.ReadFile("ferry.service")
	if err != nil {
		t.Fatal(err)
	}

	// verify wants ExecStart's binary: a copy of the unit runs this test's.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	const exec0 = "ExecStart=/usr/local/bin/ferry\n"
	if !strings.Contains(string(unit), exec0) {
		t.Fatalf("the unit does not run /usr/local/bin/ferry")
	}
	path := filepath.Join(t.TempDir(), "ferry.service")
	copied := strings.Replace(string(unit), exec0, "ExecStart="+self+"\n", 1)
	if err := os.WriteFile(path, []byte(copied), 0o644); err != nil {
		t.Fatal(err)
	}

	// verify exits 0 on unknown directives and bad values, and says so.
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, path) || strings.Contains(line, "ferry.service") {
			t.Errorf("systemd-analyze verify: %s", line)
		}
	}

	out, err = exec.Command(analyze, "security", "--offline=true", "--threshold="+maxExposure, path).CombinedOutput()
	level := regexp.MustCompile(`Overall exposure level for ferry\.service: ([0-9.]+ \S+)`).FindSubmatch(out)
	if err != nil || level == nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	t.Logf("systemd-analyze security: exposure %s", level[1])

	// The hardening README names.
	service := directives(t, string(unit), "Service")
	for _, want := range []struct{ key, value string }{
		{"DynamicUser", "yes"},
		{"StateDirectory", "ferry"},
		{"StateDirectoryMode", "0700"},
		{"Environment", "FERRY_DATA_DIR=%S/ferry"},
		{"EnvironmentFile", "/etc/ferry/ferry.env"},
		{"ProtectSystem", "strict"},
		{"NoNewPrivileges", "yes"},
		{"CapabilityBoundingSet", ""},
		{"RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"},
		{"SystemCallFilter", "@system-service"},
	} {
		found := false
		for _, v := range service[want.key] {
			found = found || v == want.value
		}
		if !found {
			t.Errorf("the unit has %s=%q, want %q", want.key, service[want.key], want.value)
		}
	}
}

// directives returns the key=value lines of a unit's section, by key.
func directives(t *testing.T, unit, section string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	in := false
	sc := bufio.NewScanner(strings.NewReader(unit))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			in = line == "["+section+"]"
		case in:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("unit line %q", line)
			}
			out[k] = append(out[k], v)
		}
	}
	return out
}

// need returns command's path; without it, the test is skipped, or fails
// if regtest.RequireEnv is set (make test).
func need(t *testing.T, command string) string {
	t.Helper()
	path, err := exec.LookPath(command)
	if err != nil {
		if os.Getenv(regtest.RequireEnv) == "" {
			t.Skipf("%s not installed", command)
		}
		t.Fatalf("%s not installed", command)
	}
	return path
}
