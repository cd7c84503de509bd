package browsertest_test

import (
	"bytes"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/skip2/go-qrcode"

	"github.com/ferry-relay/ferry/api/browsertest"
)

// uri is the payment request the test invoice shows as a QR code.
const uri = "litecoin:rltc1qk8hjy3lf245r7ppr2lfy8zxn8nwrmuas7tq53e?amount=0.125"

// head starts every test page; the data: icon keeps Chromium from asking
// for /favicon.ico, whose 404 ConsoleErrors would report.
const head = `<!doctype html><html><head><meta charset="utf-8"><title>Invoice</title><link rel="icon" href="data:,">`

// TestBrowser runs the checks that need JavaScript in one Chromium.
func TestBrowser(t *testing.T) {
	b := browsertest.New(t)
	t.Run("qr", func(t *testing.T) { testQR(t, b) })
	t.Run("live", func(t *testing.T) { testLive(t, b) })
	t.Run("csp", func(t *testing.T) { testCSP(t, b) })
	t.Run("requests", func(t *testing.T) { testRequests(t, b) })
}

// testQR reads back the QR code of a server-rendered SVG from screenshots
// at a phone's viewport and a laptop's.
func testQR(t *testing.T, b *browsertest.Browser) {
	page := head + `</head><body><h1>Pay 0.125 LTC</h1>` + qrSVG(t, uri, 6) + `<p>rltc1qk8hjy3lf245r7ppr2lfy8zxn8nwrmuas7tq53e</p></body></html>`
	srv := serve(t, map[string]http.Handler{"/": html(page)})
	for _, vp := range []struct {
		name          string
		width, height int
	}{{"phone", 390, 844}, {"laptop", 1280, 800}} {
		t.Run(vp.name, func(t *testing.T) {
			p := b.Open(t, srv.URL, vp.width, vp.height)
			shot := p.Screenshot(t)
			img, err := png.Decode(bytes.NewReader(shot))
			if err != nil {
				t.Fatal(err)
			}
			if got := img.Bounds().Size(); got.X != vp.width || got.Y != vp.height {
				t.Errorf("screenshot is %v, want %dx%d", got, vp.width, vp.height)
			}
			if got := browsertest.DecodeQR(t, shot); !slices.Equal(got, []string{uri}) {
				t.Errorf("DecodeQR = %q, want [%q]", got, uri)
			}
			if errs := p.ConsoleErrors(); len(errs) > 0 {
				t.Errorf("console errors: %q", errs)
			}
			if !strings.Contains(p.Text(t), "Pay 0.125 LTC") || !strings.Contains(p.HTML(t), "<svg") {
				t.Errorf("text %q, HTML %q", p.Text(t), p.HTML(t))
			}

			// SavePNG makes the directories it needs.
			path := filepath.Join(t.TempDir(), "docs", "screenshots", vp.name+".png")
			browsertest.SavePNG(t, path, shot)
			if saved, err := os.ReadFile(path); err != nil || !bytes.Equal(saved, shot) {
				t.Errorf("SavePNG: read back %d bytes, %v", len(saved), err)
			}
		})
	}

	// A page without a code decodes to nothing.
	blank := serve(t, map[string]http.Handler{"/": html(head + `</head><body>no code</body></html>`)})
	if got := browsertest.DecodeQR(t, b.Open(t, blank.URL, 390, 844).Screenshot(t)); len(got) != 0 {
		t.Errorf("DecodeQR of a page without a code = %q", got)
	}
}

// testLive watches a status turn to paid through the page's polling
// script, without a reload, and clicks a button of the page.
func testLive(t *testing.T, b *browsertest.Browser) {
	var paid atomic.Bool
	srv := serve(t, map[string]http.Handler{
		"/": html(head + `<script src="/app.js" defer></script></head><body>
<p>Status: <span id="status">pending</span></p>
<button id="btc">Bitcoin</button> <span id="coin">Litecoin</span></body></html>`),
		"/app.js": script(`document.getElementById("btc").onclick = () => { document.getElementById("coin").textContent = "chose Bitcoin"; };
const timer = setInterval(async () => {
	const s = await (await fetch("/status")).text();
	document.getElementById("status").textContent = s;
	if (s === "paid") clearInterval(timer);
}, 100);`),
		"/status": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if paid.Load() {
				fmt.Fprint(w, "paid")
				return
			}
			fmt.Fprint(w, "pending")
		}),
	})

	p := b.Open(t, srv.URL, 390, 844)
	p.WaitText(t, "Status: pending")
	paid.Store(true)
	p.WaitText(t, "Status: paid")
	if n := p.Loads(); n != 1 {
		t.Errorf("Loads = %d after a live update, want 1", n)
	}
	p.Click(t, "#btc")
	p.WaitText(t, "chose Bitcoin")
	if errs := p.ConsoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}
}

// testCSP loads a page whose strict policy blocks its inline script and a
// third party's image.
func testCSP(t *testing.T, b *browsertest.Browser) {
	srv := serve(t, map[string]http.Handler{
		"/": strict(html(head + `<script src="/self.js"></script></head><body>
<p id="inline">inline script blocked</p><p id="self">script of the page blocked</p>
<script>document.getElementById("inline").textContent = "inline script ran";</script>
<img src="http://tracker.thirdparty.invalid/pixel.png" alt=""></body></html>`)),
		"/self.js": strict(script(`addEventListener("DOMContentLoaded", () => { document.getElementById("self").textContent = "script of the page ran"; });`)),
	})

	p := b.Open(t, srv.URL, 1280, 800)
	p.WaitText(t, "script of the page ran")
	if text := p.Text(t); !strings.Contains(text, "inline script blocked") {
		t.Errorf("the inline script ran: %q", text)
	}
	errs := p.ConsoleErrors()
	for _, want := range []string{"script-src", "img-src"} {
		if !slices.ContainsFunc(errs, func(e string) bool {
			return strings.HasPrefix(e, "security: ") && strings.Contains(e, want)
		}) {
			t.Errorf("no %s violation in console errors %q", want, errs)
		}
	}
	reqs := p.Requests()
	if !slices.Contains(reqs, srv.URL+"/self.js") {
		t.Errorf("requests %q lack /self.js", reqs)
	}
	for _, r := range reqs {
		if u, err := url.Parse(r); err != nil || u.Hostname() != "127.0.0.1" {
			t.Errorf("request left 127.0.0.1: %s", r)
		}
	}
}

// testRequests shows that Requests does see a third party's request that
// no policy blocks (its name does not resolve inside Chromium).
func testRequests(t *testing.T, b *browsertest.Browser) {
	const pixel = "http://tracker.thirdparty.invalid/pixel.png"
	srv := serve(t, map[string]http.Handler{"/": html(head + `</head><body><img src="` + pixel + `" alt=""></body></html>`)})
	p := b.Open(t, srv.URL, 1280, 800)
	if reqs := p.Requests(); !slices.Equal(reqs, []string{srv.URL + "/", pixel}) {
		t.Errorf("Requests = %q, want the page and %s", reqs, pixel)
	}
}

// TestWithoutJS checks the fallback for browsers without JavaScript: a
// meta refresh, and links.
func TestWithoutJS(t *testing.T) {
	b := browsertest.NewWithoutJS(t)

	t.Run("refresh", func(t *testing.T) {
		var paid atomic.Bool
		srv := serve(t, map[string]http.Handler{
			"/": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				status, refresh := "pending", `<meta http-equiv="refresh" content="1">`
				if paid.Load() {
					status, refresh = "paid", ""
				}
				html(head+refresh+`<script src="/app.js" defer></script></head><body>
<p>Status: `+status+`</p><p id="js">no script</p><noscript>This page refreshes itself.</noscript></body></html>`).ServeHTTP(w, r)
			}),
			"/app.js": script(`document.getElementById("js").textContent = "script ran";`),
		})

		p := b.Open(t, srv.URL, 390, 844)
		text := p.Text(t)
		if !strings.Contains(text, "Status: pending") || !strings.Contains(text, "no script") || !strings.Contains(text, "refreshes itself") {
			t.Errorf("without JavaScript, the page reads %q", text)
		}
		paid.Store(true)
		p.WaitText(t, "Status: paid")
		if n := p.Loads(); n < 2 {
			t.Errorf("Loads = %d after a meta refresh, want more than 1", n)
		}
		if text := p.Text(t); strings.Contains(text, "script ran") {
			t.Errorf("a script ran: %q", text)
		}
	})

	t.Run("click", func(t *testing.T) {
		srv := serve(t, map[string]http.Handler{
			"/":    html(head + `</head><body><a id="btc" href="/btc">Bitcoin</a> <a id="ltc" href="/ltc">Litecoin</a></body></html>`),
			"/btc": html(head + `</head><body>Pay in bitcoin</body></html>`),
		})
		p := b.Open(t, srv.URL, 390, 844)
		p.Click(t, "#btc")
		p.WaitText(t, "Pay in bitcoin")
		if n := p.Loads(); n != 2 {
			t.Errorf("Loads = %d after following a link, want 2", n)
		}
	})
}

// serve serves routes (patterns of http.ServeMux; "/" is the root page
// only) on 127.0.0.1 until the end of the test.
func serve(t *testing.T, routes map[string]http.Handler) *httptest.Server {
	mux := http.NewServeMux()
	for pattern, h := range routes {
		if pattern == "/" {
			pattern = "/{$}"
		}
		mux.Handle(pattern, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// html serves a page.
func html(page string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page)
	})
}

// script serves JavaScript.
func script(src string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, src)
	})
}

// strict serves h under a strict Content-Security-Policy.
func strict(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; img-src 'self' data:; style-src 'self'; script-src 'self'")
		h.ServeHTTP(w, r)
	})
}

// qrSVG renders text as a QR code in an inline SVG, as a server would: a
// <rect> for each dark module, px pixels wide, on white with a quiet zone
// of 4 modules.
func qrSVG(t *testing.T, text string, px int) string {
	t.Helper()
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	q.DisableBorder = true
	const quiet = 4
	modules := q.Bitmap()
	n := len(modules) + 2*quiet
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" shape-rendering="crispEdges">`, n, n, n*px, n*px)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`, n, n)
	for y, row := range modules {
		for x, dark := range row {
			if dark {
				fmt.Fprintf(&b, `<rect x="%d" y="%d" width="1" height="1"/>`, x+quiet, y+quiet)
			}
		}
	}
	b.WriteString(`</svg>`)
	return b.String()
}
