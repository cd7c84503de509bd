package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// adminSocket is the path of the operator's API socket in a data
// directory.
func adminSocket(dataDir string) string { return filepath.Join(dataDir, "admin.sock") }

// listenAdmin listens on the data directory's admin socket, readable and
// writable by its owner only (the directory is 0700 too). A socket file
// left by a process that died is replaced: the store's lock has already
// shown that no other ferry runs on this directory.
func listenAdmin(dataDir string) (net.Listener, error) {
	path := adminSocket(dataDir)
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	return ln, nil
}
