package mail

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"mime/quotedprintable"
	netmail "net/mail"
	"strings"
	"testing"
	"time"
)

var composeTime = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// checkComposed checks the structure of a composed message: CRLF line
// ends only, header lines within 998 bytes, exactly the eight headers
// once each, and returns the parsed message.
func checkComposed(t *testing.T, data []byte) *netmail.Message {
	t.Helper()
	if i := bytes.IndexAny(bytes.ReplaceAll(data, []byte("\r\n"), nil), "\r\n"); i >= 0 {
		t.Fatalf("a bare CR or LF:\n%q", data)
	}
	head, _, ok := bytes.Cut(data, []byte("\r\n\r\n"))
	if !ok {
		t.Fatalf("no end of headers:\n%q", data)
	}
	for _, line := range strings.Split(string(head), "\r\n") {
		if len(line) > 998 {
			t.Fatalf("a header line of %d bytes", len(line))
		}
	}
	msg, err := netmail.ReadMessage(bufio.NewReader(bytes.NewReader(data)))
	if err != nil {
		t.Fatalf("%v:\n%q", err, data)
	}
	want := []string{"From", "To", "Subject", "Date", "Message-Id", "Mime-Version", "Content-Type", "Content-Transfer-Encoding"}
	if len(msg.Header) != len(want) {
		t.Fatalf("headers %q", msg.Header)
	}
	for _, name := range want {
		if len(msg.Header[name]) != 1 {
			t.Fatalf("header %s: %q", name, msg.Header[name])
		}
	}
	return msg
}

// wantSubject is what a reader decodes from encodeSubject(s), spaces
// collapsed as header unfolding may.
func wantSubject(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || 0x80 <= r && r < 0xa0 || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	return s
}

func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

func TestEncodeSubject(t *testing.T) {
	tests := []struct{ in, raw string }{
		{"Invoice 42 has been paid!", "Invoice 42 has been paid!"},
		{"Invoice 42 — payé", "=?utf-8?q?Invoice_42_=E2=80=94_pay=C3=A9?="},
		{"a\r\nBcc: x@example.com", "a  Bcc: x@example.com"},
		{"=?utf-8?q?x?=", "=?utf-8?q?=3D=3Futf-8=3Fq=3Fx=3F=3D?="},
	}
	for _, tt := range tests {
		if got := encodeSubject(tt.in); got != tt.raw {
			t.Errorf("encodeSubject(%q) = %q, want %q", tt.in, got, tt.raw)
		}
	}
}

// FuzzHeaders: whatever the subject, the recipient's name and the body,
// the headers stay one logical line each (no CR/LF injection), the
// subject decodes to what was given, and the body decodes back.
func FuzzHeaders(f *testing.F) {
	f.Add("Invoice 42 — payé", "Vendor", "paid\n")
	f.Add("a\r\nBcc: evil@example.com", "x\r\nBcc: y@example.com", ".\r\n.\n")
	f.Add(strings.Repeat("word ", 300), strings.Repeat("é", 100), strings.Repeat("x", 2000))
	f.Add(strings.Repeat("x", 990), "\"quoted\" name", "\xff\xfe")
	f.Add("=?utf-8?q?=0D=0A?=", "=?utf-8?q?a?=", "=\r=\n")
	from := &netmail.Address{Name: "Ferry", Address: "ferry@example.net"}
	f.Fuzz(func(t *testing.T, subject, name, body string) {
		if len(subject) > MaxSubjectLen || len(body) > MaxBodyLen {
			return
		}
		to := (&netmail.Address{Name: name, Address: "vendor@example.com"}).String()
		m := Message{ID: "inv-1", To: []string{to}, Subject: subject, Body: body}
		if m.Validate() != nil {
			return // an address net/mail would not read back
		}
		data, err := compose(m, from, composeTime)
		if err != nil {
			t.Fatal(err)
		}
		msg := checkComposed(t, data)
		got, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		if err != nil || collapse(got) != collapse(wantSubject(subject)) {
			t.Fatalf("subject %q decodes to %q, %v; want %q", msg.Header.Get("Subject"), got, err, wantSubject(subject))
		}
		addrs, err := msg.Header.AddressList("To")
		if err != nil || len(addrs) != 1 || addrs[0].Address != "vendor@example.com" {
			t.Fatalf("To %q: %v, %v", msg.Header.Get("To"), addrs, err)
		}
		dec, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
		wantBody := strings.ReplaceAll(strings.ReplaceAll(strings.ToValidUTF8(body, "\uFFFD"), "\r\n", "\n"), "\r", "\n")
		wantBody = strings.ReplaceAll(wantBody, "\n", "\r\n")
		if err != nil || strings.TrimSuffix(string(dec), "\r\n") != strings.TrimSuffix(wantBody, "\r\n") {
			t.Fatalf("body %q decodes to %q, %v", body, dec, err)
		}
	})
}
