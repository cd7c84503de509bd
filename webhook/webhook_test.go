package webhook_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-relay/ferry/webhook"
)

// The example of the Standard Webhooks specification: its secret, message
// and signature.
const (
	specSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTS     = 1614265330
	specBody   = `{"test": 2432232314}`
	specSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSpecExample(t *testing.T) {
	sig, err := webhook.Sign(specSecret, specID, time.Unix(specTS, 0), []byte(specBody))
	if err != nil || sig != specSig {
		t.Fatalf("Sign = %q, %v; want %q", sig, err, specSig)
	}
}

func TestVerify(t *testing.T) {
	secret, err := webhook.NewSecret()
	if err != nil || !strings.HasPrefix(secret, webhook.SecretPrefix) {
		t.Fatalf("NewSecret = %q, %v", secret, err)
	}
	other, _ := webhook.NewSecret()
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"id":"7","status":"SUCCESSFUL"}`)
	good, _ := webhook.Headers(secret, "evt_7_2", now, body)
	with := func(k, v string) http.Header {
		h := good.Clone()
		h.Set(k, v)
		return h
	}
	sig := good.Get(webhook.HeaderSignature)
	tests := []struct {
		name   string
		secret string
		h      http.Header
		body   string
		now    time.Time
		want   error
	}{
		{"good", secret, good, string(body), now, nil},
		{"one of several", secret, with(webhook.HeaderSignature, "v1,bm9wZQ== "+sig), string(body), now, nil},
		{"4 minutes late", secret, good, string(body), now.Add(4 * time.Minute), nil},
		{"6 minutes late", secret, good, string(body), now.Add(6 * time.Minute), webhook.ErrTimestamp},
		{"from the future", secret, good, string(body), now.Add(-6 * time.Minute), webhook.ErrTimestamp},
		{"other body", secret, good, `{"id":"7","status":"EXPIRED"}`, now, webhook.ErrSignature},
		{"other id", secret, with(webhook.HeaderID, "evt_8_1"), string(body), now, webhook.ErrSignature},
		{"other secret", other, good, string(body), now, webhook.ErrSignature},
		{"v2 scheme", secret, with(webhook.HeaderSignature, "v2,"+strings.TrimPrefix(sig, "v1,")), string(body), now, webhook.ErrSignature},
		{"no id", secret, with(webhook.HeaderID, ""), string(body), now, webhook.ErrHeaders},
		{"bad timestamp", secret, with(webhook.HeaderTimestamp, "soon"), string(body), now, webhook.ErrHeaders},
		{"bad secret", "whsec_!!", good, string(body), now, webhook.ErrSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := webhook.Verify(tt.secret, tt.h, []byte(tt.body), tt.now); !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

// FuzzVerify feeds any headers and body to Verify, as a receiver gets
// them: it never panics, and accepts only what the secret signed.
func FuzzVerify(f *testing.F) {
	f.Add(specID, "1614265330", specSig, specBody)
	f.Add("", "", "", "")
	f.Add("x", "-9223372036854775808", "v1,", "{}")
	f.Add("x", "1614265330", "v1,a v1,b v2,c ,", "{}")
	now := time.Unix(specTS, 0)
	f.Fuzz(func(t *testing.T, id, ts, sig, body string) {
		h := http.Header{}
		h.Set(webhook.HeaderID, id)
		h.Set(webhook.HeaderTimestamp, ts)
		h.Set(webhook.HeaderSignature, sig)
		if webhook.Verify(specSecret, h, []byte(body), now) != nil {
			return
		}
		sec, _ := strconv.ParseInt(h.Get(webhook.HeaderTimestamp), 10, 64)
		want, _ := webhook.Sign(specSecret, h.Get(webhook.HeaderID), time.Unix(sec, 0), []byte(body))
		if !slices.Contains(strings.Fields(h.Get(webhook.HeaderSignature)), want) {
			t.Fatalf("accepted a signature that is not the secret's: %q", sig)
		}
	})
}

func Example() {
	body := []byte(`{"id":"7","merchant_order_id":"A-1","status":"SUCCESSFUL"}`)
	h, _ := webhook.Headers(specSecret, "evt_7_2", time.Unix(specTS, 0), body)
	fmt.Println(h.Get(webhook.HeaderID), h.Get(webhook.HeaderTimestamp))
	fmt.Println(webhook.Verify(specSecret, h, body, time.Unix(specTS+60, 0)))
	// Output:
	// evt_7_2 1614265330
	// <nil>
}
