package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxAnswer is how much of an endpoint's answer is read: enough for
// "*ok*" and a short error page.
const maxAnswer = 1 << 10

func newClient(cfg Config) *http.Client {
	transport := &http.Transport{
		Proxy:                  nil, // only Outbound decides where deliveries go
		DialContext:            cfg.Outbound.DialContext,
		TLSHandshakeTimeout:    cfg.Timeout,
		ResponseHeaderTimeout:  cfg.Timeout,
		MaxIdleConnsPerHost:    cfg.PerHost,
		IdleConnTimeout:        30 * time.Second,
		MaxResponseHeaderBytes: 16 << 10,
		DisableCompression:     true,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   cfg.Timeout,
		// A redirect is a failure: following it would let an endpoint
		// send ferry anywhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// request makes one request and says how it went.
func (n *Notifier) request(ctx context.Context, r *Request) Result {
	start := n.cfg.Clock.Now()
	res := Result{Time: start.UTC()}
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL.String(), body)
	if err != nil {
		res.Err, res.Class = err.Error(), ClassBadRequest
		return res
	}
	for k, vs := range r.Header {
		req.Header[k] = vs
	}
	req.Header.Set("User-Agent", n.cfg.UserAgent)
	resp, err := n.client.Do(req)
	res.Duration = n.cfg.Clock.Now().Sub(start)
	if err != nil {
		res.Err, res.Class, res.NoAnswer = describe(err), classify(err), true
		return res
	}
	defer resp.Body.Close()
	res.Status = resp.StatusCode
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	res.Duration = n.cfg.Clock.Now().Sub(start)
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		res.Err, res.Class = fmt.Sprintf("redirect (HTTP %d) not followed", resp.StatusCode), ClassRedirect
	case resp.StatusCode < 200 || resp.StatusCode >= 300:
		res.Err, res.Class = fmt.Sprintf("HTTP %d", resp.StatusCode), ClassHTTPStatus
	case err != nil:
		res.Err, res.Class = "reading the answer: "+err.Error(), classify(err)
	case r.Ack == AckOK && strings.TrimSpace(strings.TrimPrefix(string(answer), "\ufeff")) != "*ok*":
		res.Err, res.Class = fmt.Sprintf("answer is not *ok*: %.40q", answer), ClassNotOK
	}
	return res
}

// describe shortens a client error to its cause, without the URL (which
// carries the merchant's secret).
func describe(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout") {
		return "timeout"
	}
	return err.Error()
}
