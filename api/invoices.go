package api

import (
	"context"
	"slices"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/store"
)

// What the invoice dialects share: the few methods of the engines that
// several of them need (each dialect declares its own interface, made of
// these and its own), and the words they share.

// apiKeys finds the vendor of an API key, and the key's scope.
type apiKeys interface {
	VendorByAPIKey(ctx context.Context, key string) (*invoice.Principal, error)
}

// secrets authenticates a vendor by its secret.
type secrets interface {
	Authenticate(ctx context.Context, vendor, secret string) (*store.Vendor, error)
}

// creator creates invoices.
type creator interface {
	Create(ctx context.Context, req invoice.Request) (*invoice.View, error)
}

// viewer reads an invoice, its status worked out now.
type viewer interface {
	Get(ctx context.Context, id string) (*invoice.View, error)
}

// finder finds a vendor's invoice of a dialect by the vendor's own name
// for it.
type finder interface {
	Find(ctx context.Context, vendor, dialect, ref string) (*invoice.View, error)
}

// canceller cancels an invoice nothing was paid to.
type canceller interface {
	Cancel(ctx context.Context, id string) (*invoice.View, error)
}

// deliveryLog lists an invoice's webhooks and each attempt to deliver
// them.
type deliveryLog interface {
	Deliveries(ctx context.Context, vendor, id string) ([]invoice.Delivery, error)
}

// quoter prices an amount of a currency in a coin.
type quoter interface {
	Quote(ctx context.Context, amount, currency, coin string) (*invoice.Quote, error)
}

// holds moves what an invoice that holds keeps: to the vendor, or back.
type holds interface {
	Accept(ctx context.Context, id string, amount ferry.Amount) (*invoice.View, error)
	Refund(ctx context.Context, id, coin, address string, amount ferry.Amount) (*invoice.View, error)
}

var (
	_ apiKeys     = (*invoice.Engine)(nil)
	_ secrets     = (*invoice.Engine)(nil)
	_ creator     = (*invoice.Engine)(nil)
	_ viewer      = (*invoice.Engine)(nil)
	_ finder      = (*invoice.Engine)(nil)
	_ canceller   = (*invoice.Engine)(nil)
	_ deliveryLog = (*invoice.Engine)(nil)
	_ quoter      = (*invoice.Engine)(nil)
	_ holds       = (*invoice.Engine)(nil)
)

// coinLister lists the coins the relay runs.
type coinLister interface {
	Coins() []string
}

// runs reports whether r runs coin.
func runs(r coinLister, coin string) bool { return slices.Contains(r.Coins(), coin) }

// endedStatus is v's status in the dialects whose orders end only as
// paid or expired (Fluxcord's, Payscrypt's): an underpaid invoice that
// expired is expired.
func endedStatus(v *invoice.View) ferry.InvoiceStatus {
	if v.Status == ferry.InvoiceUnderpaid && v.Expired {
		return ferry.InvoiceExpired
	}
	return v.Status
}
