package regtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ferry-relay/ferry/chain"
)

// ErrNotInstalled reports a node binary missing from PATH.
var ErrNotInstalled = errors.New("node binary not installed")

// ErrExitedAtStart reports a node that ended before it answered RPC: most
// often a port FreePort found free taken meanwhile by another test's node.
var ErrExitedAtStart = errors.New("exited at start")

// process is a node started by the harness.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	log  *os.File
}

// startProcess starts bin with args, its output going to logPath. The child
// is killed if the harness process dies.
func startProcess(bin string, args []string, logPath string) (*process, error) {
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrNotInstalled, bin)
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &process{name: bin, cmd: cmd, done: make(chan struct{}), log: logf}
	go func() {
		cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

// Pid returns the process id.
func (p *process) Pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the pid and waits up to timeout for the process to
// end, then kills it.
func (p *process) stop(timeout time.Duration) error {
	if p.exited() {
		return nil
	}
	if err := syscall.Kill(p.Pid(), syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop %s: %w", p.name, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
	}
	syscall.Kill(p.Pid(), syscall.SIGKILL)
	<-p.done
	return fmt.Errorf("stop %s: killed after %v", p.name, timeout)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// randomPassword returns an RPC password for one node.
func randomPassword() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// waitRPC calls getblockcount until the node answers, the process ends, or
// timeout passes.
func waitRPC(ctx context.Context, p *process, n *chain.Node, timeout time.Duration, logPath string) error {
	deadline := time.Now().Add(timeout)
	for {
		_, err := n.BlockCount(ctx)
		if err == nil {
			return nil
		}
		if p.exited() {
			return fmt.Errorf("%s %w: %s ends: %s", p.name, ErrExitedAtStart, logPath, logTail(logPath, 3))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: no RPC answer after %v: %w (see %s)", p.name, timeout, err, logPath)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// logFile names a node's output file in dir.
func logFile(dir, name string) string { return filepath.Join(dir, name+".log") }

// logTail returns the last n lines of the file at path, joined by " | ".
func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], " | ")
}
