package rig

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ferry-relay/ferry/chain/regtest"
)

// Env is what every benchmark program runs in: a scratch directory, the
// ferry binary and a regtest litecoind whose data is in Dir/node.
type Env struct {
	// Dir is the scratch directory, removed by Close.
	Dir string
	// Ferry is the binary: the one asked for, or one built into Dir.
	Ferry string
	// Node is the running litecoind, stopped by Close.
	Node *regtest.Litecoind
}

// Setup makes a scratch directory for the program named name, builds
// ferry into it unless bin names a binary already, and starts litecoind.
// The caller closes the Env.
func Setup(ctx context.Context, name, bin string) (*Env, error) {
	dir, err := os.MkdirTemp("", "ferry-"+name+"-")
	if err != nil {
		return nil, err
	}
	e := &Env{Dir: dir, Ferry: bin}
	if e.Ferry == "" {
		if e.Ferry, err = BuildFerry(dir); err != nil {
			e.Close()
			return nil, err
		}
	}
	node := filepath.Join(dir, "node")
	if err := os.Mkdir(node, 0o700); err != nil {
		e.Close()
		return nil, err
	}
	if e.Node, err = regtest.StartLitecoind(ctx, node); err != nil {
		e.Close()
		return nil, fmt.Errorf("start litecoind: %w", err)
	}
	return e, nil
}

// Close stops the node and removes the scratch directory.
func (e *Env) Close() {
	if e.Node != nil {
		e.Node.Stop()
	}
	os.RemoveAll(e.Dir)
}

// NewAddresses returns n new addresses of the node's wallet.
func (e *Env) NewAddresses(ctx context.Context, n int) ([]string, error) {
	out := make([]string, n)
	for i := range out {
		a, err := e.Node.NewAddress(ctx)
		if err != nil {
			return nil, err
		}
		out[i] = a
	}
	return out, nil
}

// FerryArgs returns the flags of a regtest ferry on the node, with its
// store in data, its fees to feeAddress and no rate limit, then extra.
func (e *Env) FerryArgs(data, feeAddress string, extra ...string) []string {
	return append([]string{"--data-dir", data, "--network", "regtest", "--ltc-rpc", e.Node.RPCURL,
		"--ltc-fee-address", feeAddress, "--rate-limit", "0"}, extra...)
}
