package torproxy

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// ErrControl reports a refusal or a protocol error of Tor's control port.
var ErrControl = errors.New("tor control")

// control is a connection to Tor's control port, speaking the part of the
// control protocol (torspec control-spec) that an onion service needs:
// PROTOCOLINFO, AUTHCHALLENGE, AUTHENTICATE, ADD_ONION. Not safe for
// concurrent use.
type control struct {
	conn net.Conn
	r    *bufio.Reader
}

func dialControl(ctx context.Context, addr string) (*control, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("tor control %s: %w", addr, err)
	}
	return &control{conn: conn, r: bufio.NewReader(conn)}, nil
}

// Close closes the control connection.
func (c *control) Close() error { return c.conn.Close() }

// cmd sends one command line and reads its reply: the text of each line
// after its status code. A status other than 250 is an error.
func (c *control) cmd(line string) ([]string, error) {
	c.conn.SetDeadline(time.Now().Add(30 * time.Second))
	defer c.conn.SetDeadline(time.Time{})
	if _, err := c.conn.Write([]byte(line + "\r\n")); err != nil {
		return nil, err
	}
	var out []string
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		l = strings.TrimRight(l, "\r\n")
		if len(l) < 4 {
			return nil, fmt.Errorf("%w: bad reply line %q", ErrControl, l)
		}
		code, sep, text := l[:3], l[3], l[4:]
		if code == "650" {
			continue // an asynchronous event; none is asked for
		}
		if code != "250" {
			return nil, fmt.Errorf("%w: %s %s", ErrControl, code, text)
		}
		if sep == '+' {
			// A data block, up to a line holding only ".".
			for {
				d, err := c.r.ReadString('\n')
				if err != nil {
					return nil, err
				}
				if strings.TrimRight(d, "\r\n") == "." {
					break
				}
			}
		}
		out = append(out, text)
		if sep == ' ' {
			return out, nil
		}
	}
}

// Auth is how to authenticate to Tor's control port.
type Auth struct {
	// Password is for HashedControlPassword.
	Password string
	// CookieFile overrides the cookie path Tor reports, for a ferry that
	// sees Tor's data directory elsewhere (another container).
	CookieFile string
}

// authenticate logs in with the first method both sides support: a
// password if one is given, SAFECOOKIE, COOKIE, or none.
func (c *control) authenticate(a Auth) error {
	lines, err := c.cmd("PROTOCOLINFO 1")
	if err != nil {
		return err
	}
	methods, cookiePath := map[string]bool{}, ""
	for _, l := range lines {
		rest, ok := strings.CutPrefix(l, "AUTH METHODS=")
		if !ok {
			continue
		}
		list, file, _ := strings.Cut(rest, " ")
		for _, m := range strings.Split(list, ",") {
			methods[m] = true
		}
		if p, ok := strings.CutPrefix(file, "COOKIEFILE="); ok {
			if cookiePath, err = strconv.Unquote(p); err != nil {
				return fmt.Errorf("%w: bad COOKIEFILE %s", ErrControl, p)
			}
		}
	}
	if a.CookieFile != "" {
		cookiePath = a.CookieFile
	}

	switch {
	case a.Password != "" && methods["HASHEDPASSWORD"]:
		_, err = c.cmd("AUTHENTICATE " + strconv.Quote(a.Password))
	case methods["SAFECOOKIE"] && cookiePath != "":
		err = c.safeCookie(cookiePath)
	case methods["COOKIE"] && cookiePath != "":
		var cookie []byte
		if cookie, err = readCookie(cookiePath); err == nil {
			_, err = c.cmd("AUTHENTICATE " + hex.EncodeToString(cookie))
		}
	case methods["NULL"]:
		_, err = c.cmd("AUTHENTICATE")
	case methods["HASHEDPASSWORD"]:
		return fmt.Errorf("%w: Tor wants a password (--tor-password)", ErrControl)
	default:
		return fmt.Errorf("%w: no authentication method in common (Tor offers %v)", ErrControl, methods)
	}
	if err != nil {
		return fmt.Errorf("authenticate: %w", err)
	}
	return nil
}

func readCookie(path string) ([]byte, error) {
	cookie, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read tor cookie: %w", err)
	}
	if len(cookie) != 32 {
		return nil, fmt.Errorf("%w: cookie %s has %d bytes, want 32", ErrControl, path, len(cookie))
	}
	return cookie, nil
}

// safeCookie proves knowledge of the cookie without sending it, and checks
// that Tor knows it too (control-spec section 3.24).
func (c *control) safeCookie(path string) error {
	cookie, err := readCookie(path)
	if err != nil {
		return err
	}
	clientNonce := make([]byte, 32)
	rand.Read(clientNonce)
	lines, err := c.cmd("AUTHCHALLENGE SAFECOOKIE " + hex.EncodeToString(clientNonce))
	if err != nil {
		return err
	}
	var serverHash, serverNonce []byte
	for _, f := range strings.Fields(strings.Join(lines, " ")) {
		if v, ok := strings.CutPrefix(f, "SERVERHASH="); ok {
			serverHash, _ = hex.DecodeString(v)
		}
		if v, ok := strings.CutPrefix(f, "SERVERNONCE="); ok {
			serverNonce, _ = hex.DecodeString(v)
		}
	}
	mac := func(key string) []byte {
		m := hmac.New(sha256.New, []byte(key))
		m.Write(cookie)
		m.Write(clientNonce)
		m.Write(serverNonce)
		return m.Sum(nil)
	}
	if len(serverNonce) != 32 || !hmac.Equal(serverHash, mac("Tor safe cookie authentication server-to-controller hash")) {
		return fmt.Errorf("%w: Tor's SERVERHASH does not match the cookie", ErrControl)
	}
	_, err = c.cmd("AUTHENTICATE " + hex.EncodeToString(mac("Tor safe cookie authentication controller-to-server hash")))
	return err
}

// addOnion publishes an onion service with the given ED25519-V3 key blob,
// forwarding virtual port port to target, for as long as the connection
// stays open. It returns the service id (the address without ".onion").
func (c *control) addOnion(keyBlob string, port int, target string) (string, error) {
	lines, err := c.cmd(fmt.Sprintf("ADD_ONION ED25519-V3:%s Flags=DiscardPK Port=%d,%s", keyBlob, port, target))
	if err != nil {
		return "", err
	}
	for _, l := range lines {
		if id, ok := strings.CutPrefix(l, "ServiceID="); ok {
			return id, nil
		}
	}
	return "", fmt.Errorf("%w: ADD_ONION answered no ServiceID", ErrControl)
}
