package api

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/ferry-relay/ferry/api/payscryptpb"
)

// Payscrypt's orders over gRPC: the PaymentGateway service of
// payscryptpb/pg_api.proto, the API key in the metadata ("apikey"). The
// calls are those of REST (payscrypt.go), and answer the same.

// maxGRPCMessage bounds a gRPC request, as maxJSON bounds a REST body.
const maxGRPCMessage = maxJSON

// GRPCServer returns a gRPC server of Payscrypt's PaymentGateway over the
// server's engines. Serve it on its own listener.
func (s *Server) GRPCServer() *grpc.Server {
	g := grpc.NewServer(grpc.MaxRecvMsgSize(maxGRPCMessage))
	payscryptpb.RegisterPaymentGatewayServer(g, &paymentGateway{s: s})
	return g
}

// SetListenURL tells the server its own address (http://host:port), for
// the links of gRPC answers when Config.PublicURL is empty.
func (s *Server) SetListenURL(u string) { s.listenURL.Store(&u) }

// grpcBase is the base of the links in gRPC answers.
func (s *Server) grpcBase() string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	if u := s.listenURL.Load(); u != nil {
		return *u
	}
	return ""
}

// paymentGateway implements payscryptpb.PaymentGatewayServer.
type paymentGateway struct {
	payscryptpb.UnimplementedPaymentGatewayServer
	s *Server
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
	o, err := g.s.createOrder(ctx, apiKey(ctx), g.s.grpcBase(), r)
	if err != nil {
		return nil, err
	}
	return &payscryptpb.CreateOrderResponse{Order: o}, nil
}

// CancelOrder implements payscryptpb.PaymentGatewayServer.
func (g *paymentGateway) CancelOrder(ctx context.Context, r *payscryptpb.CancelOrderRequest) (*payscryptpb.CancelOrderResponse, error) {
	o, err := g.s.cancelOrder(ctx, apiKey(ctx), g.s.grpcBase(), r.GetId())
	if err != nil {
		return nil, err
	}
	return &payscryptpb.CancelOrderResponse{Order: o}, nil
}

// GetPublicOrderById implements payscryptpb.PaymentGatewayServer.
func (g *paymentGateway) GetPublicOrderById(ctx context.Context, r *payscryptpb.GetPublicOrderByIdRequest) (*payscryptpb.GetPublicOrderByIdResponse, error) {
	o, err := g.s.publicOrder(ctx, g.s.grpcBase(), r)
	if err != nil {
		return nil, err
	}
	return &payscryptpb.GetPublicOrderByIdResponse{Order: o}, nil
}
