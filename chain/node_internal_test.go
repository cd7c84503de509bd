package chain

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func TestHexResult(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // hex, or "" for false
	}{
		{"litecoind", `{"result":"00ff10","error":null,"id":7}` + "\n", "00ff10"},
		{"upper case", `{"result":"00FF10","error":null,"id":7}`, "00ff10"},
		{"empty", `{"result":"","error":null,"id":7}`, ""},
		{"error", `{"result":"00","error":{"code":-5,"message":"Block not found"},"id":7}`, ""},
		{"escaped", `{"result":"00\"ff","error":null,"id":7}`, ""},
		{"odd", `{"result":"0ff","error":null,"id":7}`, ""},
		{"not hex", `{"result":"zz","error":null,"id":7}`, ""},
		{"result later", `{"error":null,"result":"00"}`, ""},
		{"number", `{"result":12,"error":null}`, ""},
		{"twice", `{"result":"00","result":"ff","error":null}`, ""},
		{"twice in capitals", `{"result":"00","RESULT":"ff","error":null}`, ""},
		{"unterminated", `{"result":"00ff`, ""},
		{"broken tail", `{"result":"00ff",`, ""},
	}
	for _, tt := range tests {
		got, ok := hexResult([]byte(tt.in))
		if tt.want == "" {
			if ok && len(got) > 0 {
				t.Errorf("%s: %x, want the general decoder", tt.name, got)
			}
			continue
		}
		if !ok || hex.EncodeToString(got) != tt.want {
			t.Errorf("%s: %x %v, want %s", tt.name, got, ok, tt.want)
		}
	}
}

// FuzzHexResult checks that the quick reading of a hex answer, when it
// reads one, agrees with the JSON decoder's.
func FuzzHexResult(f *testing.F) {
	f.Add([]byte(`{"result":"00ff10","error":null,"id":7}`))
	f.Add([]byte(`{"result":"00","error":{"code":-5,"message":"x"},"id":7}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := hexResult(data)
		if !ok {
			return
		}
		var s string
		if err := decodeResult("getblock", data, 200, &s); err != nil {
			t.Fatalf("quick reading %x, the decoder: %v", got, err)
		}
		want, err := hex.DecodeString(s)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("quick reading %x, the decoder %x (%v)", got, want, err)
		}
	})
}

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
		if got := (&RPCError{Code: tt.code, Message: tt.msg}).AlreadyKnown(); got != tt.known {
			t.Errorf("AlreadyKnown(%d %q) = %v", tt.code, tt.msg, got)
		}
	}
}
