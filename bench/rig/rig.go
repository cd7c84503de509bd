// Package rig runs what ferry's benchmark programs measure: the real ferry
// binary as a process of its own, a bare net/http server beside it, and an
// HTTP load generator, and reads what a process uses (its resident
// memory, its log).
package rig

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ferry-relay/ferry/chain/regtest"
)

// BuildFerry builds the ferry binary into dir and returns its path.
func BuildFerry(dir string) (string, error) {
	bin := filepath.Join(dir, "ferry")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/ferry-relay/ferry/cmd/ferry")
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build ferry: %v\n%s", err, out)
	}
	return bin, nil
}

// Ferry is a ferry process.
type Ferry struct {
	// URL is the API's base URL, "http://127.0.0.1:port".
	URL string
	// LogPath is the file its log (standard error) goes to.
	LogPath string
	// Started is when the process was started.
	Started time.Time
	cmd     *exec.Cmd
	done    chan struct{}
}

// StartFerry starts bin with args and --listen on a free port of
// 127.0.0.1, its log going to logPath. It does not wait for the API.
func StartFerry(bin, logPath string, args ...string) (*Ferry, error) {
	port, err := regtest.FreePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	f := &Ferry{URL: fmt.Sprintf("http://127.0.0.1:%d", port), LogPath: logPath, done: make(chan struct{})}
	f.cmd = exec.Command(bin, append([]string{"--listen", fmt.Sprintf("127.0.0.1:%d", port)}, args...)...)
	f.cmd.Stdout, f.cmd.Stderr = logf, logf
	f.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	f.Started = time.Now()
	if err := f.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start ferry: %w", err)
	}
	go func() { f.cmd.Wait(); logf.Close(); close(f.done) }()
	return f, nil
}

// Pid returns the process id.
func (f *Ferry) Pid() int { return f.cmd.Process.Pid }

// WaitReady waits until the API answers /healthz (with any status) and
// returns how long after the start that was.
func (f *Ferry) WaitReady(timeout time.Duration) (time.Duration, error) {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-f.done:
			return 0, fmt.Errorf("ferry exited: %s", f.Tail(20))
		default:
		}
		resp, err := client.Get(f.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			return time.Since(f.Started), nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return 0, fmt.Errorf("ferry not ready in %v: %s", timeout, f.Tail(20))
}

// Health is the part of /healthz the programs read.
type Health struct {
	OK    bool `json:"ok"`
	Coins []struct {
		Coin       string `json:"coin"`
		ScanHeight int64  `json:"scan_height"`
	} `json:"coins"`
}

// Health returns /healthz's answer.
func (f *Ferry) Health() (*Health, error) {
	resp, err := http.Get(f.URL + "/healthz")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var h Health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		return nil, err
	}
	return &h, nil
}

// ScanHeight returns the height the first coin's scanner has reached, or
// -1 if /healthz does not answer.
func (f *Ferry) ScanHeight() int64 {
	h, err := f.Health()
	if err != nil || len(h.Coins) == 0 {
		return -1
	}
	return h.Coins[0].ScanHeight
}

// Stop interrupts the process and waits for it to end (killing it after
// 30 s).
func (f *Ferry) Stop() error {
	f.cmd.Process.Signal(os.Interrupt)
	select {
	case <-f.done:
	case <-time.After(30 * time.Second):
		f.cmd.Process.Kill()
		<-f.done
		return errors.New("ferry did not stop in 30 s: killed")
	}
	return nil
}

// RSS returns the process's resident set size in bytes.
func (f *Ferry) RSS() (int64, error) { return RSS(f.Pid()) }

// Tail returns the last n lines of the log.
func (f *Ferry) Tail(n int) string {
	b, _ := os.ReadFile(f.LogPath)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// LogLine is one line of ferry's JSON log.
type LogLine map[string]any

// Time returns the line's timestamp.
func (l LogLine) Time() time.Time {
	s, _ := l["time"].(string)
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// Log returns the lines of the log whose message is msg.
func (f *Ferry) Log(msg string) []LogLine {
	file, err := os.Open(f.LogPath)
	if err != nil {
		return nil
	}
	defer file.Close()
	var out []LogLine
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if !strings.Contains(sc.Text(), msg) {
			continue
		}
		var l LogLine
		if json.Unmarshal(sc.Bytes(), &l) == nil && l["message"] == msg {
			out = append(out, l)
		}
	}
	return out
}

// RSS returns the resident set size of process pid in bytes.
func RSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			kb, err := strconv.ParseInt(strings.Fields(l)[1], 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// Sampler records the peak of a value sampled periodically.
type Sampler struct {
	mu   sync.Mutex
	peak int64
	stop context.CancelFunc
	done chan struct{}
}

// SampleRSS samples pid's resident memory every interval until Stop.
func SampleRSS(pid int, interval time.Duration) *Sampler {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sampler{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if v, err := RSS(pid); err == nil {
				s.mu.Lock()
				s.peak = max(s.peak, v)
				s.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// Stop stops sampling and returns the peak.
func (s *Sampler) Stop() int64 {
	s.stop()
	<-s.done
	return s.peak
}

// DirSize returns the total size of the files under dir.
func DirSize(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// MB formats bytes in megabytes.
func MB(b int64) string { return fmt.Sprintf("%.0f MB", float64(b)/(1<<20)) }

// CPUTime returns the processor time (user and system) process pid has
// used.
func CPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command name, which is in parentheses.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // USER_HZ
	return time.Duration(utime+stime) * time.Second / ticks, nil
}

// WaitQuiet waits until process pid uses less than 2% of a processor over
// a quarter of a second (its background work done: keys derived ahead, a
// compaction), for at most timeout, and returns how long it waited. A
// process still busy at timeout is an error.
func WaitQuiet(pid int, timeout time.Duration) (time.Duration, error) {
	const window = 250 * time.Millisecond
	start := time.Now()
	last, err := CPUTime(pid)
	if err != nil {
		return 0, err
	}
	for time.Since(start) < timeout {
		time.Sleep(window)
		now, err := CPUTime(pid)
		if err != nil {
			return 0, err
		}
		if now-last < window/50 {
			return time.Since(start), nil
		}
		last = now
	}
	return time.Since(start), fmt.Errorf("process %d still busy after %v", pid, timeout)
}
