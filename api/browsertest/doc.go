// Package browsertest runs real headless Chromium for the tests of ferry's
// hosted payment page: New starts one browser for a test, Browser.Open
// loads a page in a tab of its own at a given viewport, and a Page reads
// the page's text and DOM, takes screenshots, clicks, and records what the
// page did: each document load, each request, each console error and
// Content-Security-Policy violation. DecodeQR reads the QR codes in a
// screenshot with zbarimg, so a test checks what a phone's camera would
// scan, not what the server meant to draw.
//
// Chromium is driven over the DevTools protocol through a pipe (chromedp),
// so it opens no debugging port. It resolves no host name but 127.0.0.1 and
// localhost, and runs with the flags that stop its background traffic, so
// that a test makes no connection beyond 127.0.0.1 (see flags in
// browser.go).
//
// Every wait is bounded by Timeout. Chromium and zbarimg are Debian's
// chromium and zbar-tools; without them a test is skipped, or fails if
// regtest.RequireEnv is set.
package browsertest
