package api

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/julienschmidt/httprouter"
	qrcode "github.com/skip2/go-qrcode"
)

// qrCacheSize bounds the QR codes kept: a page without JavaScript reloads
// every 15 seconds, and its code changes only with the amount still due.
const qrCacheSize = 1024

// qrCache keeps the latest QR codes drawn (V: an SVG, or a PNG), by text.
// Safe for concurrent use; the oldest entry goes first.
type qrCache[V any] struct {
	mu    sync.Mutex
	m     map[string]V
	order []string
}

// get returns text's QR code, drawn once by draw.
func (c *qrCache[V]) get(text string, draw func(string) (V, error)) (V, error) {
	c.mu.Lock()
	v, ok := c.m[text]
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := draw(text)
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]V{}
	}
	if _, ok := c.m[text]; !ok {
		if len(c.order) >= qrCacheSize {
			delete(c.m, c.order[0])
			c.order = c.order[1:]
		}
		c.m[text] = v
		c.order = append(c.order, text)
	}
	return v, nil
}

// maxQRText bounds the text of a QR code image: a payment URI, or an
// address.
const maxQRText = 512

// qrPNGSize is the side of a QR code image, in pixels.
const qrPNGSize = 256

// qrImages serves the QR code images of the qr_code and qr_img links the
// Coinremitter and Open API dialects hand out: GET /api/qr/?d=<text>.
type qrImages struct {
	// pngs keeps the images drawn.
	pngs qrCache[[]byte]
}

// routes implements part.
func (q *qrImages) routes() []route {
	return []route{{method: http.MethodGet, pattern: "/api/qr/", handle: q.png, budget: apiBudget}}
}

// png answers GET /api/qr/?d=<text>: text's QR code as a PNG image. The
// image depends on the text alone, so it may be cached.
func (q *qrImages) png(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	text := req.URL.Query().Get("d")
	if text == "" || len(text) > maxQRText || !utf8.ValidString(text) {
		http.Error(w, fmt.Sprintf("d must be the text of the QR code, 1 to %d bytes", maxQRText), http.StatusBadRequest)
		return
	}
	png, err := q.pngs.get(text, func(t string) ([]byte, error) { return qrcode.Encode(t, qrcode.Medium, qrPNGSize) })
	if err != nil {
		http.Error(w, "the text does not fit a QR code", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(png)
}

// qrLink is the link of text's QR code image on the server at base.
func qrLink(base, text string) string {
	return strings.TrimRight(base, "/") + "/api/qr/?d=" + url.QueryEscape(text)
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
