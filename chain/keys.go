package chain

import (
	"errors"
	"fmt"

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
	if _, err := k.ECPubKey(); err != nil {
		return nil, fmt.Errorf("keychain: %w", err)
	}
	return &Keychain{coinType: coinType, external: k}, nil
}

// Path returns the derivation path of the key at index, for operators.
func (k *Keychain) Path(index uint32) string {
	return fmt.Sprintf("m/84'/%d'/0'/0/%d", k.coinType, index)
}

// Program returns the 20-byte witness program (hash160 of the compressed
// public key) of the input address at index. It wraps ErrSkipIndex for the
// rare index that has no key.
func (k *Keychain) Program(index uint32) ([20]byte, error) {
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
