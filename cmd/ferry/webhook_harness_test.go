package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-relay/ferry/chain/regtest"
)

// nodeApp is a Node program serving on 127.0.0.1 (a shop's webhook
// receiver), logging what it gets to Log.
type nodeApp struct {
	URL, Log string
	out      *syncBuffer
}

// syncBuffer is a strings.Builder safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

// Write implements io.Writer.
func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written.
func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startNodeApp runs testdata/node/<script> with PORT, WEBHOOK_LOG and env
// in its environment until the end of the test, once it prints READY.
func startNodeApp(t *testing.T, script string, env ...string) *nodeApp {
	t.Helper()
	node := need(t, "node")
	if _, err := os.Stat("testdata/node/node_modules/express"); err != nil {
		t.Fatal("npm packages not installed: run make test, or npm ci --prefix cmd/ferry/testdata/node")
	}
	port, err := regtest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	a := &nodeApp{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Log: filepath.Join(t.TempDir(), "webhooks.log"), out: &syncBuffer{}}
	path, _ := filepath.Abs(filepath.Join("testdata/node", script))
	cmd := exec.Command(node, path)
	cmd.Env = append(append(os.Environ(), fmt.Sprintf("PORT=%d", port), "WEBHOOK_LOG="+a.Log), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = a.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "READY" {
				ready <- true
			}
			a.out.Write([]byte(sc.Text() + "\n"))
		}
		ready <- false
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s printed:\n%s", script, a.out)
		}
	})
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("%s ended before it listened", script)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("%s did not listen", script)
	}
	return a
}

// entries returns what the app logged, one decoded JSON line each.
func (a *nodeApp) entries(t *testing.T) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(a.Log)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, e)
	}
	return out
}

// getJSON gets u and decodes its JSON answer into v, returning the status.
func getJSON(t *testing.T, u string, header map[string]string, v any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for k, x := range header {
		req.Header.Set(k, x)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return resp.StatusCode
}

// TestREADMEWebhookCode checks that README's verification code is the code
// the tests' receivers run.
func TestREADMEWebhookCode(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct{ path, begin string }{
		{"testdata/node/webhook_receiver.js", "// --- README: verifying a webhook in Node ---\n"},
		{"testdata/php/verify_webhook.php", "// --- README: verifying a webhook in PHP ---\n"},
		{"testdata/php/ferry_signature.php", "// --- README: checking a callback's signature in PHP ---\n"},
	} {
		b, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		code, ok := strings.CutPrefix(string(b)[strings.Index(string(b), f.begin):], f.begin)
		code, _, _ = strings.Cut(code, "// --- end of README")
		if !ok || !strings.Contains(string(readme), strings.TrimSpace(code)) {
			t.Errorf("README does not show %s's verification code as it is", f.path)
		}
	}
}
