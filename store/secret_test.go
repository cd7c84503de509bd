package store_test

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-relay/ferry/store"
)

func TestLoadSecret(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "seed")
	secret, created, err := store.LoadSecret(path, 32)
	if err != nil || !created || len(secret) != 32 {
		t.Fatalf("LoadSecret = %x, %v, %v", secret, created, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	again, created, err := store.LoadSecret(path, 32)
	if err != nil || created || hex.EncodeToString(again) != hex.EncodeToString(secret) {
		t.Fatalf("second LoadSecret = %x, %v, %v; want the same secret", again, created, err)
	}

	// A secret others can read is refused, without the secret in the error.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = store.LoadSecret(path, 32)
	if err == nil || strings.Contains(err.Error(), hex.EncodeToString(secret)) {
		t.Fatalf("LoadSecret of a 0644 file: %v", err)
	}

	// A damaged one is refused.
	for _, content := range []string{"zz\n", "00\n", strings.Repeat("ab", 65)} {
		bad := filepath.Join(dir, "bad")
		os.WriteFile(bad, []byte(content), 0o600)
		if _, _, err := store.LoadSecret(bad, 32); err == nil {
			t.Errorf("LoadSecret of %q succeeded", content)
		}
		os.Remove(bad)
	}
}

// TestPrivateDir: a data directory is made accessible to its owner only,
// whether it is new or was left open to others, and so is the store's
// directory in it, which goleveldb would create 0755.
func TestPrivateDir(t *testing.T) {
	base := t.TempDir()
	mode := func(path string) os.FileMode {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	tests := []struct {
		name      string
		prepare   func(path string)
		tightened bool
	}{
		{"new", func(string) {}, false},
		{"private", func(p string) { os.Mkdir(p, 0o700) }, false},
		{"open to all", func(p string) { os.Mkdir(p, 0o755); os.Chmod(p, 0o755) }, true},
		{"group writable", func(p string) { os.Mkdir(p, 0o770); os.Chmod(p, 0o770) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(base, strings.ReplaceAll(tt.name, " ", "-"), "data")
			os.MkdirAll(filepath.Dir(path), 0o700)
			tt.prepare(path)
			tightened, err := store.PrivateDir(path)
			if err != nil || tightened != tt.tightened || mode(path) != 0o700 {
				t.Errorf("PrivateDir = %v, %v; mode %v", tightened, err, mode(path))
			}
		})
	}
	file := filepath.Join(base, "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := store.PrivateDir(file); err == nil {
		t.Error("a file was taken for a data directory")
	}

	// Open makes an open data directory private, and the store's own.
	dir := filepath.Join(base, "open")
	os.Mkdir(dir, 0o755)
	os.Chmod(dir, 0o755)
	db, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if mode(dir) != 0o700 || mode(filepath.Join(dir, "db")) != 0o700 {
		t.Errorf("after Open: data dir %v, store dir %v", mode(dir), mode(filepath.Join(dir, "db")))
	}
}
