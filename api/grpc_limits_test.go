package api_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/ferry-relay/ferry/api"
	"github.com/ferry-relay/ferry/api/payscryptpb"
	"github.com/ferry-relay/ferry/relay/relaytest"
)

// serveGRPC serves srv's gRPC API on 127.0.0.1 until the end of the test
// and returns its address.
func serveGRPC(t *testing.T, srv *api.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := srv.GRPCServer()
	go g.Serve(ln)
	t.Cleanup(g.Stop)
	return ln.Addr().String()
}

// dialGRPC returns a Payscrypt client of the gRPC API at addr.
func dialGRPC(t *testing.T, addr string) payscryptpb.PaymentGatewayClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return payscryptpb.NewPaymentGatewayClient(conn)
}

// TestGRPCRateLimit: the gRPC listener draws on the API's rate limit, per
// client IP, with the HTTP calls: every answer tells the budget, and past
// it a call is RESOURCE_EXHAUSTED and does nothing.
func TestGRPCRateLimit(t *testing.T) {
	clk := relaytest.Clock()
	m := newMerchantEnv(t, relaytest.InvoiceOptions{Clock: clk})
	cfg := api.DefaultConfig()
	cfg.RateLimit, cfg.Clock, cfg.Network = 3, clk, "regtest"
	srv := api.New(cfg, m.engine, m.inv)
	web := httptest.NewServer(srv.Handler())
	t.Cleanup(web.Close)
	c := dialGRPC(t, serveGRPC(t, srv))
	ctx := metadata.AppendToOutgoingContext(context.Background(), "apikey", m.creds.APIKey)

	for i, left := range []string{"2", "1"} {
		var md metadata.MD
		_, err := c.GetPublicOrderById(ctx, &payscryptpb.GetPublicOrderByIdRequest{Id: "7"}, grpc.Header(&md))
		if status.Code(err) != codes.NotFound || first(md, "x-ratelimit-limit") != "3" || first(md, "x-ratelimit-remaining") != left {
			t.Fatalf("call %d: %v, %v", i, err, md)
		}
	}
	// The HTTP API spends the same budget.
	if resp, err := http.Get(web.URL + "/v1/public/orders/7"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("HTTP call: %v, %v", resp, err)
	}
	var md metadata.MD
	_, err := c.CreateOrder(ctx, &payscryptpb.CreateOrderRequest{AssetName: "LTC", TargetValue: "10000000"}, grpc.Header(&md))
	if status.Code(err) != codes.ResourceExhausted || status.Convert(err).Message() != "Too Many Attempts" ||
		first(md, "x-ratelimit-remaining") != "0" || first(md, "retry-after") != "60" {
		t.Fatalf("past the limit: %v, %v", err, md)
	}
	m.nothingMade(t)

	// The next minute starts afresh.
	clk.Advance(time.Minute)
	if _, err := c.CreateOrder(ctx, &payscryptpb.CreateOrderRequest{AssetName: "LTC", TargetValue: "10000000"}); err != nil {
		t.Fatalf("next minute: %v", err)
	}
}

// first is the first value of key in md, or "".
func first(md metadata.MD, key string) string {
	if vs := md.Get(key); len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// TestGRPCMetadataBounded: a call's metadata is bounded as HTTP bounds a
// request's headers (16 KiB, not gRPC's default 16 MiB), and a call over
// it is refused before it is read: the key it carries is not even looked
// at. A Go client refuses to send it; a raw HTTP/2 client that sends it
// anyway has its stream reset.
func TestGRPCMetadataBounded(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})
	addr := serveGRPC(t, api.New(api.DefaultConfig(), m.engine, m.inv))
	big := strings.Repeat("x", 20<<10)

	ctx := metadata.AppendToOutgoingContext(context.Background(), "apikey", m.creds.APIKey, "x-pad", big)
	if _, err := dialGRPC(t, addr).CreateOrder(ctx, &payscryptpb.CreateOrderRequest{AssetName: "LTC", TargetValue: "10000000"}); err == nil {
		t.Fatal("a call with 20 KiB of metadata was answered")
	}

	// The stream is reset, or the connection closed (the metadata goes on
	// in a CONTINUATION frame past the bound).
	if got := newH2Conn(t, addr).createOrder(t, 1, map[string]string{"apikey": m.creds.APIKey, "x-pad": big}); strings.HasPrefix(got, "grpc-status") {
		t.Fatalf("raw call with 20 KiB of metadata: %s", got)
	}
	m.nothingMade(t)
	// The same call within the bound is served.
	if got := newH2Conn(t, addr).createOrder(t, 1, map[string]string{"apikey": m.creds.APIKey, "x-pad": big[:10<<10]}); got != "grpc-status 0" {
		t.Fatalf("raw call with 10 KiB of metadata: %s", got)
	}
}

// TestGRPCStreamsBounded: a connection carries at most 100 calls at once;
// the next one is refused (REFUSED_STREAM), not queued.
func TestGRPCStreamsBounded(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})
	h := newH2Conn(t, serveGRPC(t, api.New(api.DefaultConfig(), m.engine, m.inv)))
	// 100 calls whose message never comes: each holds its stream open.
	for i := range 100 {
		h.headers(t, uint32(2*i+1), map[string]string{"apikey": m.creds.APIKey}, false)
	}
	h.headers(t, 201, map[string]string{"apikey": m.creds.APIKey}, false)
	if got := h.await(t, 201); got != "reset "+http2.ErrCodeRefusedStream.String() {
		t.Fatalf("the 101st call at once: %s", got)
	}
}

// TestGRPCPingFlood: a client pinging without calls more often than
// once every 5 minutes is told to go away (ENHANCE_YOUR_CALM).
func TestGRPCPingFlood(t *testing.T) {
	m := newMerchantEnv(t, relaytest.InvoiceOptions{})
	h := newH2Conn(t, serveGRPC(t, api.New(api.DefaultConfig(), m.engine, m.inv)))
	for i := range 4 {
		if err := h.fr.WritePing(false, [8]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if got := h.await(t, 0); got != "goaway "+http2.ErrCodeEnhanceYourCalm.String() {
		t.Fatalf("a ping flood: %s", got)
	}
}

// h2Conn is a raw HTTP/2 connection to a gRPC server: it sends what a
// gRPC client would refuse to.
type h2Conn struct {
	conn net.Conn
	fr   *http2.Framer
}

// newH2Conn connects to addr and exchanges the connection preface.
func newH2Conn(t *testing.T, addr string) *h2Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(relaytest.Timeout))
	if _, err := conn.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	h := &h2Conn{conn: conn, fr: http2.NewFramer(conn, conn)}
	h.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	h.fr.MaxHeaderListSize = 1 << 20
	if err := h.fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	return h
}

// headers opens stream id as a CreateOrder call with the extra metadata,
// ending it if end (no message follows).
func (h *h2Conn) headers(t *testing.T, id uint32, extra map[string]string, end bool) {
	t.Helper()
	if err := h.writeHeaders(id, extra, end); err != nil {
		t.Fatal(err)
	}
}

// writeHeaders is headers, returning the error of a write.
func (h *h2Conn) writeHeaders(id uint32, extra map[string]string, end bool) error {
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	fields := [][2]string{{":method", "POST"}, {":scheme", "http"}, {":path", payscryptpb.PaymentGateway_CreateOrder_FullMethodName},
		{":authority", "ferry"}, {"content-type", "application/grpc"}, {"te", "trailers"}}
	for k, v := range extra {
		fields = append(fields, [2]string{k, v})
	}
	for _, f := range fields {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	// In frames of at most 16 KiB: HEADERS, then CONTINUATIONs.
	b := block.Bytes()
	const frame = 16 << 10
	chunk := b[:min(frame, len(b))]
	b = b[len(chunk):]
	if err := h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: chunk, EndStream: end, EndHeaders: len(b) == 0}); err != nil {
		return err
	}
	for len(b) > 0 {
		chunk = b[:min(frame, len(b))]
		b = b[len(chunk):]
		if err := h.fr.WriteContinuation(id, len(b) == 0, chunk); err != nil {
			return err
		}
	}
	return nil
}

// createOrder makes a CreateOrder call of 0.1 LTC on stream id and says
// how it ended: "grpc-status N", "reset CODE" or "goaway CODE".
func (h *h2Conn) createOrder(t *testing.T, id uint32, extra map[string]string) string {
	t.Helper()
	if err := h.writeHeaders(id, extra, false); closed(err) {
		return "closed: " + err.Error() // the server hung up before reading it all
	} else if err != nil {
		t.Fatal(err)
	}
	msg, err := proto.Marshal(&payscryptpb.CreateOrderRequest{AssetName: "LTC", TargetValue: "10000000"})
	if err != nil {
		t.Fatal(err)
	}
	data := binary.BigEndian.AppendUint32([]byte{0}, uint32(len(msg)))
	if err := h.fr.WriteData(id, true, append(data, msg...)); closed(err) {
		return "closed: " + err.Error()
	} else if err != nil {
		t.Fatal(err)
	}
	return h.await(t, id)
}

// closed reports whether err is a write to a connection the server closed.
func closed(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

// await reads frames until stream id ends (any stream for 0) or the
// connection goes away, answering the server's settings and pings.
func (h *h2Conn) await(t *testing.T, id uint32) string {
	t.Helper()
	for range 10_000 {
		f, err := h.fr.ReadFrame()
		if err != nil {
			return "read: " + err.Error()
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				h.fr.WriteSettingsAck()
			}
		case *http2.GoAwayFrame:
			return "goaway " + f.ErrCode.String()
		case *http2.RSTStreamFrame:
			if id == 0 || f.StreamID == id {
				return "reset " + f.ErrCode.String()
			}
		case *http2.MetaHeadersFrame:
			for _, hf := range f.Fields {
				if hf.Name == "grpc-status" && f.StreamID == id {
					return "grpc-status " + hf.Value
				}
			}
		}
	}
	return "no end"
}
