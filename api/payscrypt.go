package api

import (
	"context"
	"encoding/base32"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/julienschmidt/httprouter"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/api/payscryptpb"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/store"
)

// Payscrypt's orders, over REST as grpc-gateway serves a gRPC service
// (JSON bodies with the messages' field names, int64 as strings, enums by
// name; the gRPC code and message in grpc-code and grpc-message headers,
// the HTTP status mapped from the code), and over gRPC itself
// (payscrypt_grpc.go):
//
//	POST /v1/orders                     CreateOrder (header apikey)
//	POST /v1/orders/:id/cancel          CancelOrder (header apikey, of scope all)
//	GET  /v1/public/orders/:id          GetPublicOrderById (?with_payments=true), no key
//	GET  /v1/orders/:id/webhooks        the order's webhooks and their attempts (header apikey)

// payscryptDialect names Payscrypt's orders.
const payscryptDialect = "payscrypt"

// payscryptCodes maps each kind of error to its gRPC code.
var payscryptCodes = map[ferry.Kind]codes.Code{
	ferry.KindInternal:     codes.Internal,
	ferry.KindInvalid:      codes.InvalidArgument,
	ferry.KindUnsupported:  codes.InvalidArgument,
	ferry.KindNotFound:     codes.NotFound,
	ferry.KindUnavailable:  codes.Unavailable,
	ferry.KindUnauthorized: codes.Unauthenticated,
	ferry.KindConflict:     codes.FailedPrecondition,
	ferry.KindTooLarge:     codes.InvalidArgument,
	ferry.KindLimit:        codes.ResourceExhausted,
	ferry.KindForbidden:    codes.PermissionDenied,
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

// payscryptStatus is an order's status.
func payscryptStatus(s ferry.InvoiceStatus) payscryptpb.Order_Status {
	switch s {
	case ferry.InvoiceUnconfirmed:
		return payscryptpb.Order_CONFIRMING
	case ferry.InvoicePaid, ferry.InvoiceOverpaid:
		return payscryptpb.Order_SUCCESSFUL
	case ferry.InvoiceExpired:
		return payscryptpb.Order_EXPIRED
	case ferry.InvoiceCancelled:
		return payscryptpb.Order_CANCELED
	case ferry.InvoiceUnderpaid:
		// Part paid: waiting for the rest while the order is open; at its
		// expiry, that is final.
		return payscryptpb.Order_PENDING
	}
	return payscryptpb.Order_PENDING
}

// payscryptStatusOf is an order's status, an underpaid order ending as
// expired once it is past its expiry.
func payscryptStatusOf(v *invoice.View) payscryptpb.Order_Status {
	if v.Status == ferry.InvoiceUnderpaid && v.Expired {
		return payscryptpb.Order_EXPIRED
	}
	return payscryptStatus(v.Status)
}

// targetValue is a decimal amount of a coin: at most 8 decimals.
var targetValue = regexp.MustCompile(`^(0|[1-9][0-9]{0,7})(\.[0-9]{1,8})?$`)

// payscryptError is err as a gRPC status.
func (s *Server) payscryptError(err error) error {
	if _, ok := status.FromError(err); ok && err != nil && !errors.As(err, new(*ferry.Error)) {
		return err
	}
	kind, msg := s.explain(err, "payscrypt")
	return status.Error(payscryptCodes[kind], msg)
}

// payscryptVendor authenticates an API key: the vendor, and the key's
// scope.
func (s *Server) payscryptVendor(ctx context.Context, key string) (*invoice.Principal, error) {
	if s.invoices == nil {
		return nil, errNoInvoices
	}
	if key == "" {
		return nil, &ferry.Error{Kind: ferry.KindUnauthorized, Message: "the apikey header is required"}
	}
	p, err := s.invoices.VendorByAPIKey(ctx, key)
	if err != nil {
		return nil, &ferry.Error{Kind: ferry.KindUnauthorized, Message: "invalid API key", Err: err}
	}
	return p, nil
}

// createOrder is CreateOrder, for a vendor's key.
func (s *Server) createOrder(ctx context.Context, key, base string, r *payscryptpb.CreateOrderRequest) (*payscryptpb.Order, error) {
	p, err := s.payscryptVendor(ctx, key)
	if err != nil {
		return nil, s.payscryptError(err)
	}
	vendor := p.Vendor
	asset := r.GetAssetName()
	coin := strings.ToLower(asset)
	switch {
	case asset != "LTC" && asset != "BTC":
		return nil, status.Errorf(codes.InvalidArgument, "asset_name must be LTC or BTC, not %.20q", asset)
	case r.GetTargetValue() == "":
		return nil, status.Error(codes.InvalidArgument, "target_value is required: a decimal amount of the asset")
	case !targetValue.MatchString(r.GetTargetValue()):
		return nil, status.Errorf(codes.InvalidArgument, "target_value must be a positive decimal with at most 8 decimals, not %.30q", r.GetTargetValue())
	case r.GetPgWalletId() != 0 && r.GetPgWalletId() != walletID(vendor.ID):
		return nil, status.Errorf(codes.PermissionDenied, "pg_wallet_id %d is not this API key's wallet", r.GetPgWalletId())
	case len(r.GetMerchantOrderId()) > 100:
		return nil, status.Error(codes.InvalidArgument, "merchant_order_id must be at most 100 characters")
	}
	if sat, err := ferry.ParseAmount(r.GetTargetValue()); err != nil || sat <= 0 {
		return nil, status.Errorf(codes.InvalidArgument, "target_value must be a positive decimal with at most 8 decimals, not %.30q", r.GetTargetValue())
	}
	v, err := s.invoices.Create(ctx, invoice.Request{Vendor: vendor, Dialect: payscryptDialect, Number: r.GetMerchantOrderId(),
		Amount: r.GetTargetValue(), Currency: asset, Coins: []string{coin}, ReturnURL: r.GetCallbackUrl(),
		Description: r.GetDescription()})
	if errors.Is(err, invoice.ErrExists) {
		// The same merchant order again: that order, if it is the same.
		want, _ := ferry.ParseAmount(r.GetTargetValue())
		if v.Currency != asset || v.Coins[0].Due != want {
			return nil, status.Errorf(codes.AlreadyExists, "merchant_order_id %.40q names order %s, of %s %s", r.GetMerchantOrderId(), v.ID, v.Amount, v.Currency)
		}
	} else if err != nil {
		return nil, s.payscryptError(err)
	}
	return s.order(v, base), nil
}

// cancelOrder is CancelOrder, for a vendor's key of scope all
// (PERMISSION_DENIED for one of scope create).
func (s *Server) cancelOrder(ctx context.Context, key, base, id string) (*payscryptpb.Order, error) {
	p, err := s.payscryptVendor(ctx, key)
	if err == nil {
		err = p.RequireAll()
	}
	if err != nil {
		return nil, s.payscryptError(err)
	}
	if _, err := s.payscryptFind(ctx, id, p.Vendor.ID); err != nil {
		return nil, err
	}
	v, err := s.invoices.Cancel(ctx, id)
	if err != nil {
		return nil, s.payscryptError(err)
	}
	return s.order(v, base), nil
}

// publicOrder is GetPublicOrderById.
func (s *Server) publicOrder(ctx context.Context, base string, r *payscryptpb.GetPublicOrderByIdRequest) (*payscryptpb.PublicOrder, error) {
	if s.invoices == nil {
		return nil, s.payscryptError(errNoInvoices)
	}
	v, err := s.payscryptFind(ctx, r.GetId(), "")
	if err != nil {
		return nil, err
	}
	o := s.order(v, base)
	p := &payscryptpb.PublicOrder{Id: o.Id, Type: o.Type, AssetName: o.AssetName, TargetValue: o.TargetValue,
		TargetConfirmations: o.TargetConfirmations, Variants: o.Variants, ExpiredAt: o.ExpiredAt, Status: o.Status, Value: o.Value,
		Confirmations: o.Confirmations, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt, Chain: o.Chain, Network: o.Network,
		RedirectUrl: o.RedirectUrl}
	if r.GetWithPayments() {
		p.Payments = []*payscryptpb.Payment{}
		for _, pay := range v.Coins[0].Payments {
			p.Payments = append(p.Payments, &payscryptpb.Payment{TxHash: pay.OutPoint.Hash.String(), Vout: pay.OutPoint.Index,
				Value: pay.Value.Short(), Confirmations: pay.Confirmations})
		}
	}
	return p, nil
}

// payscryptOrderID reports whether id has the form of an order's id: the
// store's random id (store.NewInvoiceID, no prefix), or a number, as
// orders recorded before ids were random have.
func payscryptOrderID(id string) bool {
	if store.IsNewInvoiceID(id, "") {
		return true
	}
	_, err := strconv.ParseUint(id, 10, 63)
	return err == nil
}

// payscryptFind returns a Payscrypt order (of vendor, if not ""), or
// NOT_FOUND for any other invoice.
func (s *Server) payscryptFind(ctx context.Context, id, vendor string) (*invoice.View, error) {
	if !payscryptOrderID(id) {
		return nil, status.Errorf(codes.NotFound, "order %.40q not found", id)
	}
	v, err := s.invoices.Get(ctx, id)
	if k, _ := ferry.Explain(err); err != nil && k != ferry.KindNotFound {
		return nil, s.payscryptError(err)
	}
	if err != nil || v.Dialect != payscryptDialect || vendor != "" && v.Invoice.Vendor != vendor {
		return nil, status.Errorf(codes.NotFound, "order %.40q not found", id)
	}
	return v, nil
}

// order is an invoice as a Payscrypt Order; base is the server's URL.
func (s *Server) order(v *invoice.View, base string) *payscryptpb.Order {
	c := v.Coins[0]
	updated := v.StatusChanged
	if updated.IsZero() {
		updated = v.Created
	}
	return &payscryptpb.Order{
		Id: v.ID, Type: payscryptpb.Order_NORMAL, AssetName: strings.ToUpper(c.Coin), TargetValue: ferry.Amount(c.Due).Short(),
		TargetConfirmations: s.cfg.Confirmations, Variants: []string{c.Address}, ExpiredAt: v.Expires.Unix(),
		MerchantOrderId: v.Number, Description: v.Description, Status: payscryptStatusOf(v),
		Value: ferry.Amount(c.Seen).Short(), Confirmations: minConfs(c.Payments), CreatedAt: v.Created.Unix(),
		UpdatedAt: updated.Unix(), Chain: chain.CoinName(c.Coin), Network: s.cfg.Network, CallbackUrl: v.ReturnURL,
		RedirectUrl: strings.TrimRight(base, "/") + "/merch/inv?id=" + url.QueryEscape(v.ID),
	}
}

// minConfs is the confirmations of an order's least confirmed payment.
func minConfs(ps []invoice.Payment) int64 {
	if len(ps) == 0 {
		return 0
	}
	m := ps[0].Confirmations
	for _, p := range ps[1:] {
		m = min(m, p.Confirmations)
	}
	return m
}

// walletID is a vendor's Payscrypt wallet id: its id's 40 bits as a
// number, so that it needs no record of its own.
func walletID(vendor string) int64 {
	b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(vendor)
	if err != nil {
		return 0
	}
	var n int64
	for _, c := range b {
		n = n<<8 | int64(c)
	}
	return n
}

// PayscryptEvents announces Payscrypt orders: a WebhookOrder to every
// endpoint of the vendor at each change of the order's status.
type PayscryptEvents struct{}

// Announce implements invoice.Announcer.
func (PayscryptEvents) Announce(v *invoice.View, from ferry.InvoiceStatus) []invoice.Event {
	// The engine records an underpaid order's end as a change from
	// underpaid to underpaid-and-expired only through Told; here, to is
	// EXPIRED once it is past its expiry.
	to := payscryptStatusOf(v)
	if to == payscryptStatus(from) || v.Vendor == nil {
		return nil
	}
	body, _ := payscryptJSON.Marshal(&payscryptpb.WebhookOrder{Id: v.ID, PgWalletId: walletID(v.Vendor.ID),
		MerchantOrderId: v.Number, Status: to})
	return []invoice.Event{{Type: "order." + strings.ToLower(to.String()), Body: body}}
}

// payscryptJSON writes messages as grpc-gateway does, with the proto
// field names; payscryptRead reads them, leaving out unknown fields.
var (
	payscryptJSON = protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}
	payscryptRead = protojson.UnmarshalOptions{DiscardUnknown: true}
)

// payscryptREST answers a REST call with msg, or err as grpc-gateway
// does: grpc-code and grpc-message headers (the message percent-encoded,
// as gRPC's HTTP/2 mapping writes it), the HTTP status of the code, and
// {"code","message","details"} with the message as it is.
func (s *Server) payscryptREST(w http.ResponseWriter, msg proto.Message, err error) {
	st, _ := status.FromError(err)
	w.Header().Set("grpc-code", strconv.Itoa(int(st.Code())))
	w.Header().Set("grpc-message", grpcMessage(st.Message()))
	if err != nil {
		writeJSON(w, httpStatusOf[st.Code()], map[string]any{"code": st.Code(), "message": st.Message(), "details": []any{}})
		return
	}
	b, err := payscryptJSON.Marshal(msg)
	if err != nil {
		s.payscryptREST(w, nil, status.Error(codes.Internal, "internal error"))
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
	var raw jsonRaw
	if err := readJSON(req, &raw); err != nil {
		_, msg := ferry.Explain(err)
		return status.Error(codes.InvalidArgument, msg)
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

func (s *Server) restCreateOrder(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	var r payscryptpb.CreateOrderRequest
	if err := readProto(req, &r); err != nil {
		s.payscryptREST(w, nil, err)
		return
	}
	o, err := s.createOrder(req.Context(), req.Header.Get("apikey"), s.baseURL(req), &r)
	s.payscryptREST(w, &payscryptpb.CreateOrderResponse{Order: o}, err)
}

func (s *Server) restCancelOrder(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
	o, err := s.cancelOrder(req.Context(), req.Header.Get("apikey"), s.baseURL(req), ps.ByName("id"))
	s.payscryptREST(w, &payscryptpb.CancelOrderResponse{Order: o}, err)
}

func (s *Server) restPublicOrder(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
	q := req.URL.Query()
	with, err := strconv.ParseBool(q.Get("with_payments"))
	if q.Get("with_payments") == "" {
		with, err = false, nil
	}
	if err != nil {
		s.payscryptREST(w, nil, status.Errorf(codes.InvalidArgument, "with_payments must be true or false, not %.20q", q.Get("with_payments")))
		return
	}
	o, err := s.publicOrder(req.Context(), s.baseURL(req), &payscryptpb.GetPublicOrderByIdRequest{Id: ps.ByName("id"), WithPayments: with})
	w.Header().Set("Cache-Control", "no-store")
	s.payscryptREST(w, &payscryptpb.GetPublicOrderByIdResponse{Order: o}, err)
}

// restWebhooks answers GET /v1/orders/:id/webhooks: the order's webhooks
// and every attempt to deliver them.
func (s *Server) restWebhooks(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
	p, err := s.payscryptVendor(req.Context(), req.Header.Get("apikey"))
	if err != nil {
		s.payscryptREST(w, nil, s.payscryptError(err))
		return
	}
	vendor := p.Vendor
	if _, err := s.payscryptFind(req.Context(), ps.ByName("id"), vendor.ID); err != nil {
		s.payscryptREST(w, nil, err)
		return
	}
	ds, err := s.invoices.Deliveries(req.Context(), vendor.ID, ps.ByName("id"))
	if err != nil {
		s.payscryptREST(w, nil, s.payscryptError(err))
		return
	}
	w.Header().Set("grpc-code", "0")
	w.Header().Set("grpc-message", "")
	writeJSON(w, http.StatusOK, map[string]any{"order_id": ps.ByName("id"), "webhooks": ds})
}
