package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-relay/ferry/chain/regtest"
)

// buildah runs buildah on a storage of the tests' own, in a stable
// directory under the user's cache, so that the build stage's base image
// and the Go caches of `RUN --mount=type=cache` outlive a test run. One
// test at a time, across processes, holds it.
type buildah struct {
	dir string
	env []string
}

// newBuildah returns the tests' buildah, locked for the test. Without
// buildah or debootstrap, or without root (debootstrap and buildah's
// chroot isolation need it), the test is skipped, or fails if
// regtest.RequireEnv is set.
func newBuildah(t *testing.T) *buildah {
	t.Helper()
	need(t, "buildah")
	need(t, "debootstrap")
	if os.Geteuid() != 0 {
		if os.Getenv(regtest.RequireEnv) == "" {
			t.Skip("building the image needs root")
		}
		t.Fatal("building the image needs root (debootstrap, buildah's chroot isolation)")
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	b := &buildah{dir: filepath.Join(cache, "ferry", "image-test")}
	if err := os.MkdirAll(filepath.Join(b.dir, "tmp"), 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(b.dir, "storage.conf")
	storage := fmt.Sprintf("[storage]\ndriver = \"vfs\"\ngraphroot = %q\nrunroot = %q\n",
		filepath.Join(b.dir, "graph"), filepath.Join(b.dir, "run"))
	if err := os.WriteFile(conf, []byte(storage), 0o600); err != nil {
		t.Fatal(err)
	}
	// TMPDIR holds buildah's cache mounts (buildah-cache-0).
	b.env = append(os.Environ(), "CONTAINERS_STORAGE_CONF="+conf, "TMPDIR="+filepath.Join(b.dir, "tmp"))

	lock, err := os.OpenFile(filepath.Join(b.dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lock.Close() })

	// What a run killed midway left: only the tests use this storage,
	// and this one holds the lock.
	b.run(t, "rm", "--all")
	b.run(t, "rmi", "--prune")
	return b
}

// Bounds of the image's commands.
const (
	buildahTimeout     = 5 * time.Minute
	debootstrapTimeout = 10 * time.Minute
	imageBuildTimeout  = 15 * time.Minute
)

// run runs buildah with args and returns its output, failing the test if
// it fails or takes longer than buildahTimeout.
func (b *buildah) run(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), buildahTimeout)
	defer cancel()
	return b.exec(t, exec.CommandContext(ctx, "buildah", args...))
}

// exec runs cmd in buildah's environment and returns its output, failing
// the test if it fails.
func (b *buildah) exec(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	cmd.Env = b.env
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s%s", strings.Join(cmd.Args, " "), err, out.Bytes(), stderr.Bytes())
	}
	return strings.TrimSpace(out.String())
}

// goImage is the Dockerfile's build stage base, which no registry here
// serves.
const goImage = "docker.io/library/golang:1.26-bookworm"

// goVersion is goImage's Go.
const goVersion = "go1.26"

// debootstrap is how the base's Debian is made: bookworm, with what cgo
// needs to link ferry statically.
var debootstrap = []string{"--variant=minbase", "--include=gcc,libc6-dev,ca-certificates", "bookworm"}

// debianMirror is where debootstrap fetches Debian from.
const debianMirror = "http://deb.debian.org/debian"

// baseImage makes goImage from local parts, as the official image is made:
// Debian bookworm with gcc and libc6-dev (debootstrap), and Go at
// /usr/local/go (the host's, the Go the tests run with). The host's CA
// bundle replaces Debian's, so that `go mod download` in the build trusts
// what the host trusts. It is kept under a tag keyed by all of these, and
// made again only when one changes.
func (b *buildah) baseImage(t *testing.T) {
	t.Helper()
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	root := strings.TrimSpace(string(goroot))
	version, err := os.ReadFile(filepath.Join(root, "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(version, []byte(goVersion+".")) {
		t.Fatalf("the host's Go is %.10s, not the %s of %s", version, goVersion, goImage)
	}
	certs, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%q %s\n%s\n", debootstrap, debianMirror, version)
	h.Write(certs)
	tag := "localhost/ferry-test-base:" + hex.EncodeToString(h.Sum(nil))[:16]

	// Other keys' bases are of no more use.
	for _, img := range strings.Fields(b.run(t, "images", "--format", "{{.Name}}:{{.Tag}}", "--filter", "reference=localhost/ferry-test-base")) {
		if img != tag {
			b.run(t, "rmi", "--force", img)
		}
	}
	if b.exists(tag) {
		b.run(t, "tag", tag, goImage)
		return
	}

	start := time.Now()
	rootfs := filepath.Join(b.dir, "rootfs")
	os.RemoveAll(rootfs)
	defer os.RemoveAll(rootfs)
	args := append(append([]string(nil), debootstrap...), rootfs, debianMirror)
	ctx, cancel := context.WithTimeout(context.Background(), debootstrapTimeout)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "debootstrap", args...).CombinedOutput(); err != nil {
		t.Fatalf("debootstrap: %v\n%s", err, tail(out, 2000))
	}
	debs, _ := filepath.Glob(filepath.Join(rootfs, "var/cache/apt/archives/*.deb"))
	for _, d := range debs {
		os.Remove(d)
	}

	ctr := b.run(t, "from", "scratch")
	mnt := b.run(t, "mount", ctr)
	for _, c := range [][]string{
		{"cp", "-a", rootfs + "/.", mnt + "/"},
		{"cp", "-a", root, filepath.Join(mnt, "usr/local/go")},
		{"cp", "/etc/ssl/certs/ca-certificates.crt", filepath.Join(mnt, "etc/ssl/certs/ca-certificates.crt")},
		{"mkdir", "-p", filepath.Join(mnt, "go")},
	} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(c, " "), err, out)
		}
	}
	b.run(t, "umount", ctr)
	b.run(t, "config", "--env", "PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"--env", "GOPATH=/go", "--env", "GOLANG_VERSION="+strings.TrimPrefix(strings.SplitN(string(version), "\n", 2)[0], "go"),
		"--workingdir", "/go", ctr)
	b.run(t, "commit", "--quiet", "--rm", ctr, tag)
	b.run(t, "tag", tag, goImage)
	t.Logf("base image %s made in %s", tag, time.Since(start).Round(time.Second))
}

// exists reports whether the storage has the image ref.
func (b *buildah) exists(ref string) bool {
	cmd := exec.Command("buildah", "inspect", "--type", "image", ref)
	cmd.Env = b.env
	return cmd.Run() == nil
}

// tail returns the last n bytes of out.
func tail(out []byte, n int) []byte {
	if len(out) > n {
		return out[len(out)-n:]
	}
	return out
}

// readmeImage is README's Docker section: the commands TestImage runs.
type readmeImage struct {
	build, volume, from, config, run []string
}

// readmeImageCommands returns the commands of the first sh block under
// README's "### Docker": `make image`; `install -d …` making the volume's
// directory; `ctr=$(buildah from ferry)`; `buildah config …`; `buildah run
// …`. Continuation lines are joined and comments dropped.
func readmeImageCommands(t *testing.T) readmeImage {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n### Docker\n")
	if !ok {
		t.Fatal(`README has no "### Docker" section`)
	}
	_, block, ok := strings.Cut(section, "```sh\n")
	if ok {
		block, _, ok = strings.Cut(block, "```")
	}
	if !ok {
		t.Fatal("README's Docker section has no sh block")
	}
	var cmds [][]string
	for _, line := range strings.Split(strings.ReplaceAll(block, "\\\n", " "), "\n") {
		line, _, _ = strings.Cut(line, "#")
		if words := strings.Fields(line); len(words) > 0 {
			cmds = append(cmds, words)
		}
	}
	var r readmeImage
	want := []struct {
		prefix string
		cmd    *[]string
	}{
		{"make image", &r.build},
		{"install -d", &r.volume},
		{"ctr=$(buildah from ferry)", &r.from},
		{"buildah config", &r.config},
		{"buildah run", &r.run},
	}
	if len(cmds) != len(want) {
		t.Fatalf("README's Docker section has %d commands, want %d: %q", len(cmds), len(want), cmds)
	}
	for i, w := range want {
		if !strings.HasPrefix(strings.Join(cmds[i], " "), w.prefix) {
			t.Fatalf("README's Docker section: command %d is %q, want %q…", i+1, strings.Join(cmds[i], " "), w.prefix)
		}
		*w.cmd = cmds[i]
	}
	return r
}

// substitute returns words with the placeholders of README's commands
// replaced by vars (a strings.Replacer), and the value of each `-e
// NAME=value` by env's NAME, which must have every name README sets.
// Names env has and README does not are added before the last two words
// (the container and its command).
func substitute(t *testing.T, words []string, vars *strings.Replacer, env map[string]string) []string {
	t.Helper()
	var out []string
	seen := map[string]bool{}
	for i := 0; i < len(words); i++ {
		if words[i] == "-e" && i+1 < len(words) {
			name, _, _ := strings.Cut(words[i+1], "=")
			v, ok := env[name]
			if !ok {
				t.Fatalf("README's command sets %s, which the test does not", name)
			}
			seen[name] = true
			out = append(out, "-e", name+"="+v)
			i++
			continue
		}
		out = append(out, vars.Replace(words[i]))
	}
	if len(out) < 2 {
		return out
	}
	last := append([]string(nil), out[len(out)-2:]...)
	out = out[:len(out)-2]
	for _, name := range slices.Sorted(maps.Keys(env)) {
		if !seen[name] {
			out = append(out, "-e", name+"="+env[name])
		}
	}
	return append(out, last...)
}

// container is ferry run in a container by buildah run, in a process group
// of its own.
type container struct {
	*process
}

// startContainer runs the command line args (buildah run …) and waits for
// ferry to start.
func (b *buildah) startContainer(t *testing.T, args []string) *container {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = b.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	c := &container{startCmd(t, cmd, "")}
	// Before startCmd's cleanup: ferry as well as buildah.
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	return c
}

// Stop sends SIGTERM to ferry, which stops cleanly, and waits for buildah
// to end. (buildah run ends its command with SIGKILL when it is signalled
// itself.)
func (c *container) Stop(t *testing.T) {
	t.Helper()
	pid := descendant(t, c.cmd.Process.Pid, "ferry")
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	c.Wait()
}

// descendant returns the pid of the process named comm below pid.
func descendant(t *testing.T, pid int, comm string) int {
	t.Helper()
	parent := map[int]int{}
	names := map[int]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		lp, rp := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
		if lp < 0 || rp < lp {
			continue
		}
		fields := strings.Fields(string(stat[rp+1:]))
		if len(fields) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		parent[p], names[p] = ppid, string(stat[lp+1:rp])
	}
	for p, name := range names {
		if name != comm {
			continue
		}
		for q := parent[p]; q > 1; q = parent[q] {
			if q == pid {
				return p
			}
		}
	}
	t.Fatalf("no %s process below %d", comm, pid)
	return 0
}

// standby runs the command line args (buildah run …) to its end, within
// waitTimeout, and returns its output and exit error.
func (b *buildah) standby(args []string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = b.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}
