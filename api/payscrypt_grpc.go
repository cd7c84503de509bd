package api

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/ferry-relay/ferry/api/payscryptpb"
)

// Payscrypt's orders over gRPC: the PaymentGateway service of
// payscryptpb/pg_api.proto, the API key in the metadata ("apikey"). The
// calls are those of REST (payscrypt.go), and answer the same.

// The gRPC listener's limits, as the HTTP listener's (cmd/ferry's
// newHTTPServer): a call's metadata is bounded as HTTP bounds a
// request's headers, and refused before anything reads it; a connection
// carries a bounded number of calls at once, finishes its handshake in
// time, and is closed once idle; a client pinging more often than
// grpcMinPing is disconnected.
const (
	// maxGRPCMessage bounds a gRPC request, as maxJSON bounds a REST body.
	maxGRPCMessage = maxJSON
	// maxGRPCHeaders bounds a call's metadata (HTTP: MaxHeaderBytes).
	maxGRPCHeaders = 16 << 10
	// maxGRPCStreams bounds the calls of one connection at a time.
	maxGRPCStreams = 100
	grpcHandshake  = 10 * time.Second
	grpcIdle       = 2 * time.Minute
	grpcMinPing    = 5 * time.Minute
)

// GRPCServer returns a gRPC server of Payscrypt's PaymentGateway over the
// server's engines, with the limits above and the API's rate limit: a
// client (its connection's IPv4 address, or IPv6 /64) shares its budget
// with its HTTP calls, and past it gets RESOURCE_EXHAUSTED "Too Many
// Attempts" before its key is looked at. Serve it on its own listener.
func (s *Server) GRPCServer() *grpc.Server {
	unary := []grpc.UnaryServerInterceptor{s.grpcUnaryLimit}
	if s.invoicesOff {
		// No invoice engine: every call is unavailable.
		unary = append(unary, func(context.Context, any, *grpc.UnaryServerInfo, grpc.UnaryHandler) (any, error) {
			return nil, s.payscrypt.fail(errNoInvoices)
		})
	}
	g := grpc.NewServer(
		grpc.MaxRecvMsgSize(maxGRPCMessage),
		grpc.MaxHeaderListSize(maxGRPCHeaders),
		grpc.MaxConcurrentStreams(maxGRPCStreams),
		grpc.ConnectionTimeout(grpcHandshake),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: grpcIdle, Time: grpcIdle, Timeout: 20 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: grpcMinPing}),
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(s.grpcStreamLimit),
	)
	payscryptpb.RegisterPaymentGatewayServer(g, &paymentGateway{p: s.payscrypt, links: s.links})
	return g
}

// grpcUnaryLimit applies the rate limit to a unary call.
func (s *Server) grpcUnaryLimit(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	md, err := s.grpcAllow(ctx, info.FullMethod)
	if md != nil {
		grpc.SetHeader(ctx, md)
	}
	if err != nil {
		return nil, err
	}
	return h(ctx, req)
}

// grpcStreamLimit applies the rate limit to a streaming call, once for
// the stream.
func (s *Server) grpcStreamLimit(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	md, err := s.grpcAllow(ss.Context(), info.FullMethod)
	if md != nil {
		ss.SetHeader(md)
	}
	if err != nil {
		return err
	}
	return h(srv, ss)
}

// grpcAllow counts a call of the peer of ctx against the rate limit, and
// returns the metadata telling the client its budget (nil when there is
// no limit), with RESOURCE_EXHAUSTED past the limit.
func (s *Server) grpcAllow(ctx context.Context, method string) (metadata.MD, error) {
	if s.clients.api.limit <= 0 {
		return nil, nil
	}
	ok, left := s.clients.api.allow(peerClient(ctx))
	md := metadata.Pairs("x-ratelimit-limit", strconv.Itoa(s.clients.api.limit), "x-ratelimit-remaining", strconv.Itoa(left))
	if ok {
		return md, nil
	}
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.RateLimited(method)
	}
	md.Set("retry-after", strconv.Itoa(int(rateWindow.Seconds())))
	return md, status.Error(codes.ResourceExhausted, tooMany)
}

// peerClient is the rate limit's key for a gRPC call: its connection's
// address.
func peerClient(ctx context.Context) netip.Prefix {
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return netip.Prefix{}
	}
	host, _, err := net.SplitHostPort(p.Addr.String())
	if err != nil {
		return netip.Prefix{}
	}
	return clientPrefix(host)
}

// paymentGateway implements payscryptpb.PaymentGatewayServer.
type paymentGateway struct {
	payscryptpb.UnimplementedPaymentGatewayServer
	p     *payscrypt
	links *links
}

// apiKey is the "apikey" of a call's metadata.
func apiKey(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if vs := md.Get("apikey"); len(vs) == 1 {
		return vs[0]
	}
	return ""
}

// CreateOrder implements payscryptpb.PaymentGatewayServer.
func (g *paymentGateway) CreateOrder(ctx context.Context, r *payscryptpb.CreateOrderRequest) (*payscryptpb.CreateOrderResponse, error) {
	o, err := g.p.createOrder(ctx, apiKey(ctx), g.links.own(), r)
	if err != nil {
		return nil, err
	}
	return &payscryptpb.CreateOrderResponse{Order: o}, nil
}

// CancelOrder implements payscryptpb.PaymentGatewayServer.
func (g *paymentGateway) CancelOrder(ctx context.Context, r *payscryptpb.CancelOrderRequest) (*payscryptpb.CancelOrderResponse, error) {
	o, err := g.p.cancelOrder(ctx, apiKey(ctx), g.links.own(), r.GetId())
	if err != nil {
		return nil, err
	}
	return &payscryptpb.CancelOrderResponse{Order: o}, nil
}

// GetPublicOrderById implements payscryptpb.PaymentGatewayServer.
func (g *paymentGateway) GetPublicOrderById(ctx context.Context, r *payscryptpb.GetPublicOrderByIdRequest) (*payscryptpb.GetPublicOrderByIdResponse, error) {
	o, err := g.p.publicOrder(ctx, g.links.own(), r, false)
	if err != nil {
		return nil, err
	}
	return &payscryptpb.GetPublicOrderByIdResponse{Order: o}, nil
}
