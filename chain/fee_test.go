package chain_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/ferry-relay/ferry/chain"
)

// feeNode is a node's fee answers: a rate, or an error.
type feeNode struct {
	estimate, min       int64
	estimateErr, minErr error
	target              int // the target asked for
}

func (n *feeNode) EstimateFeeRate(_ context.Context, target int) (int64, error) {
	n.target = target
	return n.estimate, n.estimateErr
}

func (n *feeNode) MinFeeRate(context.Context) (int64, error) { return n.min, n.minErr }

// TestFeeRate prices at the node's estimate, or the fallback without one,
// never below the mempool's floor (1000 when the node cannot tell it), and
// passes the node's other failures on.
func TestFeeRate(t *testing.T) {
	noEstimate := fmt.Errorf("estimatesmartfee: %w", chain.ErrNoEstimate)
	noMethod := fmt.Errorf("getmempoolinfo: %w", chain.ErrMethodNotFound)
	down := fmt.Errorf("getmempoolinfo: %w", chain.ErrNodeUnreachable)
	tests := []struct {
		name     string
		node     feeNode
		fallback int64
		want     int64
		err      error
	}{
		{name: "estimate", node: feeNode{estimate: 5000, min: 1000}, fallback: 20000, want: 5000},
		{name: "no estimate", node: feeNode{estimateErr: noEstimate, min: 1000}, fallback: 20000, want: 20000},
		{name: "estimate below floor", node: feeNode{estimate: 500, min: 2000}, want: 2000},
		{name: "fallback below floor", node: feeNode{estimateErr: noEstimate, min: 3000}, fallback: 1500, want: 3000},
		{name: "no floor call", node: feeNode{estimate: 500, minErr: noMethod}, want: 1000},
		{name: "nothing known", node: feeNode{estimateErr: noEstimate, minErr: noMethod}, want: 1000},
		{name: "estimate fails", node: feeNode{estimateErr: down, min: 1000}, fallback: 20000, err: chain.ErrNodeUnreachable},
		{name: "floor fails", node: feeNode{estimate: 5000, minErr: down}, err: chain.ErrNodeUnreachable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := chain.FeeRate(context.Background(), &tt.node, 6, tt.fallback)
			if !errors.Is(err, tt.err) || tt.err == nil && err != nil {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("rate %d, want %d", got, tt.want)
			}
			if tt.node.target != 6 {
				t.Errorf("target asked %d, want 6", tt.node.target)
			}
		})
	}
}
