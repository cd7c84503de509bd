package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/julienschmidt/httprouter"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/api/payscryptpb"
)

// Payscrypt's orders over REST, as grpc-gateway serves a gRPC service
// (JSON bodies with the messages' field names, int64 as strings, enums by
// name; the gRPC code and message in grpc-code and grpc-message headers,
// the HTTP status mapped from the code).

// routes implements part: every call refuses in Payscrypt's form.
func (p *payscrypt) routes() []route {
	rs := []route{
		{method: http.MethodPost, pattern: "/v1/orders", handle: p.restCreateOrder},
		{method: http.MethodPost, pattern: "/v1/orders/:id/cancel", handle: p.restCancelOrder},
		{method: http.MethodGet, pattern: "/v1/orders/:id/webhooks", handle: p.restWebhooks},
		{method: http.MethodGet, pattern: "/v1/public/orders/:id", handle: p.restPublicOrder},
	}
	rs = append(rs, p.pluginRoutes()...)
	for i := range rs {
		rs[i].budget = apiBudget
		rs[i].refuse = func(w http.ResponseWriter, msg string) {
			payscryptREST(w, nil, status.Error(codes.ResourceExhausted, msg))
		}
		rs[i].fail = func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params, err error) {
			payscryptREST(w, nil, p.fail(err))
		}
	}
	return rs
}

// httpStatusOf maps a gRPC code to its HTTP status as grpc-gateway does.
var httpStatusOf = map[codes.Code]int{
	codes.OK:                 http.StatusOK,
	codes.Canceled:           499,
	codes.Unknown:            http.StatusInternalServerError,
	codes.InvalidArgument:    http.StatusBadRequest,
	codes.DeadlineExceeded:   http.StatusGatewayTimeout,
	codes.NotFound:           http.StatusNotFound,
	codes.AlreadyExists:      http.StatusConflict,
	codes.PermissionDenied:   http.StatusForbidden,
	codes.Unauthenticated:    http.StatusUnauthorized,
	codes.ResourceExhausted:  http.StatusTooManyRequests,
	codes.FailedPrecondition: http.StatusBadRequest,
	codes.Aborted:            http.StatusConflict,
	codes.OutOfRange:         http.StatusBadRequest,
	codes.Unimplemented:      http.StatusNotImplemented,
	codes.Internal:           http.StatusInternalServerError,
	codes.Unavailable:        http.StatusServiceUnavailable,
	codes.DataLoss:           http.StatusInternalServerError,
}

// payscryptREST answers a REST call with msg, or err as grpc-gateway
// does: grpc-code and grpc-message headers (the message percent-encoded,
// as gRPC's HTTP/2 mapping writes it), the HTTP status of the code, and
// {"code","message","details"} with the message as it is.
func payscryptREST(w http.ResponseWriter, msg proto.Message, err error) {
	st, _ := status.FromError(err)
	w.Header().Set("grpc-code", strconv.Itoa(int(st.Code())))
	w.Header().Set("grpc-message", grpcMessage(st.Message()))
	if err != nil {
		writeJSON(w, httpStatusOf[st.Code()], map[string]any{"code": st.Code(), "message": st.Message(), "details": []any{}})
		return
	}
	b, err := payscryptJSON.Marshal(msg)
	if err != nil {
		payscryptREST(w, nil, status.Error(codes.Internal, "internal error"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// grpcMessage percent-encodes a status message for the grpc-message
// header, as gRPC's HTTP/2 mapping (PROTOCOL-HTTP2.md, Status-Message)
// says: printable ASCII but '%' stays as it is, every other byte of the
// UTF-8 text becomes %XX. A message may quote the request's own bytes;
// encoded, they can never break the header.
func grpcMessage(msg string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := range len(msg) {
		c := msg[i]
		if c >= ' ' && c <= '~' && c != '%' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// readProto decodes a request's JSON body into m.
func readProto(req *http.Request, m proto.Message) error {
	return readProtoAs(req, m, nil)
}

// readProtoAs is readProto, the body changed by fix (if not nil) first.
func readProtoAs(req *http.Request, m proto.Message, fix func(jsonRaw) jsonRaw) error {
	var raw jsonRaw
	if err := apiJSON.read(req, &raw); err != nil {
		_, msg := ferry.Explain(err)
		return status.Error(codes.InvalidArgument, msg)
	}
	if fix != nil {
		raw = fix(raw)
	}
	if err := payscryptRead.Unmarshal(raw, m); err != nil {
		return status.Errorf(codes.InvalidArgument, "the body is not a %s: %s", m.ProtoReflect().Descriptor().Name(), protoProblem(err))
	}
	return nil
}

// jsonRaw takes a JSON value as it is.
type jsonRaw []byte

// UnmarshalJSON implements json.Unmarshaler.
func (r *jsonRaw) UnmarshalJSON(b []byte) error { *r = append((*r)[:0], b...); return nil }

// protoProblem shortens protojson's error: without its "proto:" prefix,
// which protobuf follows with a space or, in some builds, a no-break space
// (it varies its messages on purpose, so that nobody matches them).
func protoProblem(err error) string {
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "proto:"); ok {
		msg = strings.TrimLeft(rest, " \u00a0")
	}
	return fmt.Sprintf("%.120s", msg)
}

// restCreateOrder answers POST /v1/orders.
func (p *payscrypt) restCreateOrder(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	var r payscryptpb.CreateOrderRequest
	if err := readCreateOrder(req, &r); err != nil {
		payscryptREST(w, nil, err)
		return
	}
	o, err := p.createOrder(req.Context(), req.Header.Get("apikey"), p.links.base(req), &r)
	payscryptREST(w, &payscryptpb.CreateOrderResponse{Order: o}, err)
}

// readCreateOrder decodes a CreateOrderRequest, its pg_wallet_id "" read
// as none: the plugin sends its setting as it is, a string, "" by default.
func readCreateOrder(req *http.Request, r *payscryptpb.CreateOrderRequest) error {
	return readProtoAs(req, r, func(raw jsonRaw) jsonRaw {
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil || string(m["pg_wallet_id"]) != `""` {
			return raw
		}
		delete(m, "pg_wallet_id")
		b, err := json.Marshal(m)
		if err != nil {
			return raw
		}
		return b
	})
}

// restCancelOrder answers POST /v1/orders/:id/cancel.
func (p *payscrypt) restCancelOrder(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
	o, err := p.cancelOrder(req.Context(), req.Header.Get("apikey"), p.links.base(req), ps.ByName("id"))
	payscryptREST(w, &payscryptpb.CancelOrderResponse{Order: o}, err)
}

// restPublicOrder answers GET /v1/public/orders/:id.
func (p *payscrypt) restPublicOrder(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
	q := req.URL.Query()
	with, err := strconv.ParseBool(q.Get("with_payments"))
	if q.Get("with_payments") == "" {
		with, err = false, nil
	}
	if err != nil {
		payscryptREST(w, nil, status.Errorf(codes.InvalidArgument, "with_payments must be true or false, not %.20q", q.Get("with_payments")))
		return
	}
	o, err := p.publicOrder(req.Context(), p.links.base(req), &payscryptpb.GetPublicOrderByIdRequest{Id: ps.ByName("id"), WithPayments: with}, false)
	w.Header().Set("Cache-Control", "no-store")
	payscryptREST(w, &payscryptpb.GetPublicOrderByIdResponse{Order: o}, err)
}

// restWebhooks answers GET /v1/orders/:id/webhooks: the order's webhooks
// and every attempt to deliver them.
func (p *payscrypt) restWebhooks(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
	pr, err := p.vendor(req.Context(), req.Header.Get("apikey"))
	if err != nil {
		payscryptREST(w, nil, p.fail(err))
		return
	}
	vendor := pr.Vendor
	v, err := p.find(req.Context(), ps.ByName("id"), vendor.ID, false)
	if err != nil {
		payscryptREST(w, nil, err)
		return
	}
	ds, err := p.invoices.Deliveries(req.Context(), vendor.ID, v.ID)
	if err != nil {
		payscryptREST(w, nil, p.fail(err))
		return
	}
	w.Header().Set("grpc-code", "0")
	w.Header().Set("grpc-message", "")
	writeJSON(w, http.StatusOK, map[string]any{"order_id": ps.ByName("id"), "webhooks": ds})
}
