package api

import (
	"bytes"
	"fmt"
	"html/template"
	"sync"

	qrcode "github.com/skip2/go-qrcode"
)

// qrCacheSize bounds the QR codes kept: a page without JavaScript reloads
// every 15 seconds, and its code changes only with the amount still due.
const qrCacheSize = 1024

// qrCache keeps the latest QR codes drawn, by text. Safe for concurrent
// use; the oldest entry goes first.
type qrCache struct {
	mu    sync.Mutex
	svg   map[string]template.HTML
	order []string
}

// get returns text's QR code, drawn once.
func (c *qrCache) get(text string) (template.HTML, error) {
	c.mu.Lock()
	svg, ok := c.svg[text]
	c.mu.Unlock()
	if ok {
		return svg, nil
	}
	svg, err := qrSVG(text)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.svg == nil {
		c.svg = map[string]template.HTML{}
	}
	if _, ok := c.svg[text]; !ok {
		if len(c.order) >= qrCacheSize {
			delete(c.svg, c.order[0])
			c.order = c.order[1:]
		}
		c.svg[text] = svg
		c.order = append(c.order, text)
	}
	return svg, nil
}

// qrSVG renders text as a QR code in an inline SVG: one path of dark
// modules on a white square with a four-module quiet zone, so that the
// page needs no image request and its CSP allows no inline script or
// style. Medium error correction suits a payment URI read from a screen.
func qrSVG(text string) (template.HTML, error) {
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return "", fmt.Errorf("qr: %w", err)
	}
	q.DisableBorder = true
	bits := q.Bitmap()
	n := len(bits)
	const quiet = 4
	size := n + 2*quiet
	var path bytes.Buffer
	for y, row := range bits {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			run := 1
			for x+run < len(row) && row[x+run] {
				run++
			}
			fmt.Fprintf(&path, "M%d %dh%dv1h-%dz", x+quiet, y+quiet, run, run)
			x += run
		}
	}
	return template.HTML(fmt.Sprintf( // #nosec: numbers and a path of our own
		`<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges" role="img" aria-label="QR code of the payment">`+
			`<rect width="%d" height="%d" fill="#fff"/><path d="%s" fill="#000"/></svg>`, size, size, size, size, path.String())), nil
}
