package invoice

import (
	"context"
	"errors"
	"net/url"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/store"
	"github.com/ferry-relay/ferry/webhook"
)

// MaxEndpoints bounds the webhook endpoints of one vendor.
const MaxEndpoints = 10

// AddEndpoint registers a URL to receive a vendor's webhooks: every event
// of its invoices that announce to "every endpoint" (Payscrypt's orders).
// The URL must be one callbacks may reach.
func (vs *Vendors) AddEndpoint(ctx context.Context, vendor, raw string) (*store.Endpoint, error) {
	if _, err := vs.vendor(vendor); err != nil {
		return nil, err
	}
	if _, err := relay.ParseCallback(raw); err != nil {
		_, msg := ferry.Explain(err)
		return nil, invalid("webhook url: " + msg)
	}
	u, _ := url.Parse(raw)
	if vs.CheckHost != nil {
		if err := vs.CheckHost(ctx, u.Hostname()); err != nil {
			return nil, invalid("webhook url: host refused: " + err.Error())
		}
	}
	eps, err := vs.Store.Endpoints(vendor)
	if err != nil {
		return nil, err
	}
	if len(eps) >= MaxEndpoints {
		return nil, &ferry.Error{Kind: ferry.KindConflict, Message: "the vendor has the most webhook endpoints there may be (10): remove one first"}
	}
	ep := &store.Endpoint{ID: randomID(5), Vendor: vendor, URL: raw, Created: vs.Clock.Now().UTC()}
	if err := vs.Store.PutEndpoint(ep); err != nil {
		return nil, err
	}
	vs.Log.Info().Str("vendor", vendor).Str("endpoint", ep.ID).Str("host", u.Host).Msg("webhook endpoint added")
	return ep, nil
}

// Endpoints returns a vendor's webhook endpoints.
func (vs *Vendors) Endpoints(_ context.Context, vendor string) ([]*store.Endpoint, error) {
	if _, err := vs.vendor(vendor); err != nil {
		return nil, err
	}
	eps, err := vs.Store.Endpoints(vendor)
	if eps == nil && err == nil {
		eps = []*store.Endpoint{}
	}
	return eps, err
}

// RemoveEndpoint removes a vendor's webhook endpoint; events already
// queued for it are still delivered.
func (vs *Vendors) RemoveEndpoint(_ context.Context, vendor, id string) error {
	err := vs.Store.DeleteEndpoint(vendor, id)
	if errors.Is(err, store.ErrNotFound) {
		return &ferry.Error{Kind: ferry.KindNotFound, Message: "vendor " + clip(vendor) + " has no webhook endpoint " + clip(id)}
	}
	return err
}

// WebhookSecret returns a vendor's webhook secret, made new first if
// rotate is set or it has none.
func (vs *Vendors) WebhookSecret(_ context.Context, vendor string, rotate bool) (string, error) {
	v, err := vs.vendor(vendor)
	if err != nil {
		return "", err
	}
	if v.WebhookSecret != "" && !rotate {
		return v.WebhookSecret, nil
	}
	secret, err := webhook.NewSecret()
	if err != nil {
		return "", err
	}
	made := false
	if _, err := vs.change(vendor, func(stored *store.Vendor) error {
		if stored.WebhookSecret != "" && !rotate {
			secret = stored.WebhookSecret // made meanwhile: that one stands
			return nil
		}
		stored.WebhookSecret, made = secret, true
		return nil
	}); err != nil {
		return "", err
	}
	if made {
		vs.Log.Info().Str("vendor", vendor).Msg("vendor webhook secret made")
	}
	return secret, nil
}

// vendor returns a vendor, or a not-found error.
func (vs *Vendors) vendor(id string) (*store.Vendor, error) {
	v, err := vs.Store.Vendor(id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &ferry.Error{Kind: ferry.KindNotFound, Message: "no vendor " + clip(id)}
	}
	return v, err
}

// Admin returns the engine's vendors, for the operator's API.
func (e *Engine) Admin() *Vendors { return e.vendors }
