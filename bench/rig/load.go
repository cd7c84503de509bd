package rig

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ferry-relay/ferry/chain/regtest"
)

// LoadResult is what a load run measured.
type LoadResult struct {
	Requests int
	Elapsed  time.Duration
	P50, P99 time.Duration
}

// PerSecond returns the requests per second.
func (r LoadResult) PerSecond() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// String formats r as the programs print a run: rate, p50 and p99.
func (r LoadResult) String() string {
	return fmt.Sprintf("%6.0f req/s  p50 %5.2f ms  p99 %5.2f ms", r.PerSecond(),
		float64(r.P50.Microseconds())/1000, float64(r.P99.Microseconds())/1000)
}

// Load makes n GET requests from clients concurrent clients, each on a
// connection of its own kept alive, the i'th to url(i); a request
// answered with another status than 200 is an error. check, if not nil,
// is given each body.
func Load(ctx context.Context, clients, n int, url func(i int) string, check func(body []byte) error) (LoadResult, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients, DisableCompression: true}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	fail := func(err error) { once.Do(func() { firstErr = err }) }
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Go(func() {
			buf := make([]byte, 0, 1024)
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n || firstErr != nil {
					return
				}
				t0 := time.Now()
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url(i), nil)
				resp, err := client.Do(req)
				if err != nil {
					fail(err)
					return
				}
				buf = buf[:0]
				for {
					if len(buf) == cap(buf) {
						buf = slices.Grow(buf, 1024)
					}
					m, err := resp.Body.Read(buf[len(buf):cap(buf)])
					buf = buf[:len(buf)+m]
					if err == io.EOF {
						break
					}
					if err != nil {
						fail(err)
						break
					}
				}
				resp.Body.Close()
				lat[i] = time.Since(t0)
				if resp.StatusCode != http.StatusOK {
					fail(fmt.Errorf("HTTP %d: %s", resp.StatusCode, buf))
					return
				}
				if check != nil {
					if err := check(buf); err != nil {
						fail(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return LoadResult{}, firstErr
	}
	if err := ctx.Err(); err != nil {
		return LoadResult{}, err
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return LoadResult{Requests: n, Elapsed: elapsed, P50: lat[n/2], P99: lat[n*99/100]}, nil
}

// bareEnv names the variable that makes a benchmark program serve the
// bare handler instead (see ServeBareIfAsked).
const bareEnv = "FERRY_BENCH_BARE"

// ServeBareIfAsked serves a bare net/http handler and does not return, if
// the process was started by StartBare; otherwise it returns at once.
// Benchmark programs call it first thing in main.
func ServeBareIfAsked() {
	spec := os.Getenv(bareEnv)
	if spec == "" {
		return
	}
	addr, body, _ := cut(spec)
	b := []byte(body)
	err := http.ListenAndServe(addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	}))
	fmt.Fprintln(os.Stderr, "bare:", err)
	os.Exit(1)
}

func cut(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == '|' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// Bare is a bare net/http server answering every request with a fixed
// JSON body, in a process of its own: the same process tree as ferry's.
type Bare struct {
	URL string
	cmd *exec.Cmd
}

// StartBare starts this program again as a bare server answering body.
// The program must call ServeBareIfAsked first in main.
func StartBare(body string) (*Bare, error) {
	port, err := regtest.FreePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), bareEnv+"="+addr+"|"+body)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	b := &Bare{URL: "http://" + addr, cmd: cmd}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if resp, err := http.Get(b.URL); err == nil {
			resp.Body.Close()
			return b, nil
		}
	}
	b.Stop()
	return nil, fmt.Errorf("bare server did not start")
}

// Pid returns the bare server's process id.
func (b *Bare) Pid() int { return b.cmd.Process.Pid }

// Stop ends the bare server.
func (b *Bare) Stop() {
	b.cmd.Process.Kill()
	b.cmd.Wait()
}

// Median returns the median of vs (the mean of the middle two for an even
// count).
func Median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
