// Package tortest runs Debian's tor and microsocks for tests, on 127.0.0.1
// only: a tor with its network disabled, whose control port still creates
// onion services, and a SOCKS5 proxy that resolves the names a test gives it
// to 127.0.0.1, in a mount namespace of its own, so that a test can follow a
// .onion name from ferry to a local merchant.
package tortest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RequireEnv names the variable that makes a missing tor or microsocks a
// failure rather than a skipped test; make test sets it.
const RequireEnv = "FERRY_REQUIRE_NODES"

func lookPath(tb testing.TB, bin string) string {
	tb.Helper()
	p, err := exec.LookPath(bin)
	if err != nil {
		if os.Getenv(RequireEnv) == "" {
			tb.Skipf("%s not installed", bin)
		}
		tb.Fatalf("%s not installed", bin)
	}
	return p
}

func freePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Tor is a tor process with a control port and no network.
type Tor struct {
	// Control is the control port's address; CookieFile its cookie.
	Control    string
	CookieFile string
	dir        string
	torrc      string
	cmd        *exec.Cmd
	tb         testing.TB
}

// StartTor starts tor with cookie authentication, and password
// authentication too if password is not empty. It is stopped at cleanup.
func StartTor(tb testing.TB, password string) *Tor {
	tb.Helper()
	bin := lookPath(tb, "tor")
	dir := tb.TempDir()
	os.Chmod(dir, 0o700)
	t := &Tor{dir: dir, tb: tb, Control: fmt.Sprintf("127.0.0.1:%d", freePort(tb))}
	t.CookieFile = filepath.Join(dir, "data", "control_auth_cookie")
	conf := []string{
		"DataDirectory " + filepath.Join(dir, "data"),
		"ControlPort " + t.Control,
		"CookieAuthentication 1",
		"SocksPort 0",
		"DisableNetwork 1",
		"Log notice file " + filepath.Join(dir, "tor.log"),
	}
	if password != "" {
		out, err := exec.Command(bin, "--quiet", "--hash-password", password).Output()
		if err != nil {
			tb.Fatalf("tor --hash-password: %v", err)
		}
		conf = append(conf, "HashedControlPassword "+strings.TrimSpace(string(out)))
	}
	t.torrc = filepath.Join(dir, "torrc")
	if err := os.WriteFile(t.torrc, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	t.start()
	tb.Cleanup(t.Stop)
	return t
}

func (t *Tor) start() {
	t.tb.Helper()
	t.cmd = exec.Command("tor", "-f", t.torrc)
	t.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := t.cmd.Start(); err != nil {
		t.tb.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", t.Control)
		if err == nil {
			c.Close()
			if _, err := os.Stat(t.CookieFile); err == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(t.dir, "tor.log"))
			t.tb.Fatalf("tor did not open its control port: %s", log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops tor by its pid.
func (t *Tor) Stop() {
	if t.cmd != nil && t.cmd.Process != nil {
		t.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { t.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.cmd.Process.Kill()
			<-done
		}
		t.cmd = nil
	}
}

// Restart stops tor and starts it again on the same data directory and port.
func (t *Tor) Restart() {
	t.tb.Helper()
	t.Stop()
	t.start()
}

// SOCKS is a microsocks SOCKS5 proxy on 127.0.0.1.
type SOCKS struct {
	// Addr is the proxy's address.
	Addr string
	mu   sync.Mutex
	seen []string
	cmd  *exec.Cmd
}

// StartSOCKS starts microsocks in a mount namespace whose /etc/hosts maps
// names (".onion" ones too) to 127.0.0.1; elsewhere the names resolve to
// nothing. It is stopped at cleanup.
func StartSOCKS(tb testing.TB, names ...string) *SOCKS {
	tb.Helper()
	bin := lookPath(tb, "microsocks")
	unshare := lookPath(tb, "unshare")
	hosts := filepath.Join(tb.TempDir(), "hosts")
	content := "127.0.0.1 localhost\n"
	if len(names) > 0 {
		content += "127.0.0.1 " + strings.Join(names, " ") + "\n"
	}
	if err := os.WriteFile(hosts, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
	s := &SOCKS{Addr: fmt.Sprintf("127.0.0.1:%d", freePort(tb))}
	_, port, _ := net.SplitHostPort(s.Addr)
	script := fmt.Sprintf("mount --bind %s /etc/hosts && exec %s -i 127.0.0.1 -p %s", hosts, bin, port)
	// A user namespace where it is allowed, else root's own mount
	// namespace.
	for _, flags := range [][]string{{"-r", "-m"}, {"-m"}} {
		cmd := exec.Command(unshare, append(flags, "sh", "-c", script)...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		out, err := cmd.StdoutPipe()
		if err != nil {
			tb.Fatal(err)
		}
		cmd.Stderr = cmd.Stdout
		if err := cmd.Start(); err != nil {
			tb.Fatal(err)
		}
		go s.read(out)
		if s.wait() {
			s.cmd = cmd
			tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			return s
		}
		cmd.Process.Kill()
		cmd.Wait()
	}
	tb.Fatal("microsocks did not start in a mount namespace (unshare -r -m, or -m as root)")
	return nil
}

func (s *SOCKS) wait() bool {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", s.Addr); err == nil {
			c.Close()
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func (s *SOCKS) read(r interface{ Read([]byte) (int, error) }) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if _, target, ok := strings.Cut(sc.Text(), "connected to "); ok {
			s.mu.Lock()
			s.seen = append(s.seen, target)
			s.mu.Unlock()
		}
	}
}

// Connections returns the targets the proxy has connected to, as clients
// named them ("abc….onion:80").
func (s *SOCKS) Connections() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}
