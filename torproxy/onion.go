package torproxy

import (
	"context"
	"crypto/ed25519"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry/clock"
)

// OnionConfig describes an onion service for ferry's API.
type OnionConfig struct {
	// Control is the address of Tor's control port.
	Control string
	Auth    Auth
	// Seed is the 32-byte ed25519 seed of the service's key: the same seed
	// gives the same .onion address across restarts.
	Seed []byte
	// Port is the onion's virtual port (80) and Target the local address
	// it forwards to (ferry's API).
	Port   int
	Target string
	// Clock times the republishing backoff; nil is the system clock.
	Clock clock.Clock
}

// Onion is an onion service kept published through Tor's control port:
// if Tor restarts, it is published again. It is safe for concurrent use.
type Onion struct {
	cfg     OnionConfig
	address string
	log     zerolog.Logger

	mu   sync.Mutex
	conn *control
	up   bool
	done chan struct{}
}

// OnionAddress returns the v3 onion address ("….onion") of the ed25519 key
// with the given 32-byte seed (rend-spec-v3 section 6).
func OnionAddress(seed []byte) string {
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	h := sha3.New256()
	h.Write([]byte(".onion checksum"))
	h.Write(pub)
	h.Write([]byte{3})
	sum := h.Sum(nil)
	raw := append(append(append([]byte{}, pub...), sum[:2]...), 3)
	return strings.ToLower(base32.StdEncoding.EncodeToString(raw)) + ".onion"
}

// keyBlob is the seed's key in ADD_ONION's ED25519-V3 form: the 64-byte
// expanded secret key (the SHA-512 of the seed, its first half clamped).
func keyBlob(seed []byte) string {
	h := sha512.Sum512(seed)
	h[0] &= 248
	h[31] &= 127
	h[31] |= 64
	return base64.StdEncoding.EncodeToString(h[:])
}

// NewOnion returns the onion service of cfg, not yet published: its
// address is known (the seed's), and Up is false until Publish.
func NewOnion(cfg OnionConfig, log zerolog.Logger) (*Onion, error) {
	if len(cfg.Seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("onion key: want a %d-byte seed", ed25519.SeedSize)
	}
	return &Onion{cfg: cfg, address: OnionAddress(cfg.Seed), log: log, done: make(chan struct{})}, nil
}

// Publish publishes the onion service and keeps it published until ctx is
// done or Close is called. It returns once Tor has taken the service for
// the first time; on an error nothing is kept, and Publish may be called
// again.
func (o *Onion) Publish(ctx context.Context) error {
	if err := o.publish(ctx); err != nil {
		return err
	}
	go o.keep(ctx)
	return nil
}

// PublishOnion is NewOnion and Publish.
func PublishOnion(ctx context.Context, cfg OnionConfig, log zerolog.Logger) (*Onion, error) {
	o, err := NewOnion(cfg, log)
	if err != nil {
		return nil, err
	}
	if err := o.Publish(ctx); err != nil {
		return nil, err
	}
	return o, nil
}

// Address returns the service's .onion address.
func (o *Onion) Address() string { return o.address }

// Up reports whether the service is published now.
func (o *Onion) Up() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.up
}

// Close withdraws the service (closing the control connection removes it).
func (o *Onion) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	select {
	case <-o.done:
		return nil
	default:
	}
	close(o.done)
	o.up = false
	if o.conn != nil {
		return o.conn.Close()
	}
	return nil
}

func (o *Onion) publish(ctx context.Context) error {
	c, err := dialControl(ctx, o.cfg.Control)
	if err != nil {
		return err
	}
	if err := c.authenticate(o.cfg.Auth); err != nil {
		c.Close()
		return err
	}
	id, err := c.addOnion(keyBlob(o.cfg.Seed), o.cfg.Port, o.cfg.Target)
	if err != nil {
		c.Close()
		return fmt.Errorf("add onion: %w", err)
	}
	if id+".onion" != o.address {
		c.Close()
		return fmt.Errorf("%w: Tor published %s.onion, expected %s", ErrControl, id, o.address)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	select {
	case <-o.done:
		c.Close()
		return nil
	default:
	}
	o.conn, o.up = c, true
	return nil
}

func (o *Onion) clock() clock.Clock {
	if o.cfg.Clock != nil {
		return o.cfg.Clock
	}
	return clock.System{}
}

// keep watches the control connection and publishes the service again when
// Tor comes back, with a backoff up to a minute.
func (o *Onion) keep(ctx context.Context) {
	for {
		o.mu.Lock()
		c := o.conn
		o.mu.Unlock()
		// The connection carries no events: a read returns only when it
		// breaks.
		buf := make([]byte, 1)
		c.conn.Read(buf)

		o.mu.Lock()
		o.up = false
		o.mu.Unlock()
		backoff := time.Second
		for {
			select {
			case <-ctx.Done():
				o.Close()
				return
			case <-o.done:
				return
			case <-o.clock().After(backoff):
			}
			err := o.publish(ctx)
			if err == nil {
				o.log.Info().Str("onion", o.address).Msg("onion service published again")
				break
			}
			o.log.Warn().Err(err).Dur("retry_in", backoff).Msg("onion service")
			backoff = min(2*backoff, time.Minute)
		}
	}
}
