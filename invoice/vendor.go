package invoice

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/store"
	"github.com/ferry-relay/ferry/webhook"
)

// NewVendor is what a vendor is created with.
type NewVendor struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	// Payout is the vendor's address by coin id ("ltc", "btc"): at least
	// one, each of its coin and of ferry's network.
	Payout map[string]string `json:"payout"`
}

// Credentials are a new vendor's secrets: shown once, stored hashed.
type Credentials struct {
	Vendor *store.Vendor `json:"vendor"`
	// Secret is the vendor's secret word (LitePay's merchant API, and
	// Coinremitter's password); APIKey the key of the JSON APIs, of
	// scope all, named KeyID.
	Secret string      `json:"secret"`
	APIKey string      `json:"api_key"`
	KeyID  string      `json:"key_id"`
	Scope  store.Scope `json:"scope"`
	// WebhookSecret signs the vendor's webhooks (Standard Webhooks,
	// "whsec_…"); receivers check it.
	WebhookSecret string `json:"webhook_secret"`
}

// ErrBadCredentials reports a vendor, secret or API key that does not
// match.
var ErrBadCredentials = errors.New("unknown vendor or wrong credentials")

// VendorStore is what vendors are kept in. *store.DB implements it.
type VendorStore interface {
	PutVendor(v *store.Vendor) error
	Vendor(id string) (*store.Vendor, error)
	VendorByAPIKey(hash [32]byte) (*store.Vendor, error)
	Vendors() ([]*store.Vendor, error)
	DeleteVendor(id string) error
	ChangeVendor(id string, change func(v *store.Vendor) error) (*store.Vendor, error)
	PutEndpoint(ep *store.Endpoint) error
	Endpoints(vendor string) ([]*store.Endpoint, error)
	DeleteEndpoint(vendor, id string) error
}

// Vendors manages vendors: the engine's, and the ferry vendor command's
// when the daemon is not running. It is safe for concurrent use.
type Vendors struct {
	Store VendorStore
	// Destination parses a payout address of a coin on ferry's network;
	// its error says why not.
	Destination func(coin, address string) (chain.Destination, error)
	// CheckHost checks a webhook endpoint's host as callbacks' hosts are
	// checked; nil checks only the URL's form (the notifier checks every
	// address it dials anyway).
	CheckHost func(ctx context.Context, host string) error
	Clock     clock.Clock
	Log       zerolog.Logger
}

// PayoutParser returns a Vendors.Destination for net: it takes an address
// of any coin ferry knows, whether or not the daemon runs that coin, and
// refuses one of another coin or network, saying why.
func PayoutParser(net chain.Network) func(coin, address string) (chain.Destination, error) {
	return func(coin, address string) (chain.Destination, error) {
		c, err := chain.CoinByID(coin, net)
		if errors.Is(err, chain.ErrUnknownCoin) {
			return chain.Destination{}, &ferry.Error{Kind: ferry.KindUnsupported, Message: fmt.Sprintf("unknown coin %.20q: ferry pays out ltc and btc", coin)}
		}
		if err != nil {
			return chain.Destination{}, err
		}
		d, err := c.ParseDestination(address)
		if err != nil {
			return chain.Destination{}, &ferry.Error{Kind: ferry.KindInvalid, Message: "invalid " + c.Name() + " payout address: " + relay.DestinationError(err)}
		}
		return d, nil
	}
}

// AddVendor creates a vendor with a new id, secret and API key of scope
// all.
func (e *Engine) AddVendor(ctx context.Context, nv NewVendor) (*Credentials, error) {
	return e.vendors.Add(ctx, nv)
}

// Vendors returns every vendor.
func (e *Engine) Vendors(ctx context.Context) ([]*store.Vendor, error) { return e.vendors.List(ctx) }

// RemoveVendor removes a vendor.
func (e *Engine) RemoveVendor(ctx context.Context, id string) error { return e.vendors.Remove(ctx, id) }

// Authenticate returns the vendor id whose secret is secret.
func (e *Engine) Authenticate(ctx context.Context, id, secret string) (*store.Vendor, error) {
	return e.vendors.Authenticate(ctx, id, secret)
}

// VendorByAPIKey returns the vendor whose API key is key, and the key's
// scope.
func (e *Engine) VendorByAPIKey(ctx context.Context, key string) (*Principal, error) {
	return e.vendors.ByAPIKey(ctx, key)
}

// Add creates a vendor with a new id, secret and API key of scope all. A
// payout address of the wrong coin or network is refused, and nothing is
// created.
func (vs *Vendors) Add(_ context.Context, nv NewVendor) (*Credentials, error) {
	name := strings.TrimSpace(nv.Name)
	switch {
	case name == "" || len(name) > 100:
		return nil, invalid("a vendor name of 1 to 100 characters is required")
	case !printable(name):
		return nil, invalid("the vendor name must be printable text")
	}
	addr, err := mail.ParseAddress(nv.Email)
	if err != nil || addr.Name != "" || len(nv.Email) > 254 {
		return nil, invalid("a valid email address is required (name@example.com)")
	}
	if len(nv.Payout) == 0 {
		return nil, invalid("at least one payout address is required")
	}
	payout := map[string]string{}
	for coin, a := range nv.Payout {
		d, err := vs.Destination(coin, a)
		if err != nil {
			return nil, err
		}
		payout[coin] = d.Address
	}
	v := &store.Vendor{ID: randomID(5), Name: name, Email: addr.Address, Payout: payout, Created: vs.Clock.Now().UTC()}
	secret := randomSecret()
	v.SecretHash = sha256.Sum256([]byte(secret))
	apiKey, key := vs.newKey(store.ScopeAll, nil)
	v.Keys = []store.APIKey{key}
	if v.WebhookSecret, err = webhook.NewSecret(); err != nil {
		return nil, err
	}
	if err := vs.Store.PutVendor(v); err != nil {
		return nil, &ferry.Error{Kind: ferry.KindInternal, Message: "record vendor", Err: err}
	}
	vs.Log.Info().Str("vendor", v.ID).Msg("vendor added")
	return &Credentials{Vendor: v, Secret: secret, APIKey: apiKey, KeyID: key.ID, Scope: key.Scope, WebhookSecret: v.WebhookSecret}, nil
}

// List returns every vendor.
func (vs *Vendors) List(context.Context) ([]*store.Vendor, error) { return vs.Store.Vendors() }

// Remove removes a vendor: its secret and API keys stop working; its
// invoices are paid out as they were created.
func (vs *Vendors) Remove(_ context.Context, id string) error {
	err := vs.Store.DeleteVendor(id)
	if errors.Is(err, store.ErrNotFound) {
		return &ferry.Error{Kind: ferry.KindNotFound, Message: "no vendor " + clip(id)}
	}
	if err == nil {
		vs.Log.Info().Str("vendor", id).Msg("vendor removed")
	}
	return err
}

// Authenticate returns the vendor id whose secret is secret, or an error
// wrapping ErrBadCredentials (the same for an unknown vendor and a wrong
// secret).
func (vs *Vendors) Authenticate(_ context.Context, id, secret string) (*store.Vendor, error) {
	v, err := vs.Store.Vendor(id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, unauthorized()
	}
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(h[:], v.SecretHash[:]) != 1 {
		return nil, unauthorized()
	}
	return v, nil
}

// ByAPIKey returns the vendor whose API key is key, with the key (its
// scope), or an error wrapping ErrBadCredentials.
func (vs *Vendors) ByAPIKey(_ context.Context, key string) (*Principal, error) {
	if key == "" || len(key) > 256 {
		return nil, unauthorized()
	}
	h := sha256.Sum256([]byte(key))
	v, err := vs.Store.VendorByAPIKey(h)
	if errors.Is(err, store.ErrNotFound) {
		return nil, unauthorized()
	}
	if err != nil {
		return nil, err
	}
	k, ok := v.Key(h)
	if !ok {
		return nil, unauthorized()
	}
	return &Principal{Vendor: v, Key: k}, nil
}

func unauthorized() error {
	return &ferry.Error{Kind: ferry.KindUnauthorized, Message: "unknown vendor or wrong credentials", Err: ErrBadCredentials}
}

func invalid(msg string) error { return &ferry.Error{Kind: ferry.KindInvalid, Message: msg} }

// randomID returns an id of n random bytes in upper-case base32 (8 letters
// and digits for 5 bytes).
func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
}

// randomSecret returns 128 random bits in hex.
func randomSecret() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// printable reports whether s has no control characters.
func printable(s string) bool {
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

// clip bounds a client's text quoted back in a message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
