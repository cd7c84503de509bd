package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/chain/regtest"
)

// imageUser is the uid and gid the Dockerfile's final stage runs ferry as.
const imageUser = 10001

// TestImage builds the image operators get, with `make image`, and runs
// it with the commands of README's Docker section against regtest
// litecoind on the host. ferry in the container runs as uid 10001 on a
// volume of mode 0700, mints an address, forwards the payment to it and
// answers /healthz; a second ferry on the same volume is refused while the
// first runs; and a new container on the volume, after the first stopped,
// keeps the seed and the store: the next address is the next index, and
// nothing is forwarded twice.
func TestImage(t *testing.T) {
	t.Parallel()
	b := newBuildah(t)
	readme := readmeImageCommands(t)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}

	// The image: the build stage's base from local parts, then the
	// Dockerfile as it is.
	start := time.Now()
	b.baseImage(t)
	based := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), imageBuildTimeout)
	defer cancel()
	build := exec.CommandContext(ctx, readme.build[0], readme.build[1:]...)
	build.Dir = root
	b.exec(t, build)
	t.Logf("base image ready in %s; %s in %s", based.Sub(start).Round(time.Second),
		strings.Join(readme.build, " "), time.Since(based).Round(time.Second))
	checkImage(t, b)

	// The node, and the volume as README makes it.
	n := startNode(t, "litecoin")
	feeAddr := newAddress(t, n)
	vol := filepath.Join(t.TempDir(), "ferry")
	vars := strings.NewReplacer("/srv/ferry", vol)
	b.exec(t, exec.Command(readme.volume[0], substitute(t, readme.volume, vars, nil)[1:]...))
	env := map[string]string{
		"FERRY_NETWORK":          "regtest",
		"FERRY_LTC_RPC":          n.rpcURL,
		"FERRY_LTC_P2P":          n.p2pAddr,
		"FERRY_LTC_FEE_ADDRESS":  feeAddr,
		"FERRY_LTC_FALLBACK_FEE": "10",
		"FERRY_RATE_LIMIT":       "0", // the test polls
	}
	// run starts ferry in a new container on the volume, listening on a
	// port of its own.
	run := func(use func(args []string)) {
		t.Helper()
		ctr := b.run(t, "from", "ferry")
		t.Cleanup(func() { b.run(t, "rm", ctr) })
		vars := strings.NewReplacer(`"$ctr"`, ctr, "$ctr", ctr, "/srv/ferry", vol)
		b.exec(t, exec.Command(readme.config[0], substitute(t, readme.config, vars, nil)[1:]...))
		port, err := regtest.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		env := maps.Clone(env)
		env["FERRY_LISTEN"] = fmt.Sprintf("127.0.0.1:%d", port)
		use(substitute(t, readme.run, vars, env))
	}
	var first *container
	run(func(args []string) { first = b.startContainer(t, args) })
	checkVolume(t, vol)
	if uid := processUID(t, descendant(t, first.cmd.Process.Pid, "ferry")); uid != imageUser {
		t.Errorf("ferry runs as uid %d, want %d", uid, imageUser)
	}
	seed, err := os.ReadFile(filepath.Join(vol, "seed"))
	if err != nil {
		t.Fatal(err)
	}

	// Mint, pay, forward.
	dest := newAddress(t, n)
	// forwarded mints an address of the ferry at base, which must be the
	// seed's at index, pays it value, and checks its forward.
	forwarded := func(base string, index uint32, value int64) ferry.OutPoint {
		t.Helper()
		in := receive(t, base, n.coin, dest, "")
		if want := inputAddress(t, seed, index); in.InputAddress != want {
			t.Errorf("address %s, want index %d of the seed: %s", in.InputAddress, index, want)
		}
		op := pay(t, n, in.InputAddress, value)
		mine(t, n, 1)
		var fwd ferry.Hash
		waitFor(t, "forward in the mempool", func() bool { fwd = spender(t, n, op); return !fwd.IsZero() })
		mine(t, n, 1)
		checkForward(t, n, op, value, fwd, dest, feeAddr)
		waitScanned(t, n, base)
		return op
	}
	const value, value2 = 30_000_000, 20_000_000
	op := forwarded(first.URL, 0, value)
	checkHealthy(t, first.URL)

	// A standby on the same volume cannot start while ferry runs.
	run(func(args []string) {
		out, err := b.standby(args)
		if err == nil || !strings.Contains(out, "open store /data/db: resource temporarily unavailable") {
			t.Errorf("a second ferry on the volume: %v\n%s", err, out)
		}
	})

	// Stop; a new container on the volume.
	first.Stop(t)
	if first.Log.find("ferry stopped", nil) == nil {
		t.Error("ferry did not stop cleanly")
	}
	var second *container
	run(func(args []string) { second = b.startContainer(t, args) })
	checkVolume(t, vol)
	if again, err := os.ReadFile(filepath.Join(vol, "seed")); err != nil || string(again) != string(seed) {
		t.Fatalf("the seed changed across the restart (%v)", err)
	}
	waitScanned(t, n, second.URL)
	checkHealthy(t, second.URL)
	forwarded(second.URL, 1, value2)

	// Nothing forwarded twice: the first deposit is not touched again,
	// and the merchant got each deposit once.
	for _, msg := range []string{"forward signed", "forward broadcast"} {
		if c := second.Log.count(msg, map[string]any{"outpoint": op.String()}); c != 0 {
			t.Errorf("after the restart: %q %d times for the first deposit", msg, c)
		}
	}
	if got, want := received(t, n, dest), int64(value+value2-(value+value2)/100-2*fallbackFee); got != want {
		t.Errorf("merchant received %d, want %d", got, want)
	}
	second.Stop(t)
}

// checkImage checks the image's configuration and its /data: ferry as the
// entry point, uid 10001, /data a volume of mode 0700 owned by that user.
func checkImage(t *testing.T, b *buildah) {
	t.Helper()
	var img struct {
		OCIv1 struct {
			Config struct {
				User       string              `json:"User"`
				Entrypoint []string            `json:"Entrypoint"`
				Volumes    map[string]struct{} `json:"Volumes"`
			} `json:"config"`
		} `json:"OCIv1"`
	}
	if err := json.Unmarshal([]byte(b.run(t, "inspect", "--type", "image", "ferry")), &img); err != nil {
		t.Fatal(err)
	}
	c := img.OCIv1.Config
	user := fmt.Sprintf("%d:%d", imageUser, imageUser)
	if c.User != user || strings.Join(c.Entrypoint, " ") != "/ferry" {
		t.Errorf("image runs %q as %q, want /ferry as %s", c.Entrypoint, c.User, user)
	}
	if _, ok := c.Volumes["/data"]; !ok {
		t.Errorf("image volumes %v, want /data", c.Volumes)
	}
	ctr := b.run(t, "from", "ferry")
	defer b.run(t, "rm", ctr)
	mnt := b.run(t, "mount", ctr)
	checkOwned(t, filepath.Join(mnt, "data"), os.ModeDir|0o700)
}

// checkVolume checks the volume's directory, the seed and the store in
// it: the image's user's, and the first two readable by it alone.
func checkVolume(t *testing.T, vol string) {
	t.Helper()
	checkOwned(t, vol, os.ModeDir|0o700)
	checkOwned(t, filepath.Join(vol, "seed"), 0o600)
	checkOwned(t, filepath.Join(vol, "db"), 0)
}

// checkOwned checks that path belongs to imageUser, and has mode unless
// mode is 0.
func checkOwned(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if st.Uid != imageUser || st.Gid != imageUser {
		t.Errorf("%s: owner %d:%d, want %d:%d", path, st.Uid, st.Gid, imageUser, imageUser)
	}
	if mode != 0 && fi.Mode() != mode {
		t.Errorf("%s: mode %v, want %v", path, fi.Mode(), mode)
	}
}

// processUID returns the real uid process pid runs as.
func processUID(t *testing.T, pid int) int {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "Uid:" {
			var uid int
			fmt.Sscan(f[1], &uid)
			return uid
		}
	}
	t.Fatalf("no Uid in /proc/%d/status", pid)
	return -1
}

// inputAddress returns the Litecoin regtest input address at index i of
// seed, the seed file's text.
func inputAddress(t *testing.T, seed []byte, i uint32) string {
	t.Helper()
	raw, err := hex.DecodeString(strings.TrimSpace(string(seed)))
	if err != nil {
		t.Fatal(err)
	}
	coin, _ := chain.Litecoin(chain.Regtest)
	keys, err := chain.NewKeychain(raw, coin.CoinType())
	if err != nil {
		t.Fatal(err)
	}
	prog, err := keys.Program(i)
	if err != nil {
		t.Fatal(err)
	}
	a, err := coin.InputAddress(prog)
	if err != nil {
		t.Fatal(err)
	}
	return a.Address
}

// checkHealthy checks that /healthz answers 200 with ok.
func checkHealthy(t *testing.T, base string) {
	t.Helper()
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h struct {
		OK bool `json:"ok"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil || resp.StatusCode != 200 || !h.OK {
		t.Errorf("/healthz: %d, ok %v (%v)", resp.StatusCode, h.OK, err)
	}
}
