package invoice

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/store"
)

// MaxAPIKeys bounds the API keys of one vendor.
const MaxAPIKeys = 20

// ErrScope reports an API key whose scope does not allow the call: a key
// of scope create cancelling, accepting or refunding a payment.
var ErrScope = errors.New("api key scope")

// scopeMessage is what a client is told when its key's scope does not
// allow the call.
const scopeMessage = "this API key may only create and read payments; use a key of scope all"

// Principal is who an API key speaks for: a vendor, and what the key may
// do.
type Principal struct {
	Vendor *store.Vendor
	Key    store.APIKey
}

// RequireAll returns nil if the key may do all the vendor may (scope
// all): cancel, accept and refund payments as well as create and read
// them. Otherwise it returns an error of kind ferry.KindForbidden
// wrapping ErrScope, whose message says so.
func (p *Principal) RequireAll() error {
	if p.Key.Scope == store.ScopeAll {
		return nil
	}
	return &ferry.Error{Kind: ferry.KindForbidden, Message: scopeMessage, Err: ErrScope}
}

// NewKey is an API key just made: shown once, stored hashed.
type NewKey struct {
	Vendor string `json:"vendor"`
	store.APIKey
	// Key is the API key itself.
	Key string `json:"api_key"`
}

// ParseScope reads a scope by its name: all or create.
func ParseScope(s string) (store.Scope, error) {
	switch sc := store.Scope(s); sc {
	case store.ScopeAll, store.ScopeCreate:
		return sc, nil
	}
	return "", invalid(fmt.Sprintf("scope must be all or create, not %q", clip(s)))
}

// newKey makes an API key of scope: the key, and what is kept of it.
func (vs *Vendors) newKey(scope store.Scope, taken []store.APIKey) (string, store.APIKey) {
	secret := randomSecret()
	k := store.APIKey{Scope: scope, Hash: sha256.Sum256([]byte(secret)), Created: vs.Clock.Now().UTC()}
	for k.ID == "" || hasKeyID(taken, k.ID) {
		k.ID = randomID(5)
	}
	return secret, k
}

func hasKeyID(keys []store.APIKey, id string) bool {
	for _, k := range keys {
		if k.ID == id {
			return true
		}
	}
	return false
}

// AddAPIKey gives a vendor a new API key of scope (store.ScopeAll or
// store.ScopeCreate); its other keys go on working. A vendor has at most
// MaxAPIKeys.
func (vs *Vendors) AddAPIKey(_ context.Context, vendor string, scope store.Scope) (*NewKey, error) {
	if _, err := ParseScope(string(scope)); err != nil {
		return nil, err
	}
	var secret string
	var made store.APIKey
	_, err := vs.change(vendor, func(v *store.Vendor) error {
		if len(v.Keys) >= MaxAPIKeys {
			return &ferry.Error{Kind: ferry.KindConflict, Message: fmt.Sprintf("the vendor has the most API keys there may be (%d): revoke one first", MaxAPIKeys)}
		}
		secret, made = vs.newKey(scope, v.Keys)
		v.Keys = append(v.Keys, made)
		return nil
	})
	if err != nil {
		return nil, err
	}
	vs.Log.Info().Str("vendor", vendor).Str("key", made.ID).Str("scope", string(scope)).Msg("vendor API key added")
	return &NewKey{Vendor: vendor, APIKey: made, Key: secret}, nil
}

// APIKeys returns a vendor's API keys, oldest first (their hashes are not
// shown).
func (vs *Vendors) APIKeys(_ context.Context, vendor string) ([]store.APIKey, error) {
	v, err := vs.vendor(vendor)
	if err != nil {
		return nil, err
	}
	if v.Keys == nil {
		return []store.APIKey{}, nil
	}
	return v.Keys, nil
}

// RevokeAPIKey removes a vendor's API key by its id: it stops working at
// once.
func (vs *Vendors) RevokeAPIKey(_ context.Context, vendor, id string) error {
	_, err := vs.change(vendor, func(v *store.Vendor) error {
		for i, k := range v.Keys {
			if k.ID == id {
				v.Keys = append(v.Keys[:i:i], v.Keys[i+1:]...)
				return nil
			}
		}
		return &ferry.Error{Kind: ferry.KindNotFound, Message: "vendor " + clip(vendor) + " has no API key " + clip(id)}
	})
	if err == nil {
		vs.Log.Info().Str("vendor", vendor).Str("key", id).Msg("vendor API key revoked")
	}
	return err
}

// NewAPIKey replaces every API key of a vendor with one new key of scope
// all: the others stop working at once (what ferry vendor key did when a
// vendor had one key). It returns the credentials with the new key (the
// secret is not shown again).
func (vs *Vendors) NewAPIKey(_ context.Context, vendor string) (*Credentials, error) {
	var secret string
	var made store.APIKey
	v, err := vs.change(vendor, func(v *store.Vendor) error {
		secret, made = vs.newKey(store.ScopeAll, nil)
		v.Keys = []store.APIKey{made}
		return nil
	})
	if err != nil {
		return nil, err
	}
	vs.Log.Info().Str("vendor", vendor).Str("key", made.ID).Msg("vendor API keys replaced")
	return &Credentials{Vendor: v, APIKey: secret, KeyID: made.ID, Scope: made.Scope}, nil
}

// NewSecret gives a vendor a new secret (LitePay's merchant API,
// Coinremitter's password) and returns it: the old one stops working at
// once.
func (vs *Vendors) NewSecret(_ context.Context, vendor string) (string, error) {
	secret := randomSecret()
	if _, err := vs.change(vendor, func(v *store.Vendor) error {
		v.SecretHash = sha256.Sum256([]byte(secret))
		return nil
	}); err != nil {
		return "", err
	}
	vs.Log.Info().Str("vendor", vendor).Msg("vendor secret replaced")
	return secret, nil
}

// change applies f to a vendor as the store holds it, or says there is no
// such vendor.
func (vs *Vendors) change(vendor string, f func(v *store.Vendor) error) (*store.Vendor, error) {
	v, err := vs.Store.ChangeVendor(vendor, f)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &ferry.Error{Kind: ferry.KindNotFound, Message: "no vendor " + clip(vendor)}
	}
	return v, err
}
