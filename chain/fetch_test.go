package chain_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
)

// blockNode serves one raw block for every hash, or an error.
type blockNode struct {
	raw []byte
	err error
}

func (n blockNode) RawBlock(context.Context, ferry.Hash) ([]byte, error) { return n.raw, n.err }

// TestFetchBlock decodes the block asked for, and refuses a block that
// does not decode or is not the one asked for.
func TestFetchBlock(t *testing.T) {
	ltc := mustCoin(t, chain.Litecoin, chain.Regtest)
	raw := readBlock(t, "ltc-regtest-432.hex")
	want, err := ferry.ParseHash("63dbe544f76a827823e9dfe7e7446819d35f5198e029eddaf0947e9e35cdb0a0")
	if err != nil {
		t.Fatal(err)
	}
	other := readBlock(t, "ltc-regtest-300.hex")
	tests := []struct {
		name string
		node blockNode
		err  string // "" for none
	}{
		{name: "the block", node: blockNode{raw: raw}},
		{name: "another block", node: blockNode{raw: other}, err: "node sent block "},
		{name: "damaged", node: blockNode{raw: raw[:len(raw)/2]}, err: "block " + want.String() + ": "},
		{name: "node fails", node: blockNode{err: chain.ErrNodeUnreachable}, err: chain.ErrNodeUnreachable.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			blk, err := ltc.FetchBlock(context.Background(), tt.node, want)
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if blk.Hash() != want {
					t.Fatalf("block %s, want %s", blk.Hash(), want)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
				t.Fatalf("error %v, want one starting %q", err, tt.err)
			}
			if tt.node.err != nil && !errors.Is(err, tt.node.err) {
				t.Errorf("error %v does not wrap %v", err, tt.node.err)
			}
		})
	}
}
