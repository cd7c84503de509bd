package ferry

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
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
		return h, fmt.Errorf("%w: %.80q", ErrBadHash, s)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return h, fmt.Errorf("%w: %.80q", ErrBadHash, s)
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

// OutPoint names one transaction output: a deposit, or what a forward
// spends.
type OutPoint struct {
	Hash  Hash
	Index uint32
}

// String returns "txid:vout": a deposit's id, as callbacks send it in
// deposit_id.
func (o OutPoint) String() string {
	return o.Hash.String() + ":" + strconv.FormatUint(uint64(o.Index), 10)
}

// ErrBadOutPoint reports a text that is not "<txid>:<vout>".
var ErrBadOutPoint = errors.New("bad outpoint: want <txid>:<vout>")

// ParseOutPoint parses "<txid>:<vout>", the form String gives.
func ParseOutPoint(s string) (OutPoint, error) {
	txid, vout, ok := strings.Cut(s, ":")
	if !ok || len(vout) == 0 || len(vout) > 10 || vout[0] == '+' {
		return OutPoint{}, fmt.Errorf("%w: %.80q", ErrBadOutPoint, s)
	}
	h, err := ParseHash(txid)
	if err != nil {
		return OutPoint{}, fmt.Errorf("%w: %.80q", ErrBadOutPoint, s)
	}
	n, err := strconv.ParseUint(vout, 10, 32)
	if err != nil {
		return OutPoint{}, fmt.Errorf("%w: %.80q", ErrBadOutPoint, s)
	}
	return OutPoint{Hash: h, Index: uint32(n)}, nil
}
