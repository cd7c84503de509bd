package chain

import (
	"context"
	"fmt"

	"github.com/ferry-relay/ferry"
)

// BlockReader serves raw blocks by hash. *Node implements it.
type BlockReader interface {
	RawBlock(ctx context.Context, hash ferry.Hash) ([]byte, error)
}

var _ BlockReader = (*Node)(nil)

// FetchBlock asks node for the block with hash and decodes it. A block
// that does not decode, or whose hash is not the one asked for, is an
// error: the node is not to be trusted with it. The node's own errors are
// returned as they come.
func (c *Coin) FetchBlock(ctx context.Context, node BlockReader, hash ferry.Hash) (*Block, error) {
	raw, err := node.RawBlock(ctx, hash)
	if err != nil {
		return nil, err
	}
	blk, err := c.DecodeBlock(raw)
	if err != nil {
		return nil, fmt.Errorf("block %s: %w", hash, err)
	}
	if blk.Hash() != hash {
		return nil, fmt.Errorf("node sent block %s for %s", blk.Hash(), hash)
	}
	return blk, nil
}
