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
	"time"

	"github.com/ferry-relay/ferry/chain/regtest"
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
	php, err := exec.LookPath("php")
	if err != nil {
		if os.Getenv(regtest.RequireEnv) == "" {
			t.Skip("php not installed")
		}
		t.Fatal("php not installed")
	}
	key, err := os.ReadFile(filepath.Join(dataDir, "callback.key"))
	if err != nil {
		t.Fatal(err)
	}
	port, err := regtest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	script, _ := filepath.Abs("testdata/php/merchant.php")
	m := &merchant{URL: fmt.Sprintf("http://127.0.0.1:%d", port), log: filepath.Join(t.TempDir(), "merchant.log")}
	cmd := exec.Command(php, "-S", fmt.Sprintf("127.0.0.1:%d", port), script)
	cmd.Env = append(os.Environ(), "MERCHANT_LOG="+m.log, "FERRY_CALLBACK_KEY="+strings.TrimSpace(string(key)), "PHP_CLI_SERVER_WORKERS=4")
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

// callback is one request the merchant logged.
type callback struct {
	Get   map[string]string `json:"get"`
	URL   string            `json:"url"`
	SigOK bool              `json:"sig_ok"`
	Phase string            `json:"phase"`
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
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	path := filepath.Join(t.TempDir(), "client.php")
	if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, "php", path).CombinedOutput()
	if err != nil {
		t.Fatalf("php: %v\n%s", err, out)
	}
	return string(out)
}

// waitTimeoutLong bounds waits that include a callback timing out.
const waitTimeoutLong = 2 * waitTimeout

// waitForLong is waitFor with waitTimeoutLong.
func waitForLong(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeoutLong)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
