package chain

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
)

// Hash is a block or transaction hash in internal byte order, the order in
// which it appears in serialized blocks. Its String form is the reversed hex
// that nodes and block explorers show.
type Hash [32]byte

// ErrBadHash reports a hash string that is not 64 hex digits.
var ErrBadHash = errors.New("bad hash")

// ParseHash parses the reversed-hex form of a hash, as nodes print it.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 64 {
		return h, fmt.Errorf("%w: %q", ErrBadHash, s)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return h, fmt.Errorf("%w: %q", ErrBadHash, s)
	}
	for i := range b {
		h[31-i] = b[i]
	}
	return h, nil
}

// String returns the reversed hex form of h.
func (h Hash) String() string {
	var r [32]byte
	for i := range h {
		r[31-i] = h[i]
	}
	return hex.EncodeToString(r[:])
}

// IsZero reports whether h is all zeroes.
func (h Hash) IsZero() bool { return h == Hash{} }

// OutPoint names one transaction output: a deposit, or what a forward spends.
type OutPoint struct {
	Hash  Hash
	Index uint32
}

// String returns "txid:vout".
func (o OutPoint) String() string {
	return o.Hash.String() + ":" + strconv.FormatUint(uint64(o.Index), 10)
}
