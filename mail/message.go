package mail

import (
	"bytes"
	"errors"
	"fmt"
	"mime/quotedprintable"
	netmail "net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrInvalidMessage reports a Message that cannot be sent as it is: no
// retry will change that.
var ErrInvalidMessage = errors.New("invalid message")

// Message is one email.
type Message struct {
	// ID names the message: stable across retries, it is sent as the
	// Message-ID "<ID@ferry>", and one ID is queued once. Required: 1 to
	// MaxIDLen of A-Z, a-z, 0-9, '.', '_', '-'.
	ID string
	// To holds the recipients, at least one and at most MaxRecipients,
	// each as net/mail parses it ("a@example.com", "Alice <a@example.com>")
	// with an ASCII address.
	To []string
	// Subject is UTF-8, encoded per RFC 2047 when it is not plain ASCII; at
	// most MaxSubjectLen bytes. Control characters become spaces.
	Subject string
	// Body is the text, sent as text/plain; charset=utf-8 in
	// quoted-printable; at most MaxBodyLen bytes.
	Body string
}

// Limits of a Message.
const (
	MaxIDLen      = 128
	MaxRecipients = 100
	MaxSubjectLen = 1000
	MaxBodyLen    = 1 << 20
)

// Validate reports what makes m unsendable, wrapping ErrInvalidMessage, or
// nil.
func (m Message) Validate() error {
	if err := validID(m.ID); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	if len(m.To) == 0 || len(m.To) > MaxRecipients {
		return fmt.Errorf("%w: %d recipients, want 1 to %d", ErrInvalidMessage, len(m.To), MaxRecipients)
	}
	for i, to := range m.To {
		if _, err := parseAddress(to); err != nil {
			return fmt.Errorf("%w: recipient %d: %w", ErrInvalidMessage, i+1, err)
		}
	}
	if len(m.Subject) > MaxSubjectLen {
		return fmt.Errorf("%w: subject of %d bytes", ErrInvalidMessage, len(m.Subject))
	}
	if len(m.Body) > MaxBodyLen {
		return fmt.Errorf("%w: body of %d bytes", ErrInvalidMessage, len(m.Body))
	}
	return nil
}

func validID(id string) error {
	if id == "" || len(id) > MaxIDLen {
		return fmt.Errorf("id of %d bytes, want 1 to %d", len(id), MaxIDLen)
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return fmt.Errorf("id has %q at %d; want A-Z, a-z, 0-9, '.', '_', '-'", c, i)
		}
	}
	return nil
}

// maxAddressLen bounds an address with its display name.
const maxAddressLen = 320

// parseAddress parses an address as net/mail does, and requires an
// address SMTP can carry without extensions: printable ASCII, no spaces,
// quotes or brackets.
func parseAddress(s string) (*netmail.Address, error) {
	if len(s) > maxAddressLen {
		return nil, fmt.Errorf("address of %d bytes, want at most %d", len(s), maxAddressLen)
	}
	a, err := netmail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("parse address: %w", err)
	}
	for i := 0; i < len(a.Address); i++ {
		if c := a.Address[i]; c <= ' ' || c > '~' || strings.IndexByte(`"()<>[]\,;:`, c) >= 0 {
			return nil, fmt.Errorf("address has %q: want plain ASCII", c)
		}
	}
	return a, nil
}

// domain returns the part of an address after its last '@'.
func domain(addr string) string {
	if a, err := netmail.ParseAddress(addr); err == nil {
		addr = a.Address
	}
	return addr[strings.LastIndexByte(addr, '@')+1:]
}

// compose renders m from from at now: the headers, then the body in
// quoted-printable, with CRLF line ends. Every header line is at most
// lineLen bytes unless a single address is longer, and holds no CR or LF
// of its own.
func compose(m Message, from *netmail.Address, now time.Time) ([]byte, error) {
	to := make([]string, len(m.To))
	for i, s := range m.To {
		a, err := parseAddress(s)
		if err != nil {
			return nil, fmt.Errorf("%w: recipient %d: %w", ErrInvalidMessage, i+1, err)
		}
		to[i] = a.String()
	}
	var b bytes.Buffer
	b.Grow(512 + len(m.Body)*3/2)
	writeHeader(&b, "From", from.String())
	writeHeader(&b, "To", strings.Join(to, ", "))
	writeHeader(&b, "Subject", encodeSubject(m.Subject))
	writeHeader(&b, "Date", now.Format(time.RFC1123Z))
	writeHeader(&b, "Message-ID", "<"+m.ID+"@ferry>")
	writeHeader(&b, "MIME-Version", "1.0")
	writeHeader(&b, "Content-Type", "text/plain; charset=utf-8")
	writeHeader(&b, "Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")

	// Line ends become CRLF; quoted-printable keeps lines short and
	// encodes everything else that is not plain ASCII.
	body := strings.ToValidUTF8(m.Body, "\uFFFD")
	body = strings.ReplaceAll(body, "\r\n", "\n")
	body = strings.ReplaceAll(body, "\r", "\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(body)); err != nil {
		return nil, fmt.Errorf("encode body: %w", err)
	}
	if err := qp.Close(); err != nil {
		return nil, fmt.Errorf("encode body: %w", err)
	}
	if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
		b.WriteString("\r\n")
	}
	return b.Bytes(), nil
}

// lineLen is the header line length folding keeps to (RFC 5322 2.1.1).
const lineLen = 78

// writeHeader writes "name: value" and CRLF, folding the value at its
// spaces to keep lines within lineLen. value holds no CR or LF.
func writeHeader(b *bytes.Buffer, name, value string) {
	b.WriteString(name)
	b.WriteString(":")
	n := len(name) + 1
	for _, w := range strings.Split(value, " ") {
		// Fold before a word that would pass the limit, never leaving
		// a line of spaces alone.
		if w != "" && n+1+len(w) > lineLen && n > len(name)+1 {
			b.WriteString("\r\n")
			n = 0
		}
		b.WriteByte(' ')
		b.WriteString(w)
		n += 1 + len(w)
	}
	b.WriteString("\r\n")
}

// maxPlainWord is the longest word a subject may hold unencoded: a
// longer one could not be folded within lineLen.
const maxPlainWord = 60

// encodeSubject returns s as a header value: valid UTF-8 with control
// characters as spaces, left as it is when it is plain ASCII in short
// words, else as RFC 2047 encoded-words, each at most 75 bytes.
func encodeSubject(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || 0x80 <= r && r < 0xa0 || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	if plainSubject(s) {
		return s
	}
	return qEncode(s)
}

// qEncode encodes s, valid UTF-8, as RFC 2047 Q encoded-words of at most
// 75 bytes each, separated by spaces, never splitting a character. (The
// mime package leaves printable ASCII as it is, long words and "=?"
// included.)
func qEncode(s string) string {
	const open, closing = "=?utf-8?q?", "?="
	const room = 75 - len(open) - len(closing)
	var out, word strings.Builder
	flush := func() {
		if out.Len() > 0 {
			out.WriteByte(' ')
		}
		out.WriteString(open + word.String() + closing)
		word.Reset()
	}
	var enc []byte
	for _, r := range s {
		enc = enc[:0]
		for _, c := range []byte(string(r)) {
			switch {
			case c == ' ':
				enc = append(enc, '_')
			case '!' <= c && c <= '~' && c != '=' && c != '?' && c != '_':
				enc = append(enc, c)
			default:
				enc = append(enc, '=', upperHex[c>>4], upperHex[c&0xf])
			}
		}
		if word.Len()+len(enc) > room {
			flush()
		}
		word.Write(enc)
	}
	if word.Len() > 0 || out.Len() == 0 {
		flush()
	}
	return out.String()
}

const upperHex = "0123456789ABCDEF"

// plainSubject reports whether s can go into a header unencoded: printable
// ASCII, nothing a reader would take for an encoded-word, no long word.
func plainSubject(s string) bool {
	if strings.Contains(s, "=?") || !utf8.ValidString(s) {
		return false
	}
	for _, w := range strings.Split(s, " ") {
		if len(w) > maxPlainWord {
			return false
		}
		for i := 0; i < len(w); i++ {
			if w[i] < '!' || w[i] > '~' {
				return false
			}
		}
	}
	return true
}
