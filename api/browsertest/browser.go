package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/ferry-relay/ferry/chain/regtest"
)

// Timeout bounds every wait of the package: starting Chromium, opening a
// page, each command to the browser, and WaitText.
const Timeout = 60 * time.Second

// flags are Chromium's command-line flags, besides --user-data-dir and what
// chromedp adds (--remote-debugging-pipe and about:blank as the first tab).
// The machine refuses outbound connections; these keep Chromium from trying.
// The flags of the list alone still let it look up clients2.google.com,
// accounts.google.com and its update servers in the DNS at start, so
// host-resolver-rules makes every name but 127.0.0.1 and localhost fail
// inside Chromium, before any query leaves it.
var flags = []struct {
	name  string
	value any
}{
	{"headless", "new"},
	{"no-sandbox", true},
	{"disable-gpu", true},
	{"disable-quic", true},
	{"no-first-run", true},
	{"disable-background-networking", true},
	{"disable-component-update", true},
	{"disable-sync", true},
	{"disable-default-apps", true},
	{"metrics-recording-only", true},
	{"mute-audio", true},
	{"host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"},
}

// Browser is one headless Chromium for a test, driven over the DevTools
// protocol. Its tabs are Pages; Open is safe for concurrent use.
type Browser struct {
	ctx context.Context // the chromedp context of the browser
	js  bool
}

// New starts a headless Chromium for tb and closes it at the end of the
// test. Chromium keeps its profile in a fresh directory of tb.TempDir().
// When chromium or zbarimg is not installed the test is skipped, or fails
// if the environment variable regtest.RequireEnv is set. A test shares one
// Browser among its subtests: each Open gets a tab and a profile of its own.
func New(tb testing.TB) *Browser {
	tb.Helper()
	return start(tb, true)
}

// NewWithoutJS is New with JavaScript disabled in every page it opens, as
// in Tor Browser's safest mode: no script of the page runs, <noscript>
// shows, and a <meta http-equiv="refresh"> still reloads the page. The
// harness itself still reads the page (Text, HTML, Click) over the
// DevTools protocol.
func NewWithoutJS(tb testing.TB) *Browser {
	tb.Helper()
	return start(tb, false)
}

// start starts Chromium, with or without JavaScript.
func start(tb testing.TB, js bool) *Browser {
	tb.Helper()
	chromium := lookPath(tb, "chromium")
	lookPath(tb, "zbarimg")

	// Chromium's options: the flags, a profile of the test's own, and its
	// output kept for a failing test.
	out := &tail{}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(tb.TempDir()),
		chromedp.CombinedOutput(out),
	}
	for _, f := range flags {
		opts = append(opts, chromedp.Flag(f.name, f.value))
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	stop := sync.OnceFunc(cancel)

	// Close it at the end of the test, gracefully first so that its
	// helper processes are gone before tb.TempDir is removed.
	started := false
	tb.Cleanup(func() {
		if started {
			cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
			if err := chromedp.Cancel(cctx); err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				tb.Logf("browsertest: closing chromium: %v", err)
			}
			ccancel()
		}
		stop()
		acancel()
		if tb.Failed() {
			tb.Logf("browsertest: chromium's output:\n%s", out)
		}
	})

	// The first command starts Chromium and binds it to ctx, which
	// must therefore have no deadline: within bounds the wait instead.
	if err := within(stop, func() error { return chromedp.Do(ctx) }); err != nil {
		tb.Fatalf("browsertest: start chromium: %v", err)
	}
	started = true
	return &Browser{ctx: ctx, js: js}
}

// Open opens url in a new tab of b with a viewport of width by height CSS
// pixels at a device scale factor of 1 (a phone is 390x844), and waits for
// the page's load event. The viewport is laid out as a desktop browser
// does (no mobile emulation: a <meta name="viewport"> changes nothing) with
// overlay scrollbars. The tab has a profile of its own, with an empty cache
// and no cookies, and closes at the end of tb, which may be a subtest of
// the Browser's test.
func (b *Browser) Open(tb testing.TB, url string, width, height int) *Page {
	tb.Helper()
	p := &Page{url: url, ids: map[string]int{}}
	ctx, cancel := chromedp.NewContext(b.ctx,
		chromedp.WithNewBrowserContext(),
		chromedp.WithListener(p.record))
	closeTab := sync.OnceFunc(cancel)
	tb.Cleanup(closeTab)
	p.ctx = ctx

	// The first command opens the tab, which lives as long as ctx.
	if err := within(closeTab, func() error { return chromedp.Do(ctx) }); err != nil {
		tb.Fatalf("browsertest: open a tab: %v", err)
	}

	// The viewport, JavaScript, then the page.
	ctx, cancelOpen := context.WithTimeout(ctx, Timeout)
	defer cancelOpen()
	_, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
		Width: int64(width), Height: int64(height), DeviceScaleFactor: 1,
		ScrollbarType: emulation.SetDeviceMetricsOverrideScrollbarTypeOverlay,
	})
	if err == nil && !b.js {
		_, err = chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
	}
	if err == nil {
		err = chromedp.Do(ctx, chromedp.Navigate(url))
	}
	if err != nil {
		tb.Fatalf("browsertest: open %s: %v", url, err)
	}
	return p
}

// within runs f and returns its error, or, if f has not returned after
// Timeout, calls stop (which must make f return) and reports the timeout.
func within(stop func(), f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	timer := time.NewTimer(Timeout)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		stop()
		<-done
		return fmt.Errorf("no answer after %v", Timeout)
	}
}

// lookPath finds the program name, or skips tb (fails it if
// regtest.RequireEnv is set).
func lookPath(tb testing.TB, name string) string {
	tb.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv(regtest.RequireEnv) == "" {
			tb.Skipf("browsertest: %s is not installed", name)
		}
		tb.Fatalf("browsertest: %s is not installed and %s is set", name, regtest.RequireEnv)
	}
	return path
}

// tail keeps the last 64 KiB written to it. It is safe for concurrent use.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

// Write keeps p.
func (t *tail) Write(p []byte) (int, error) {
	const max = 64 << 10
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > max {
		t.buf = append(t.buf[:0:0], t.buf[len(t.buf)-max:]...)
	}
	return len(p), nil
}

// String returns what was kept.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
