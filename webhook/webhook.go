// Package webhook signs and verifies webhooks as Standard Webhooks
// (standardwebhooks.com) does: each message carries webhook-id,
// webhook-timestamp and webhook-signature headers, the signature being
// "v1," and the base64 HMAC-SHA256, keyed with the endpoint's secret, of
// "<id>.<timestamp>.<body>". A receiver checks the signature and that the
// timestamp is recent, and drops a repeated id.
package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every secret: "whsec_" and the key in base64.
const SecretPrefix = "whsec_"

// Tolerance is how far a message's timestamp may be from the receiver's
// clock, either way.
const Tolerance = 5 * time.Minute

// The headers of a signed message.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// Errors of Verify and ParseSecret.
var (
	ErrSecret    = errors.New("webhook: bad secret")
	ErrHeaders   = errors.New("webhook: missing or malformed headers")
	ErrTimestamp = errors.New("webhook: timestamp out of tolerance")
	ErrSignature = errors.New("webhook: no matching signature")
)

// NewSecret returns a new secret of 24 random bytes.
func NewSecret() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// ParseSecret returns the key of a secret ("whsec_" and base64, or the
// base64 alone).
func ParseSecret(secret string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(k) < 16 || len(k) > 64 {
		return nil, ErrSecret
	}
	return k, nil
}

// Sign returns the webhook-signature header of a message: "v1," and the
// signature.
func Sign(secret, id string, ts time.Time, body []byte) (string, error) {
	k, err := ParseSecret(secret)
	if err != nil {
		return "", err
	}
	return "v1," + sign(k, id, ts.Unix(), body), nil
}

func sign(key []byte, id string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Headers returns the three headers of a message signed at ts.
func Headers(secret, id string, ts time.Time, body []byte) (http.Header, error) {
	sig, err := Sign(secret, id, ts, body)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, sig)
	return h, nil
}

// Verify checks a message as a receiver does: its headers are there, its
// timestamp is within Tolerance of now, and one of its signatures (the
// header may hold several, space separated) is the secret's.
func Verify(secret string, h http.Header, body []byte, now time.Time) error {
	k, err := ParseSecret(secret)
	if err != nil {
		return err
	}
	id, tss, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || tss == "" || sigs == "" {
		return ErrHeaders
	}
	ts, err := strconv.ParseInt(tss, 10, 64)
	if err != nil {
		return ErrHeaders
	}
	if d := now.Unix() - ts; d > int64(Tolerance/time.Second) || d < -int64(Tolerance/time.Second) {
		return ErrTimestamp
	}
	want := []byte(sign(k, id, ts, body))
	for _, s := range strings.Fields(sigs) {
		v, sig, ok := strings.Cut(s, ",")
		if ok && v == "v1" && hmac.Equal([]byte(sig), want) {
			return nil
		}
	}
	return ErrSignature
}
