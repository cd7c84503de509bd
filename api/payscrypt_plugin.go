package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/julienschmidt/httprouter"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ferry-relay/ferry/api/payscryptpb"
	"github.com/ferry-relay/ferry/invoice"
)

// The calls of Payscrypt's WooCommerce plugin (payscrypt/payscrypt-woocommerce),
// in the REST form of payscrypt_rest.go:
//
//	POST /apis/pg/create_order       1a51a4a: CreateOrderRequest (header apikey): {"order": Order}
//	POST /apis/pg/get_public_order   1a51a4a: GetPublicOrderByIdRequest, no key: {"order": PublicOrder}
//	POST /payment/v1/invoice         2dfd9d8: CreateInvoiceRequest (header apikey): {"invoice": Invoice}
//	GET  /payment/v1/invoice/<id>    2dfd9d8, no key: {"invoice": Invoice} (it asks /payment/v1/invoice//<id>)
//
// An order made here has a private id (privateID), in the answer to its
// creation and in its webhooks; the two checks, which take no key, take
// only that id. The plugin acts on a webhook once the check answers 200
// with a status, without comparing the order it names with its own: its
// customer, who sees the page's id, cannot name a paid order in a webhook
// of its own making.

// pluginRoutes are the plugin's calls, as routes of the Payscrypt part.
func (p *payscrypt) pluginRoutes() []route {
	return []route{
		{method: http.MethodPost, pattern: "/apis/pg/create_order", handle: p.restPluginCreate},
		{method: http.MethodPost, pattern: "/apis/pg/get_public_order", handle: p.restPluginCheck},
		{method: http.MethodPost, pattern: "/payment/v1/invoice", handle: p.restInvoiceCreate},
		// A catch-all, so that the plugin's double slash is answered
		// rather than redirected.
		{method: http.MethodGet, pattern: "/payment/v1/invoice/*id", handle: p.restInvoiceCheck},
	}
}

// restPluginCreate answers POST /apis/pg/create_order: /v1/orders's call,
// the order named by its private id.
func (p *payscrypt) restPluginCreate(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	var r payscryptpb.CreateOrderRequest
	if err := readCreateOrder(req, &r); err != nil {
		payscryptREST(w, nil, err)
		return
	}
	v, err := p.create(req.Context(), req.Header.Get("apikey"), &r, orderFields, true)
	if err != nil {
		payscryptREST(w, nil, err)
		return
	}
	payscryptREST(w, &payscryptpb.CreateOrderResponse{Order: p.order(v, p.links.base(req))}, nil)
}

// restPluginCheck answers POST /apis/pg/get_public_order: the public
// order, for its private id only.
func (p *payscrypt) restPluginCheck(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	var r payscryptpb.GetPublicOrderByIdRequest
	if err := readProto(req, &r); err != nil {
		payscryptREST(w, nil, err)
		return
	}
	o, err := p.publicOrder(req.Context(), p.links.base(req), &r, true)
	w.Header().Set("Cache-Control", "no-store")
	payscryptREST(w, &payscryptpb.GetPublicOrderByIdResponse{Order: o}, err)
}

// restInvoiceCreate answers POST /payment/v1/invoice: the plugin's later
// create, in its names (wallet_id a string, "" for none).
func (p *payscrypt) restInvoiceCreate(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	var r payscryptpb.CreateInvoiceRequest
	if err := readProto(req, &r); err != nil {
		payscryptREST(w, nil, err)
		return
	}
	var wallet int64
	if s := r.GetWalletId(); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			payscryptREST(w, nil, status.Errorf(codes.InvalidArgument, "wallet_id must be a number, or empty, not %.30q", s))
			return
		}
		wallet = n
	}
	v, err := p.create(req.Context(), req.Header.Get("apikey"), &payscryptpb.CreateOrderRequest{
		MerchantOrderId: r.GetMerchantInvoiceId(), AssetName: r.GetAsset(), TargetValue: r.GetPrice(),
		CallbackUrl: r.GetRedirectUrl(), PgWalletId: wallet, Description: r.GetDescription(),
	}, invoiceFields, true)
	if err != nil {
		payscryptREST(w, nil, err)
		return
	}
	payscryptREST(w, &payscryptpb.InvoiceResponse{Invoice: p.invoice(v, p.links.base(req))}, nil)
}

// restInvoiceCheck answers GET /payment/v1/invoice/<id> (and //<id>): the
// invoice, for its private id only.
func (p *payscrypt) restInvoiceCheck(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
	v, err := p.find(req.Context(), strings.Trim(ps.ByName("id"), "/"), "", true)
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		payscryptREST(w, nil, err)
		return
	}
	payscryptREST(w, &payscryptpb.InvoiceResponse{Invoice: p.invoice(v, p.links.base(req))}, nil)
}

// invoice is an order as the plugin's later API names it: the page as
// payment_url, the shop's own page as redirect_url.
func (p *payscrypt) invoice(v *invoice.View, base string) *payscryptpb.Invoice {
	o := p.order(v, base)
	return &payscryptpb.Invoice{
		Id: o.Id, Code: o.Code, MerchantInvoiceId: o.MerchantOrderId, Asset: o.AssetName, Price: o.TargetValue,
		Status: o.Status, Value: o.Value, Confirmations: o.Confirmations, TargetConfirmations: o.TargetConfirmations,
		Variants: o.Variants, ExpiredAt: o.ExpiredAt, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt, Chain: o.Chain,
		Network: o.Network, Description: o.Description, RedirectUrl: o.CallbackUrl, PaymentUrl: o.RedirectUrl,
	}
}
