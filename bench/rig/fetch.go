package rig

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// PlainClient fetches raw blocks from a node the plainest way: one
// JSON-RPC call at a time over a kept-alive connection (getblockhash, then
// getblock with verbosity 0), the hex of the block cut out of the answer
// and decoded. It measures how fast the node serves blocks.
type PlainClient struct {
	url, user, pass string
	client          *http.Client
}

// NewPlainClient returns a client of the node at rawURL
// ("http://user:pass@host:port").
func NewPlainClient(rawURL string) (*PlainClient, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	c := &PlainClient{client: &http.Client{}}
	if u.User != nil {
		c.user = u.User.Username()
		c.pass, _ = u.User.Password()
	}
	u.User = nil
	c.url = u.String()
	return c, nil
}

func (c *PlainClient) call(ctx context.Context, method string, params ...any) ([]byte, error) {
	body, _ := json.Marshal(map[string]any{"jsonrpc": "1.0", "id": 1, "method": method, "params": params})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(c.user, c.pass)
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if resp.ContentLength > 0 {
		buf.Grow(int(resp.ContentLength) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d: %.200s", method, resp.StatusCode, buf.Bytes())
	}
	return buf.Bytes(), nil
}

// stringResult cuts the string result out of a JSON-RPC answer.
func stringResult(data []byte) ([]byte, error) {
	const key = `"result":"`
	i := bytes.Index(data, []byte(key))
	if i < 0 {
		return nil, fmt.Errorf("no string result: %.200s", data)
	}
	s := data[i+len(key):]
	j := bytes.IndexByte(s, '"')
	if j < 0 {
		return nil, io.ErrUnexpectedEOF
	}
	return s[:j], nil
}

// Blocks fetches the blocks from height from to height to, one after the
// other, and returns their total size.
func (c *PlainClient) Blocks(ctx context.Context, from, to int64) (int64, error) {
	var total int64
	for h := from; h <= to; h++ {
		data, err := c.call(ctx, "getblockhash", h)
		if err != nil {
			return 0, err
		}
		hash, err := stringResult(data)
		if err != nil {
			return 0, err
		}
		if data, err = c.call(ctx, "getblock", string(hash), 0); err != nil {
			return 0, err
		}
		text, err := stringResult(data)
		if err != nil {
			return 0, err
		}
		raw := make([]byte, len(text)/2)
		if _, err := hex.Decode(raw, text); err != nil {
			return 0, err
		}
		total += int64(len(raw))
	}
	return total, nil
}

// Close releases the client's connection.
func (c *PlainClient) Close() { c.client.CloseIdleConnections() }
