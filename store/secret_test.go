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
