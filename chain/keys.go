package chain

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/hdkeychain"
	"github.com/btcsuite/btcd/chaincfg"
)

// SeedLen is the length in bytes of the seeds ferry creates (256 bits).
const SeedLen = 32

// ErrSkipIndex reports a derivation index whose key BIP32 declares invalid
// (a chance below 1 in 2^127); the caller moves on to the next index.
var ErrSkipIndex = errors.New("invalid key at this index")

// Keychain derives one coin's input keys from the operator's seed, on the
// BIP84-style path m/84'/coinType'/0'/0/index. It is safe for concurrent use.
type Keychain struct {
	coinType uint32
	external *hdkeychain.ExtendedKey // m/84'/coinType'/0'/0
	// The parts of external that public derivation reads: its chain code,
	// private key and compressed public key.
	chainCode []byte
	priv      btcec.ModNScalar
	pub       [33]byte
}

// NewKeychain returns the keychain of the coin with BIP44 coin type coinType
// (see Coin.CoinType) for a seed of 16 to 64 bytes.
func NewKeychain(seed []byte, coinType uint32) (*Keychain, error) {
	// The version bytes of the master key only matter for serialization,
	// which ferry never does; derivation is the same for every coin.
	master, err := hdkeychain.NewMaster(seed, &chaincfg.MainNetParams)
	if err != nil {
		return nil, fmt.Errorf("keychain: %w", err)
	}
	k := master
	for _, i := range []uint32{
		hdkeychain.HardenedKeyStart + 84,
		hdkeychain.HardenedKeyStart + coinType,
		hdkeychain.HardenedKeyStart + 0,
		0,
	} {
		if k, err = k.Derive(i); err != nil {
			return nil, fmt.Errorf("keychain: %w", err)
		}
	}
	// Memoize the public key the children are derived from.
	pub, err := k.ECPubKey()
	if err != nil {
		return nil, fmt.Errorf("keychain: %w", err)
	}
	priv, err := k.ECPrivKey()
	if err != nil {
		return nil, fmt.Errorf("keychain: %w", err)
	}
	kc := &Keychain{coinType: coinType, external: k, chainCode: k.ChainCode(), priv: priv.Key}
	copy(kc.pub[:], pub.SerializeCompressed())
	return kc, nil
}

// Path returns the derivation path of the key at index, for operators.
func (k *Keychain) Path(index uint32) string {
	return fmt.Sprintf("m/84'/%d'/0'/0/%d", k.coinType, index)
}

// Program returns the 20-byte witness program (hash160 of the compressed
// public key) of the input address at index. It wraps ErrSkipIndex for the
// rare index that has no key.
func (k *Keychain) Program(index uint32) ([20]byte, error) {
	progs, errs := k.Programs(index, 1)
	return progs[0], errs[0]
}

// Programs returns the witness programs of the n input addresses from
// index first on, with an error for each (nil, or one wrapping ErrSkipIndex
// for an index that has no key). They are derived together: the child
// keys as BIP32 has it (hdkeychain's Derive), their public points brought
// to affine coordinates with one field inversion for all of them
// (Montgomery's trick) rather than one each, and without parsing back the
// serialized key, which cost a square root.
func (k *Keychain) Programs(first uint32, n int) ([][20]byte, []error) {
	progs := make([][20]byte, n)
	errs := make([]error, n)
	points := make([]btcec.JacobianPoint, n)
	ok := make([]bool, n)

	// The child private keys, parse256(IL) + k, and their points.
	mac := hmac.New(sha512.New, k.chainCode)
	var data [37]byte
	copy(data[:33], k.pub[:])
	var sum [sha512.Size]byte
	for i := range n {
		index := first + uint32(i)
		if index >= hdkeychain.HardenedKeyStart || index < first {
			errs[i] = fmt.Errorf("derive %d: index out of range", index)
			continue
		}
		binary.BigEndian.PutUint32(data[33:], index)
		mac.Reset()
		mac.Write(data[:])
		il := mac.Sum(sum[:0])[:32]
		var child btcec.ModNScalar
		if overflow := child.SetByteSlice(il); overflow {
			errs[i] = fmt.Errorf("derive %d: %w", index, ErrSkipIndex)
			continue
		}
		child.Add(&k.priv)
		if child.IsZero() {
			errs[i] = fmt.Errorf("derive %d: the child key is zero", index)
			continue
		}
		btcec.ScalarBaseMultNonConst(&child, &points[i])
		child.Zero()
		points[i].X.Normalize()
		points[i].Y.Normalize()
		points[i].Z.Normalize()
		ok[i] = true
	}

	// One inversion: prefix[i] is the product of the Z of the points
	// before i; inverting the product of all gives each Z's inverse on the
	// way back.
	prefix := make([]btcec.FieldVal, n)
	var acc btcec.FieldVal
	acc.SetInt(1)
	for i := range n {
		prefix[i].Set(&acc)
		if ok[i] {
			acc.Mul(&points[i].Z).Normalize()
		}
	}
	inv := acc.Inverse()
	inv.Normalize()
	var pubKey [33]byte
	for i := n - 1; i >= 0; i-- {
		if !ok[i] {
			continue
		}
		var zInv, zInv2 btcec.FieldVal
		zInv.Mul2(inv, &prefix[i]).Normalize() // 1/Z[i]
		inv.Mul(&points[i].Z).Normalize()      // 1/(Z[0]…Z[i-1])
		zInv2.SquareVal(&zInv).Normalize()
		x, y := points[i].X, points[i].Y
		x.Mul(&zInv2).Normalize()
		y.Mul(zInv2.Mul(&zInv)).Normalize()
		pubKey[0] = 0x02
		if y.IsOdd() {
			pubKey[0] = 0x03
		}
		x.PutBytesUnchecked(pubKey[1:])
		copy(progs[i][:], btcutil.Hash160(pubKey[:]))
	}
	return progs, errs
}

// programSlow derives the witness program at index with hdkeychain alone:
// the reference Programs is checked against.
func (k *Keychain) programSlow(index uint32) ([20]byte, error) {
	var p [20]byte
	child, err := k.child(index)
	if err != nil {
		return p, err
	}
	pub, err := child.ECPubKey()
	if err != nil {
		return p, fmt.Errorf("derive %d: %w", index, err)
	}
	copy(p[:], btcutil.Hash160(pub.SerializeCompressed()))
	return p, nil
}

// privateKey returns the 32-byte private key at index. The caller clears it
// after use.
func (k *Keychain) privateKey(index uint32) ([]byte, error) {
	child, err := k.child(index)
	if err != nil {
		return nil, err
	}
	priv, err := child.ECPrivKey()
	if err != nil {
		return nil, fmt.Errorf("derive %d: %w", index, err)
	}
	return priv.Serialize(), nil
}

func (k *Keychain) child(index uint32) (*hdkeychain.ExtendedKey, error) {
	if index >= hdkeychain.HardenedKeyStart {
		return nil, fmt.Errorf("derive %d: index out of range", index)
	}
	child, err := k.external.Derive(index)
	if errors.Is(err, hdkeychain.ErrInvalidChild) {
		return nil, fmt.Errorf("derive %d: %w", index, ErrSkipIndex)
	}
	if err != nil {
		return nil, fmt.Errorf("derive %d: %w", index, err)
	}
	return child, nil
}

// SeedFingerprint returns a public identifier of a seed: the hash160 of its
// BIP32 master public key (whose first four bytes are BIP32's fingerprint).
// The store keeps it to catch a seed file swapped under an existing data
// directory; it reveals nothing of the seed.
func SeedFingerprint(seed []byte) ([]byte, error) {
	master, err := hdkeychain.NewMaster(seed, &chaincfg.MainNetParams)
	if err != nil {
		return nil, fmt.Errorf("fingerprint: %w", err)
	}
	pub, err := master.ECPubKey()
	if err != nil {
		return nil, fmt.Errorf("fingerprint: %w", err)
	}
	return btcutil.Hash160(pub.SerializeCompressed()), nil
}
