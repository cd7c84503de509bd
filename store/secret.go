package store

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// LoadSecret reads the hex secret in path, or creates one of n random bytes
// there, mode 0600, if the file does not exist. It refuses a file that
// group or others may read or write, and one that is not hex of 16 to 64
// bytes. created reports whether this call made the file. The secret never
// appears in an error.
//
// ferry keeps its HD seed and its callback signing key this way.
func LoadSecret(path string, n int) (secret []byte, created bool, err error) {
	secret, err = readSecret(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return secret, false, err
	}
	secret = make([]byte, n)
	if _, err := rand.Read(secret); err != nil {
		return nil, false, fmt.Errorf("secret: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("create %s: %w", path, err)
	}
	_, err = f.WriteString(hex.EncodeToString(secret) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		os.Remove(path)
		return nil, false, fmt.Errorf("write %s: %w", path, err)
	}
	return secret, true, nil
}

func readSecret(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s has mode %v: make it readable by its owner only (chmod 600)", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	s, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(s) < 16 || len(s) > 64 {
		return nil, fmt.Errorf("%s: want 16 to 64 bytes in hex", path)
	}
	return s, nil
}

// PrivateDir makes sure the directory at path exists and only its owner
// may enter it: it creates it mode 0700, or takes group and others' access
// away from one that exists (a data directory made 0755 by hand or by a
// container's volume), reporting that it did. ferry's data directory holds
// the seed, the callback key and a store with vendors' webhook secrets in
// it, which goleveldb writes 0644. It refuses a path that is not a
// directory, or whose mode it may not change (not its owner's).
func PrivateDir(path string) (tightened bool, err error) {
	if err := os.MkdirAll(path, 0o700); err != nil {
		return false, fmt.Errorf("data dir: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return false, fmt.Errorf("data dir: %w", err)
	}
	if !fi.IsDir() {
		return false, fmt.Errorf("data dir %s: not a directory", path)
	}
	if fi.Mode().Perm()&0o077 == 0 {
		return false, nil
	}
	if err := os.Chmod(path, fi.Mode().Perm()&0o700); err != nil {
		return false, fmt.Errorf("%s has mode %v and cannot be made private: make it accessible to its owner only (chmod 700): %w", path, fi.Mode().Perm(), err)
	}
	return true, nil
}

// syncDir makes a new directory entry durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
