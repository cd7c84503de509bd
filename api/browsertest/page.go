package browsertest

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// pollInterval is how often WaitText reads the page, and how soon a
// failed read is tried again.
const pollInterval = 100 * time.Millisecond

// readBound bounds the retries of one read of the page: a read that falls
// between two documents (a reload) fails and is tried again.
const readBound = 10 * time.Second

// Page is one tab of a Browser, opened by Browser.Open. Its methods that
// take a testing.TB drive the tab and are for one goroutine at a time;
// Loads, Requests and ConsoleErrors only read what the tab recorded and are
// safe for concurrent use.
type Page struct {
	ctx context.Context // the chromedp context of the tab
	url string

	// What the tab recorded, in the order Chromium reported it.
	mu       sync.Mutex
	loads    int            // documents committed to the main frame
	requests []string       // URLs the page requested
	ids      map[string]int // request id -> its last index in requests
	dropped  []bool         // parallel to requests: blocked inside Chromium
	errors   []string
}

// Text returns document.body.innerText: the text of the page as it is
// rendered, without hidden elements. A read that falls between two
// documents is tried again for up to 10 seconds.
func (p *Page) Text(tb testing.TB) string {
	tb.Helper()
	return p.read(tb, "read the text", `document.body ? document.body.innerText : ""`)
}

// WaitText waits until Text contains substr, reading it every 100 ms for at
// most Timeout, then fails the test with the last text it saw.
func (p *Page) WaitText(tb testing.TB, substr string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, Timeout)
	defer cancel()
	var last string
	var err error
	for range int(Timeout / pollInterval) {
		var text string
		if text, err = p.eval(ctx, `document.body ? document.body.innerText : ""`); err == nil {
			if strings.Contains(text, substr) {
				return
			}
			last = text
		}
		if !sleep(ctx, pollInterval) {
			break
		}
	}
	if err != nil {
		tb.Fatalf("browsertest: %s: no %q after %v (last error: %v); last text seen:\n%s", p.url, substr, Timeout, err, last)
	}
	tb.Fatalf("browsertest: %s: no %q after %v; last text seen:\n%s", p.url, substr, Timeout, last)
}

// HTML returns the current DOM serialized (document.documentElement's
// outerHTML, without the doctype), as scripts have left it.
func (p *Page) HTML(tb testing.TB) string {
	tb.Helper()
	return p.read(tb, "read the DOM", `document.documentElement.outerHTML`)
}

// Screenshot returns a PNG of the viewport, width by height pixels for
// Open's width and height.
func (p *Page) Screenshot(tb testing.TB) []byte {
	tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, Timeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.Fatalf("browsertest: %s: screenshot: %v", p.url, err)
	}
	return png
}

// Click clicks, with the mouse, the middle of the first element that
// matches the CSS selector, once it is visible (waiting at most Timeout).
// It does not wait for a navigation the click starts; WaitText does.
func (p *Page) Click(tb testing.TB, selector string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, Timeout)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(selector))); err != nil {
		tb.Fatalf("browsertest: %s: click %s: %v", p.url, selector, err)
	}
}

// Loads returns how many documents have loaded in the tab's main frame: 1
// after Open, and 1 more for each reload or navigation, counted when the
// new document replaces the old (before its load event), so that Text
// never shows a document Loads has not counted. An update that came
// without a reload leaves it alone; a <meta http-equiv="refresh"> that
// fired raises it.
func (p *Page) Loads() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.loads
}

// Requests returns the URL of every request the page made, in order,
// repeats included: documents, subresources, fetches, EventSources and
// WebSockets. It leaves out data: and blob: URLs, which never leave the
// browser, and requests Chromium blocked before sending them (by the
// Content-Security-Policy or as mixed content), which ConsoleErrors
// reports instead. It does not see inside a cross-site iframe, which
// Chromium runs as a target of its own.
func (p *Page) Requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var urls []string
	for i, u := range p.requests {
		if !p.dropped[i] {
			urls = append(urls, u)
		}
	}
	return urls
}

// ConsoleErrors returns the page's errors in order, one line each:
// console.error and console.assert calls ("console.error: ..."), uncaught
// exceptions ("exception: ..."), and Chromium's own error reports, prefixed
// with their source: "security: " for a Content-Security-Policy violation,
// "network: " for a failed load (a 404, a favicon.ico the server lacks).
func (p *Page) ConsoleErrors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.errors...)
}

// read evaluates expr, a string, trying again for readBound if it fails,
// and fails tb with the last error.
func (p *Page) read(tb testing.TB, what, expr string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, readBound)
	defer cancel()
	var err error
	for range int(readBound / pollInterval) {
		var s string
		if s, err = p.eval(ctx, expr); err == nil {
			return s
		}
		if !sleep(ctx, pollInterval) {
			break
		}
	}
	tb.Fatalf("browsertest: %s: %s: %v", p.url, what, err)
	return ""
}

// eval evaluates expr, a string, in the page's main frame.
func (p *Page) eval(ctx context.Context, expr string) (string, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[string](expr))
}

// sleep waits d, or less if ctx ends first; it reports whether ctx is
// still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// record notes an event of the tab. Chromedp calls it in the tab's
// message loop, in the order of the events and before the answer to any
// later command, so that what a command waited for is recorded when it
// returns.
func (p *Page) record(ev any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch ev := ev.(type) {
	case *page.EventFrameNavigated:
		// A new document in the main frame. The tab starts on
		// about:blank, which is not the page's.
		if ev.Frame.ParentID == "" && ev.Frame.URL != "about:blank" {
			p.loads++
		}
	case *network.EventRequestWillBeSent:
		p.request(string(ev.RequestID), ev.Request.URL)
	case *network.EventWebSocketCreated:
		p.request(string(ev.RequestID), ev.URL)
	case *network.EventLoadingFailed:
		// Only these are blocked before the request leaves Chromium; a
		// CORS or CORP failure comes after the server answered.
		if i, ok := p.ids[string(ev.RequestID)]; ok &&
			(ev.BlockedReason == network.BlockedReasonCsp || ev.BlockedReason == network.BlockedReasonMixedContent) {
			p.dropped[i] = true
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			p.errors = append(p.errors, "console."+string(ev.Type)+": "+argsText(ev.Args))
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil {
			desc, _, _ := strings.Cut(d.Exception.Description, "\n")
			text += " " + desc
		}
		p.errors = append(p.errors, "exception: "+strings.TrimSpace(text)+where(d.URL))
	case *log.EventEntryAdded:
		if e := ev.Entry; e.Level == log.EntryLevelError {
			p.errors = append(p.errors, string(e.Source)+": "+e.Text+where(e.URL))
		}
	}
}

// request notes a request; p.mu is held.
func (p *Page) request(id, url string) {
	if strings.HasPrefix(url, "data:") || strings.HasPrefix(url, "blob:") {
		return
	}
	p.requests = append(p.requests, url)
	p.dropped = append(p.dropped, false)
	p.ids[id] = len(p.requests) - 1 // a redirect's last hop
}

// where is " (at url)", or nothing without a url.
func where(url string) string {
	if url == "" {
		return ""
	}
	return " (at " + url + ")"
}

// argsText renders the arguments of a console call: strings as they are,
// other values as Chromium describes them.
func argsText(args []*runtime.RemoteObject) string {
	var parts []string
	for _, a := range args {
		var s string
		switch {
		case a.Type == runtime.RemoteObjectTypeString && json.Unmarshal(a.Value, &s) == nil:
		case a.Description != "":
			s = a.Description
		case len(a.Value) > 0:
			s = string(a.Value)
		default:
			s = string(a.Type)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}
