package api

import (
	"context"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

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
//
// and the calls of Payscrypt's WooCommerce plugin (payscrypt_plugin.go).
// Every amount is in the asset's base units.

// payscryptDialect names Payscrypt's orders.
const payscryptDialect = "payscrypt"

// payscryptCodes is the gRPC code of each kind of error.
var payscryptCodes = newErrorTable(codes.Internal, map[ferry.Kind]codes.Code{
	ferry.KindInvalid:      codes.InvalidArgument,
	ferry.KindUnsupported:  codes.InvalidArgument,
	ferry.KindNotFound:     codes.NotFound,
	ferry.KindUnavailable:  codes.Unavailable,
	ferry.KindUnauthorized: codes.Unauthenticated,
	ferry.KindConflict:     codes.FailedPrecondition,
	ferry.KindTooLarge:     codes.InvalidArgument,
	ferry.KindLimit:        codes.ResourceExhausted,
	ferry.KindForbidden:    codes.PermissionDenied,
})

// payscryptInvoices is what Payscrypt needs of the invoice engine.
type payscryptInvoices interface {
	apiKeys
	creator
	viewer
	canceller
	deliveryLog
}

var _ payscryptInvoices = (*invoice.Engine)(nil)

// payscrypt serves Payscrypt's orders, over REST (payscrypt_rest.go) and
// gRPC (payscrypt_grpc.go).
type payscrypt struct {
	invoices payscryptInvoices
	links    *links
	// confirmations and network are what an order shows of the chain.
	confirmations int64
	network       string
	errs          errorTable[codes.Code]
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

// fail is err as a gRPC status.
func (p *payscrypt) fail(err error) error {
	if _, ok := status.FromError(err); ok && err != nil && !errors.As(err, new(*ferry.Error)) {
		return err
	}
	code, msg := p.errs.answer(err)
	return status.Error(code, msg)
}

// vendor authenticates an API key: the vendor, and the key's scope.
func (p *payscrypt) vendor(ctx context.Context, key string) (*invoice.Principal, error) {
	if key == "" {
		return nil, &ferry.Error{Kind: ferry.KindUnauthorized, Message: "the apikey header is required"}
	}
	pr, err := p.invoices.VendorByAPIKey(ctx, key)
	if err != nil {
		return nil, &ferry.Error{Kind: ferry.KindUnauthorized, Message: "invalid API key", Err: err}
	}
	return pr, nil
}

// fieldNames are the names a create call gives its fields, for its
// errors: CreateOrderRequest's, or the plugin's later CreateInvoiceRequest's.
type fieldNames struct{ order, asset, value, wallet string }

var (
	orderFields   = fieldNames{order: "merchant_order_id", asset: "asset_name", value: "target_value", wallet: "pg_wallet_id"}
	invoiceFields = fieldNames{order: "merchant_invoice_id", asset: "asset", value: "price", wallet: "wallet_id"}
)

// createOrder is CreateOrder, for a vendor's key.
func (p *payscrypt) createOrder(ctx context.Context, key, base string, r *payscryptpb.CreateOrderRequest) (*payscryptpb.Order, error) {
	v, err := p.create(ctx, key, r, orderFields, false)
	if err != nil {
		return nil, err
	}
	return p.order(v, base), nil
}

// create creates an order for a vendor's key, or finds the one of the
// same merchant order id if it is the same: target_value in the asset's
// base units. private gives the order a check (see privateID): an order
// made on the plugin's paths.
func (p *payscrypt) create(ctx context.Context, key string, r *payscryptpb.CreateOrderRequest, n fieldNames, private bool) (*invoice.View, error) {
	pr, err := p.vendor(ctx, key)
	if err != nil {
		return nil, p.fail(err)
	}
	vendor := pr.Vendor
	asset := r.GetAssetName()
	coin := strings.ToLower(asset)
	if asset != "LTC" && asset != "BTC" {
		return nil, status.Errorf(codes.InvalidArgument, "%s must be LTC or BTC, not %.20q", n.asset, asset)
	}
	want, err := baseUnits(r.GetTargetValue(), n.value)
	switch {
	case err != nil:
		return nil, err
	case r.GetPgWalletId() != 0 && r.GetPgWalletId() != walletID(vendor.ID):
		return nil, status.Errorf(codes.PermissionDenied, "%s %d is not this API key's wallet", n.wallet, r.GetPgWalletId())
	case len(r.GetMerchantOrderId()) > 100:
		return nil, status.Errorf(codes.InvalidArgument, "%s must be at most 100 characters", n.order)
	}
	req := invoice.Request{Vendor: vendor, Dialect: payscryptDialect, Number: r.GetMerchantOrderId(),
		Amount: want.Short(), Currency: asset, Coins: []string{coin}, ReturnURL: r.GetCallbackUrl(),
		Description: r.GetDescription()}
	if private {
		req.Fields = map[string]string{payscryptCheck: store.NewInvoiceID("")}
	}
	v, err := p.invoices.Create(ctx, req)
	if errors.Is(err, invoice.ErrExists) {
		// The same merchant order again: that order, if it is the same.
		if v.Currency != asset || v.Coins[0].Due != want || private != (v.Fields[payscryptCheck] != "") {
			return nil, status.Errorf(codes.AlreadyExists, "%s %.40q names order %s, of %d base units of %s", n.order,
				r.GetMerchantOrderId(), v.ID, v.Coins[0].Due, v.Currency)
		}
	} else if err != nil {
		return nil, p.fail(err)
	}
	return v, nil
}

// baseUnits reads an amount in base units (satoshis, litoshis): a string
// of digits, more than 0. A decimal point is refused, saying so: the
// amount is not in coins.
func baseUnits(s, field string) (ferry.Amount, error) {
	a, err := ferry.ParseBaseUnits(s)
	switch {
	case s == "":
		return 0, status.Errorf(codes.InvalidArgument, "%s is required: the amount in the asset's base units (satoshis), a string of digits", field)
	case strings.Contains(s, "."):
		return 0, status.Errorf(codes.InvalidArgument, "%s is in the asset's base units (satoshis), a string of digits with no decimal point (\"10000000\" is 0.1), not %.30q", field, s)
	case err != nil || a <= 0:
		return 0, status.Errorf(codes.InvalidArgument, "%s must be a positive whole number of the asset's base units (satoshis), not %.30q", field, s)
	}
	return a, nil
}

// cancelOrder is CancelOrder, for a vendor's key of scope all
// (PERMISSION_DENIED for one of scope create).
func (p *payscrypt) cancelOrder(ctx context.Context, key, base, id string) (*payscryptpb.Order, error) {
	pr, err := p.vendor(ctx, key)
	if err == nil {
		err = pr.RequireAll()
	}
	if err != nil {
		return nil, p.fail(err)
	}
	v, err := p.find(ctx, id, pr.Vendor.ID, false)
	if err != nil {
		return nil, err
	}
	v, err = p.invoices.Cancel(ctx, v.ID)
	if err != nil {
		return nil, p.fail(err)
	}
	return p.order(v, base), nil
}

// publicOrder is GetPublicOrderById; private takes the private id of an
// order made on the plugin's paths only (the plugin's check).
func (p *payscrypt) publicOrder(ctx context.Context, base string, r *payscryptpb.GetPublicOrderByIdRequest, private bool) (*payscryptpb.PublicOrder, error) {
	v, err := p.find(ctx, r.GetId(), "", private)
	if err != nil {
		return nil, err
	}
	o := p.order(v, base)
	// Named as it was asked for: the public id never tells the private one.
	po := &payscryptpb.PublicOrder{Id: r.GetId(), Type: o.Type, AssetName: o.AssetName, TargetValue: o.TargetValue,
		TargetConfirmations: o.TargetConfirmations, Variants: o.Variants, ExpiredAt: o.ExpiredAt, Status: o.Status, Value: o.Value,
		Confirmations: o.Confirmations, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt, Chain: o.Chain, Network: o.Network,
		RedirectUrl: o.RedirectUrl}
	if r.GetWithPayments() {
		po.Payments = []*payscryptpb.Payment{}
		for _, pay := range v.Coins[0].Payments {
			po.Payments = append(po.Payments, &payscryptpb.Payment{TxHash: pay.OutPoint.Hash.String(), Vout: pay.OutPoint.Index,
				Value: baseString(pay.Value), Confirmations: pay.Confirmations})
		}
	}
	return po, nil
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

// payscryptCheck is the Fields key of an order's check: 120 random bits
// of an order made on the plugin's paths, never shown on its page.
const payscryptCheck = "check"

// privateID is the id an order is named by to its vendor (in the answers
// to its calls and in its webhooks): for an order made on the plugin's
// paths, its id, "-" and its check; for any other, its id. The plugin
// checks a webhook by asking for the order it names, and applies what it
// hears to whichever shop order the webhook names: the customer, who sees
// the order's id on its page, must not be able to name a paid order in a
// webhook of its own making, so the check call takes only this id.
func privateID(v *invoice.View) string {
	if c := v.Fields[payscryptCheck]; c != "" {
		return v.ID + "-" + c
	}
	return v.ID
}

// splitID splits a private id into the order's id and its check; an id
// with no check is itself, and "".
func splitID(id string) (string, string) {
	if pub, check, ok := strings.Cut(id, "-"); ok && store.IsNewInvoiceID(pub, "") && store.IsNewInvoiceID(check, "") {
		return pub, check
	}
	return id, ""
}

// find returns a Payscrypt order (of vendor, if not ""), or NOT_FOUND
// for any other invoice. id is its id or its private id; private takes
// only the private id of an order made on the plugin's paths.
func (p *payscrypt) find(ctx context.Context, id, vendor string, private bool) (*invoice.View, error) {
	pub, check := splitID(id)
	if !payscryptOrderID(pub) || private && check == "" {
		return nil, status.Errorf(codes.NotFound, "order %.60q not found", id)
	}
	v, err := p.invoices.Get(ctx, pub)
	if k, _ := ferry.Explain(err); err != nil && k != ferry.KindNotFound {
		return nil, p.fail(err)
	}
	if err != nil || v.Dialect != payscryptDialect || vendor != "" && v.Invoice.Vendor != vendor ||
		check != "" && subtle.ConstantTimeCompare([]byte(check), []byte(v.Fields[payscryptCheck])) != 1 {
		return nil, status.Errorf(codes.NotFound, "order %.60q not found", id)
	}
	return v, nil
}

// order is an invoice as a Payscrypt Order; base is the server's URL.
// Its id is the private one (its vendor's calls only); its code, the
// page's.
func (p *payscrypt) order(v *invoice.View, base string) *payscryptpb.Order {
	c := v.Coins[0]
	updated := v.StatusChanged
	if updated.IsZero() {
		updated = v.Created
	}
	return &payscryptpb.Order{
		Id: privateID(v), Type: payscryptpb.Order_NORMAL, AssetName: strings.ToUpper(c.Coin), TargetValue: baseString(c.Due),
		TargetConfirmations: p.confirmations, Variants: []string{c.Address}, ExpiredAt: v.Expires.Unix(),
		MerchantOrderId: v.Number, Description: v.Description, Status: payscryptStatus(endedStatus(v)),
		Value: baseString(c.Seen), Confirmations: minConfs(c.Payments), CreatedAt: v.Created.Unix(),
		UpdatedAt: updated.Unix(), Chain: chain.CoinName(c.Coin), Network: p.network, CallbackUrl: v.ReturnURL,
		RedirectUrl: pageURL(base, v.ID), Code: v.ID,
	}
}

// baseString writes an amount in base units, as Payscrypt's amounts are.
func baseString(a ferry.Amount) string { return strconv.FormatInt(int64(a), 10) }

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
	to := payscryptStatus(endedStatus(v))
	if to == payscryptStatus(from) || v.Vendor == nil {
		return nil
	}
	body, _ := payscryptJSON.Marshal(&payscryptpb.WebhookOrder{Id: privateID(v), PgWalletId: walletID(v.Vendor.ID),
		MerchantOrderId: v.Number, Status: to})
	return []invoice.Event{{Type: "order." + strings.ToLower(to.String()), Body: body}}
}

// payscryptJSON writes messages as grpc-gateway does, with the proto
// field names; payscryptRead reads them, leaving out unknown fields.
var (
	payscryptJSON = protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}
	payscryptRead = protojson.UnmarshalOptions{DiscardUnknown: true}
)
