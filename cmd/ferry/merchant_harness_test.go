package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ferry-relay/ferry/chain/regtest"
	"github.com/ferry-relay/ferry/relay/relaytest"
)

// merchant is a `php -S` server running testdata/php/merchant.php.
type merchant struct {
	URL string // http://127.0.0.1:port
	log string
}

// startMerchant starts a merchant whose signature check uses the callback
// key of ferry's data directory dataDir. Without php on PATH the test is
// skipped, unless regtest.RequireEnv is set.
func startMerchant(t *testing.T, dataDir string) *merchant {
	t.Helper()
	key, err := os.ReadFile(filepath.Join(dataDir, "callback.key"))
	if err != nil {
		t.Fatal(err)
	}
	return startPHPServer(t, "merchant.php", "FERRY_CALLBACK_KEY="+strings.TrimSpace(string(key)))
}

// startPHPServer runs testdata/php/<script> as the router of a `php -S`
// server on 127.0.0.1, with env added to its environment and $MERCHANT_LOG
// naming the file it logs requests to.
func startPHPServer(t *testing.T, script string, env ...string) *merchant {
	t.Helper()
	php := need(t, "php")
	port, err := regtest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	path, _ := filepath.Abs(filepath.Join("testdata/php", script))
	m := &merchant{URL: fmt.Sprintf("http://127.0.0.1:%d", port), log: filepath.Join(t.TempDir(), "merchant.log")}
	cmd := exec.Command(php, "-S", fmt.Sprintf("127.0.0.1:%d", port), path)
	cmd.Env = append(append(os.Environ(), "MERCHANT_LOG="+m.log, "PHP_CLI_SERVER_WORKERS=4"), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // with its workers
		cmd.Wait()
	})
	waitFor(t, "php -S", func() bool {
		resp, err := http.Get(m.URL + "/ping?mode=ok")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	os.Remove(m.log) // forget the ping
	return m
}

// need returns the path of a command the test needs. Without it the test
// is skipped, unless regtest.RequireEnv is set: then it fails.
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

// callback is one request the merchant logged.
type callback struct {
	Get   map[string]string `json:"get"`
	URL   string            `json:"url"`
	SigOK bool              `json:"sig_ok"`
	Phase string            `json:"phase"`
	// Accepted is what shop_callback.php (webhook_receiver.php) decided.
	Accepted bool `json:"accepted"`
	// Event is the webhook webhook_receiver.php verified.
	Event map[string]any `json:"event"`
}

// calls returns the callbacks the merchant logged in phase ("start" or
// "end") whose parameters include match.
func (m *merchant) calls(t *testing.T, phase string, match map[string]string) []callback {
	t.Helper()
	f, err := os.Open(m.log)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []callback
	sc := bufio.NewScanner(f)
next:
	for sc.Scan() {
		var c callback
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("merchant log: %v: %s", err, sc.Text())
		}
		if c.Phase != phase {
			continue
		}
		for k, v := range match {
			if c.Get[k] != v {
				continue next
			}
		}
		out = append(out, c)
	}
	return out
}

// callbackURL returns the merchant's callback URL with its own parameters.
func (m *merchant) callbackURL(params url.Values) string {
	return m.URL + "/callback.php?" + params.Encode()
}

// checkReply is /api/check's answer, as far as the tests read it.
type checkReply struct {
	Status   string `json:"status"`
	Deposits []struct {
		TxID           string `json:"txid"`
		Vout           uint32 `json:"vout"`
		Value          int64  `json:"value"`
		Confirmations  int64  `json:"confirmations"`
		Status         string `json:"status"`
		ForwardTxID    string `json:"forward_txid"`
		ValueForwarded int64  `json:"value_forwarded"`
		Callback       *struct {
			State       string `json:"state"`
			Attempts    int64  `json:"attempts"`
			LastAttempt *struct {
				Confirmations int64  `json:"confirmations"`
				HTTPStatus    int    `json:"http_status"`
				Error         string `json:"error"`
			} `json:"last_attempt"`
		} `json:"callback"`
	} `json:"deposits"`
}

// check asks /api/check about one of n's input addresses.
func check(t *testing.T, n *node, base, addr string) checkReply {
	t.Helper()
	resp, err := http.Get(base + "/api/check?" + url.Values{"method": {n.coin}, "address": {addr}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r checkReply
	if resp.StatusCode != 200 {
		t.Fatalf("/api/check: HTTP %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

// runPHP runs a PHP script with php-cli and returns its output.
func runPHP(t *testing.T, script string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "client.php")
	if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	return runCommand(t, nil, need(t, "php"), path)
}

// runPHPFile runs testdata/php/<script> with php-cli and env added to its
// environment, and returns its output.
func runPHPFile(t *testing.T, script string, env ...string) string {
	t.Helper()
	path, _ := filepath.Abs(filepath.Join("testdata/php", script))
	return runCommand(t, env, need(t, "php"), path)
}

// runNode runs testdata/node/<script> with node, with the npm packages of
// testdata/node/package.json (make test installs them), and returns its
// output.
func runNode(t *testing.T, script string, args ...string) string {
	t.Helper()
	node := need(t, "node")
	if _, err := os.Stat("testdata/node/node_modules/axios"); err != nil {
		if os.Getenv(regtest.RequireEnv) == "" {
			t.Skip("npm packages not installed (npm ci --prefix cmd/ferry/testdata/node)")
		}
		t.Fatal("npm packages not installed: run make test, or npm ci --prefix cmd/ferry/testdata/node")
	}
	path, _ := filepath.Abs(filepath.Join("testdata/node", script))
	return runCommand(t, nil, node, append([]string{path}, args...)...)
}

// runCommand runs a client program, bounded by waitTimeout, and returns
// its standard output; a failure fails the test with all it printed.
func runCommand(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s%s", filepath.Base(name), err, out, stderr.String())
	}
	return string(out)
}

// waitForLong is waitFor with a bound that allows a callback to time out
// first.
func waitForLong(t *testing.T, what string, cond func() bool) {
	t.Helper()
	relaytest.WaitWithin(t, 2*relaytest.Timeout, what, cond)
}
