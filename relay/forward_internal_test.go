package relay

import (
	"testing"

	"github.com/ferry-relay/ferry/chain"
)

// TestAlreadyKnown reads the nodes' own answers to a transaction they
// already have (taken from litecoind 0.21 and btcd 0.24) as acceptance, and
// real rejections as rejections.
func TestAlreadyKnown(t *testing.T) {
	tests := []struct {
		code  int
		msg   string
		known bool
	}{
		{-27, "Transaction already in block chain", true},                                                    // litecoind, bitcoind
		{-26, "txn-already-in-mempool", true},                                                                // bitcoind
		{-26, "TX rejected: already have transaction in mempool 813e5fb7df5770ef796286af43166f77a31b", true}, // btcd
		{-27, "TX rejected: transaction already exists in blockchain", true},                                 // btcd
		{-26, "bad-txns-premature-spend-of-pegout, tried to spend pegout output at depth 1", false},
		{-26, "min relay fee not met, 100 < 141", false},
		{-25, "bad-txns-inputs-missingorspent", false},
		{-26, "txn-mempool-conflict", false},
	}
	for _, tt := range tests {
		if got := alreadyKnown(&chain.RPCError{Code: tt.code, Message: tt.msg}); got != tt.known {
			t.Errorf("alreadyKnown(%d %q) = %v", tt.code, tt.msg, got)
		}
	}
}
