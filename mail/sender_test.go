package mail_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/mail"
	"github.com/ferry-relay/ferry/mail/mailtest"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// newSender returns a Sender for cfg, failing the test if cfg is invalid.
func newSender(t *testing.T, cfg mail.Config) *mail.Sender {
	t.Helper()
	if cfg.From == "" {
		cfg.From = "Ferry <ferry@example.net>"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 20 * time.Second
	}
	s, err := mail.NewSender(cfg, clock.NewTest(t0))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// smtpURL returns scheme://[user:pass@]addr with the credentials escaped.
func smtpURL(scheme, user, pass, addr string) string {
	u := &url.URL{Scheme: scheme, Host: addr}
	if user != "" {
		u.User = url.UserPassword(user, pass)
	}
	return u.String()
}

// checkReceived checks that r is m as Send renders it, from
// ferry@example.net at t0.
func checkReceived(t *testing.T, r mailtest.Message, m mail.Message) {
	t.Helper()
	if r.MailFrom != "ferry@example.net" {
		t.Errorf("MAIL FROM %q", r.MailFrom)
	}
	msg, err := netmail.ReadMessage(bytes.NewReader(r.Data))
	if err != nil {
		t.Fatalf("the message does not parse: %v\n%s", err, r.Data)
	}
	h := msg.Header
	for _, name := range []string{"From", "To", "Subject", "Date", "Message-Id", "Mime-Version", "Content-Type", "Content-Transfer-Encoding"} {
		if len(h[name]) != 1 {
			t.Errorf("header %s: %q", name, h[name])
		}
	}
	if from, err := h.AddressList("From"); err != nil || len(from) != 1 || from[0].Address != "ferry@example.net" || from[0].Name != "Ferry" {
		t.Errorf("From %v, %v", from, err)
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != len(m.To) {
		t.Errorf("To %v, %v", to, err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if err != nil || subject != m.Subject {
		t.Errorf("Subject %q (raw %q), %v; want %q", subject, h.Get("Subject"), err, m.Subject)
	}
	if d, err := h.Date(); err != nil || !d.Equal(t0) {
		t.Errorf("Date %v, %v", d, err)
	}
	if id := h.Get("Message-ID"); id != "<"+m.ID+"@ferry>" {
		t.Errorf("Message-ID %q", id)
	}
	if h.Get("MIME-Version") != "1.0" || h.Get("Content-Type") != "text/plain; charset=utf-8" || h.Get("Content-Transfer-Encoding") != "quoted-printable" {
		t.Errorf("MIME headers %q %q %q", h.Get("MIME-Version"), h.Get("Content-Type"), h.Get("Content-Transfer-Encoding"))
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	want := strings.ReplaceAll(m.Body, "\n", "\r\n")
	if !strings.HasSuffix(want, "\r\n") {
		want += "\r\n" // the data ends with a line end
	}
	if err != nil || string(body) != want {
		t.Errorf("body %q, %v; want %q", body, err, want)
	}
}

// TestSend sends through real servers: plain, STARTTLS with AUTH, smtps,
// and plain with AUTH on loopback.
func TestSend(t *testing.T) {
	cert := mailtest.NewCert(t)
	const user, pass = "vendor-relay", "p@ss w:rd/%é"
	tests := []struct {
		name   string
		opts   mailtest.Options
		scheme string
		auth   bool
		msg    mail.Message
	}{
		{"plain", mailtest.Options{}, "smtp", false, mail.Message{
			ID: "inv-1.paid", To: []string{"vendor@example.com"}, Subject: "Invoice 1 has been paid!",
			Body: "Invoice 1 has been paid.\n.\nA line that starts with a dot, above.\n",
		}},
		{"starttls and auth", mailtest.Options{STARTTLS: true, User: user, Pass: pass, Cert: cert}, "smtp", true, mail.Message{
			ID: "inv-42", To: []string{"Vendor Ltd <vendor@example.com>", "ops@example.org"}, Subject: "Invoice 42 — payé",
			Body: "Montant reçu : 0,5 LTC\n" + strings.Repeat("long line ", 30) + "\n",
		}},
		{"smtps and auth", mailtest.Options{SMTPS: true, User: user, Pass: pass, Cert: cert}, "smtps", true, mail.Message{
			ID: "inv-43", To: []string{"Çelik <vendor@example.com>"}, Subject: "支払い済み 43",
			Body: "paid=yes\n",
		}},
		{"plain auth on loopback", mailtest.Options{User: user, Pass: pass}, "smtp", true, mail.Message{
			ID: "inv-44", To: []string{"vendor@example.com"}, Subject: "=?not-encoded?= Invoice 44", Body: "ok",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := mailtest.Start(t, tt.opts)
			u, p := "", ""
			if tt.auth {
				u, p = user, pass
			}
			s := newSender(t, mail.Config{URL: smtpURL(tt.scheme, u, p, srv.Addr()), TLS: &tls.Config{RootCAs: cert.Pool}})
			if err := s.Send(context.Background(), tt.msg); err != nil {
				t.Fatal(err)
			}
			got := mailtest.Received(t, srv.Dir)
			if len(got) != 1 {
				t.Fatalf("%d messages received", len(got))
			}
			r := got[0]
			if tls := tt.opts.STARTTLS || tt.opts.SMTPS; r.TLS != tls || r.Authenticated != tt.auth {
				t.Errorf("tls %v, authenticated %v", r.TLS, r.Authenticated)
			}
			if len(r.RcptTos) != len(tt.msg.To) {
				t.Errorf("RCPT TO %v", r.RcptTos)
			}
			checkReceived(t, r, tt.msg)
		})
	}
}

// TestSendFails: what the server refuses is ErrRejected, the rest is
// temporary; a refused recipient sends nothing.
func TestSendFails(t *testing.T) {
	cert := mailtest.NewCert(t)
	msg := mail.Message{ID: "m1", To: []string{"vendor@example.com", "nobody@example.com"}, Subject: "s", Body: "b"}
	down := smtpURL("smtp", "", "", "127.0.0.1:"+strconv.Itoa(mailtest.FreePort(t)))
	tests := []struct {
		name     string
		opts     *mailtest.Options // nil: no server
		url      func(addr string) string
		tls      *tls.Config
		rejected bool
	}{
		{"recipient refused", &mailtest.Options{Reject: []string{"nobody@example.com"}}, func(a string) string { return smtpURL("smtp", "", "", a) }, nil, true},
		{"wrong password", &mailtest.Options{STARTTLS: true, User: "u", Pass: "right", Cert: cert}, func(a string) string { return smtpURL("smtp", "u", "wrong", a) }, nil, true},
		{"no credentials", &mailtest.Options{STARTTLS: true, User: "u", Pass: "right", Cert: cert}, func(a string) string { return smtpURL("smtp", "", "", a) }, nil, true},
		{"server down", nil, func(string) string { return down }, nil, false},
		{"unknown certificate", &mailtest.Options{SMTPS: true, Cert: cert}, func(a string) string { return smtpURL("smtps", "", "", a) }, &tls.Config{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var srv *mailtest.Server
			addr := ""
			if tt.opts != nil {
				srv = mailtest.Start(t, *tt.opts)
				addr = srv.Addr()
			}
			tc := tt.tls
			if tc == nil {
				tc = &tls.Config{RootCAs: cert.Pool}
			}
			err := newSender(t, mail.Config{URL: tt.url(addr), TLS: tc}).Send(context.Background(), msg)
			if err == nil {
				t.Fatal("sent")
			}
			t.Log(err)
			if errors.Is(err, mail.ErrRejected) != tt.rejected {
				t.Errorf("rejected = %v: %v", !tt.rejected, err)
			}
			if strings.Contains(err.Error(), "right") || strings.Contains(err.Error(), "wrong") {
				t.Errorf("the error shows the password: %v", err)
			}
			if srv != nil {
				if got := mailtest.Received(t, srv.Dir); len(got) != 0 {
					t.Errorf("%d messages received", len(got))
				}
			}
		})
	}
}

// TestSendRefusesCredentialsInClear: credentials for a host that is not
// this machine never cross a connection without TLS. The URL names
// mail.example.com; the connection goes to a local server that offers no
// STARTTLS and would take AUTH.
func TestSendRefusesCredentialsInClear(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{User: "u", Pass: "hunter2-secret"})
	s := newSender(t, mail.Config{URL: "smtp://u:hunter2-secret@mail.example.com"})
	mail.RedirectDial(s, srv.Addr())
	err := s.Send(context.Background(), mail.Message{ID: "m1", To: []string{"vendor@example.com"}, Body: "b"})
	if !errors.Is(err, mail.ErrInsecure) || errors.Is(err, mail.ErrRejected) {
		t.Fatalf("err = %v, want ErrInsecure", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("the error shows the password: %v", err)
	}
	if got := mailtest.Received(t, srv.Dir); len(got) != 0 {
		t.Errorf("%d messages received", len(got))
	}
}

// TestSendInvalid: a message that can never be sent fails before any
// connection.
func TestSendInvalid(t *testing.T) {
	s := newSender(t, mail.Config{URL: "smtp://127.0.0.1:1"})
	for _, m := range []mail.Message{
		{ID: "", To: []string{"a@example.com"}},
		{ID: "a b", To: []string{"a@example.com"}},
		{ID: "x", To: nil},
		{ID: "x", To: []string{"not an address"}},
		{ID: "x", To: []string{"a@example.com\r\nBcc: b@example.com"}},
	} {
		if err := s.Send(context.Background(), m); !errors.Is(err, mail.ErrInvalidMessage) {
			t.Errorf("Send(%+v) = %v, want ErrInvalidMessage", m, err)
		}
	}
}
