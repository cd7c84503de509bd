package browsertest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// DecodeQR returns the texts of the QR codes that zbarimg finds in a PNG,
// one for each code, in zbarimg's order; none is an empty slice. It runs
// zbarimg --raw -q with only its QR decoder enabled, so a text is the
// code's bytes as they are, and one that holds a newline comes back as
// several texts. Without zbarimg the test is skipped, or fails if
// regtest.RequireEnv is set.
func DecodeQR(tb testing.TB, png []byte) []string {
	tb.Helper()
	zbarimg := lookPath(tb, "zbarimg")
	f, err := os.CreateTemp(tb.TempDir(), "qr-*.png")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := f.Write(png); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, zbarimg, "--raw", "-q", "--nodbus", "-Sdisable", "-Sqrcode.enable", f.Name())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 4 { // no code found
		return []string{}
	}
	if err != nil {
		tb.Fatalf("browsertest: zbarimg: %v: %s", err, stderr.Bytes())
	}
	texts := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(out) == 0 {
		texts = []string{}
	}
	return texts
}

// SavePNG writes png to path, creating its directory, for the screenshots
// of docs/. A relative path is relative to the test's package directory.
func SavePNG(tb testing.TB, path string, png []byte) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tb.Fatal(err)
	}
}
