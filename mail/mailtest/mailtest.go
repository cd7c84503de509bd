// Package mailtest runs a real SMTP server (aiosmtpd on /usr/bin/python3)
// for tests of code that sends mail, and reads what it received.
package mailtest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	_ "embed"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-relay/ferry/chain/regtest"
)

//go:embed smtpd.py
var script []byte

// python is the interpreter the test SMTP server runs on.
const python = "/usr/bin/python3"

// startTimeout bounds the start and the stop of a test server.
const startTimeout = 30 * time.Second

// Require skips the test when python3 or aiosmtpd is missing, or
// fails it if regtest.RequireEnv is set.
func Require(t testing.TB) {
	t.Helper()
	err := exec.Command(python, "-c", "import aiosmtpd").Run()
	if err == nil {
		return
	}
	if os.Getenv(regtest.RequireEnv) != "" {
		t.Fatalf("the test SMTP server needs %s with aiosmtpd (Debian: python3-aiosmtpd): %v", python, err)
	}
	t.Skipf("the test SMTP server needs %s with aiosmtpd (Debian: python3-aiosmtpd): %v", python, err)
}

// Options configures a test server (smtpd.py).
type Options struct {
	Port       int    // 0: any free port
	Dir        string // "": a new temporary directory
	STARTTLS   bool   // offer STARTTLS and require it
	SMTPS      bool   // TLS from the first byte
	User, Pass string // require AUTH with these
	Reject     []string
	Cert       *Cert // for STARTTLS or SMTPS
}

// Server is a running test server: Port is where it listens, Dir where
// it saves what it accepts (read it with Received).
type Server struct {
	Port int
	Dir  string
	cmd  *exec.Cmd
	done chan struct{}
	stop func()
}

// Start starts smtpd.py on 127.0.0.1 and stops it at
// cleanup (or earlier with Stop). The server dies with the test process.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	Require(t)
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	path := filepath.Join(t.TempDir(), "smtpd.py")
	if err := os.WriteFile(path, script, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{path, "--dir", o.Dir, "--port", strconv.Itoa(o.Port)}
	if o.STARTTLS || o.SMTPS {
		if o.Cert == nil {
			o.Cert = NewCert(t)
		}
		args = append(args, "--cert", o.Cert.CertFile, "--key", o.Cert.KeyFile)
	}
	if o.STARTTLS {
		args = append(args, "--starttls")
	}
	if o.SMTPS {
		args = append(args, "--smtps")
	}
	if o.User != "" {
		args = append(args, "--user", o.User, "--password", o.Pass)
	}
	for _, r := range o.Reject {
		args = append(args, "--reject", r)
	}
	cmd := exec.Command(python, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	logf, err := os.Create(filepath.Join(t.TempDir(), "smtpd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logf
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &Server{Dir: o.Dir, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); logf.Close(); close(s.done) }()
	s.stop = func() {
		stdin.Close() // the server stops at the end of its input
		select {
		case <-s.done:
		case <-time.After(startTimeout):
			cmd.Process.Kill()
			<-s.done
		}
	}
	t.Cleanup(s.Stop)

	// The server prints its port once it listens.
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line
	}()
	select {
	case line := <-ready:
		port, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "READY ")))
		if err != nil {
			s.Stop()
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("smtpd did not start: %q\n%s", line, log)
		}
		s.Port = port
	case <-time.After(startTimeout):
		s.Stop()
		t.Fatalf("smtpd did not start within %v", startTimeout)
	}
	return s
}

// Stop stops the server; it is idempotent.
func (s *Server) Stop() {
	if s.stop != nil {
		s.stop()
		s.stop = nil
	}
}

// Addr is the server's address.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// Message is one message as the server saved it: its envelope, its raw
// data, and whether it came over TLS and after AUTH.
type Message struct {
	MailFrom      string   `json:"mail_from"`
	RcptTos       []string `json:"rcpt_tos"`
	Data          []byte   `json:"data"`
	TLS           bool     `json:"tls"`
	Authenticated bool     `json:"authenticated"`
}

// Received returns the messages saved in dir, by file name.
func Received(t testing.TB, dir string) []Message {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "msg-*.json"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	var out []Message
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		var r Message
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		out = append(out, r)
	}
	return out
}

// FreePort returns a port nothing listens on, for a server that is down
// at first.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := regtest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// Cert is a self-signed certificate for 127.0.0.1 and localhost.
type Cert struct {
	CertFile, KeyFile string
	Pool              *x509.CertPool
}

// NewCert makes a Cert in a temporary directory; Pool trusts it.
func NewCert(t testing.TB) *Cert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "ferry test smtpd"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c := &Cert{CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem"), Pool: x509.NewCertPool()}
	c.Pool.AddCert(cert)
	if err := os.WriteFile(c.CertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.KeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}
