package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/smtp"
	"net/textproto"
	"time"

	"github.com/ferry-relay/ferry/clock"
)

// Errors callers branch on.
var (
	// ErrRejected reports a permanent refusal: the server answered 5xx.
	// Sending the same message again is unlikely to help.
	ErrRejected = errors.New("rejected by the smtp server")
	// ErrInsecure reports credentials that would have crossed a connection
	// without TLS to a host other than this machine's: the server did not
	// offer STARTTLS.
	ErrInsecure = errors.New("refusing to send smtp credentials without tls")
)

// ehloName is the name ferry gives itself in EHLO: not the machine's
// host name, which an operator behind Tor may not want to tell.
const ehloName = "localhost"

// Sender delivers one message per call over SMTP, with net/smtp. It is
// safe for concurrent use.
type Sender struct {
	srv     server
	from    *netmail.Address
	timeout time.Duration
	tls     *tls.Config
	clk     clock.Clock
	// dial opens the TCP connection; tests redirect it.
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Transport is what a Mailer sends with: a *Sender, or a wrapper of one.
type Transport interface {
	// Send delivers m once; an error wrapping ErrRejected is permanent.
	Send(ctx context.Context, m Message) error
}

var _ Transport = (*Sender)(nil)

// NewSender returns a Sender for cfg, which must be valid. clk dates the
// messages (clock.System{} when nil).
func NewSender(cfg Config, clk clock.Clock) (*Sender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("mail sender: %w", err)
	}
	srv, _ := parseURL(cfg.URL)
	from, _ := parseAddress(cfg.From)
	if clk == nil {
		clk = clock.System{}
	}
	t := &tls.Config{}
	if cfg.TLS != nil {
		t = cfg.TLS.Clone()
	}
	if t.ServerName == "" {
		t.ServerName = srv.host
	}
	if t.MinVersion == 0 {
		t.MinVersion = tls.VersionTLS12
	}
	s := &Sender{srv: srv, from: from, timeout: cfg.Timeout, tls: t, clk: clk}
	if s.timeout == 0 {
		s.timeout = DefaultTimeout
	}
	var d net.Dialer
	s.dial = d.DialContext
	return s, nil
}

// Send makes one SMTP transaction for m: EHLO, STARTTLS if the server
// offers it (smtp://), AUTH PLAIN if credentials were configured, MAIL
// FROM, RCPT TO each recipient, DATA, QUIT. The transaction is all or
// nothing: a recipient refused aborts it. Credentials never cross a
// connection without TLS unless the host is this machine (ErrInsecure).
// A 5xx reply gives an error wrapping ErrRejected, permanent; any other
// failure (dial, TLS, timeout, 4xx) is temporary. Once the server has
// accepted the data the message counts as sent, whatever QUIT does. The
// whole call is bounded by the configured timeout and by ctx.
func (s *Sender) Send(ctx context.Context, m Message) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("send mail %s: %w", m.ID, err)
	}
	data, err := compose(m, s.from, s.clk.Now())
	if err != nil {
		return fmt.Errorf("send mail %s: %w", m.ID, err)
	}
	if err := s.send(ctx, m, data); err != nil {
		return fmt.Errorf("send mail %s: %w", m.ID, err)
	}
	return nil
}

func (s *Sender) send(ctx context.Context, m Message, data []byte) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()

	// Connect, TLS first for smtps. Every read and write is bounded by
	// ctx's deadline, and its end cuts the connection short.
	conn, err := s.dial(ctx, "tcp", s.srv.addr())
	if err != nil {
		return fmt.Errorf("dial %s: %w", s.srv.addr(), err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	fail := func(step string, err error) error { return s.fail(ctx, step, err) }
	if s.srv.implicitTLS {
		tc := tls.Client(conn, s.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail("tls", err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, s.srv.host)
	if err != nil {
		return fail("greeting", err)
	}
	defer c.Close()
	if err := c.Hello(ehloName); err != nil {
		return fail("ehlo", err)
	}

	// STARTTLS whenever offered; then AUTH if configured.
	secure := s.srv.implicitTLS
	if ok, _ := c.Extension("STARTTLS"); ok && !secure {
		if err := c.StartTLS(s.tls); err != nil {
			return fail("starttls", err)
		}
		secure = true
	}
	if s.srv.auth() {
		if !secure && !loopback(s.srv.host) {
			return fmt.Errorf("auth at %s: %w (the server offers no STARTTLS; use smtps:// or a server that does)", s.srv.host, ErrInsecure)
		}
		if ok, _ := c.Extension("AUTH"); !ok {
			return fail("auth", errors.New("the server offers no AUTH"))
		}
		if err := c.Auth(smtp.PlainAuth("", s.srv.user, s.srv.pass, s.srv.host)); err != nil {
			return fail("auth", err)
		}
	}

	// The envelope, then the data.
	if err := c.Mail(s.from.Address); err != nil {
		return fail("mail from", err)
	}
	for i, to := range m.To {
		a, _ := parseAddress(to) // valid: Send checked
		if err := c.Rcpt(a.Address); err != nil {
			return fail(fmt.Sprintf("rcpt %d at %s", i+1, domain(a.Address)), err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fail("data", err)
	}
	if _, err := w.Write(data); err != nil {
		return fail("data", err)
	}
	if err := w.Close(); err != nil {
		return fail("end of data", err)
	}
	c.Quit() // the message is accepted; a failed QUIT changes nothing
	return nil
}

// fail wraps the error of step: ErrRejected for a 5xx reply, ctx's error
// if ctx ended.
func (s *Sender) fail(ctx context.Context, step string, err error) error {
	var reply *textproto.Error
	switch {
	case errors.As(err, &reply) && reply.Code >= 500 && reply.Code < 600:
		return fmt.Errorf("%s: %w: %w", step, ErrRejected, err)
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w (%v)", step, ctx.Err(), err)
	}
	return fmt.Errorf("%s: %w", step, err)
}
