package chain_test

import (
	"encoding/hex"
	"testing"

	"github.com/ferry-relay/ferry/chain"
)

// bip39Abandon is the BIP39 seed of "abandon abandon … about" (no
// passphrase), the seed of BIP84's test vectors.
const bip39Abandon = "5eb00bbddcf069084889a8ab9155568165f5c453ccb85e70811aaed6f6da5fc19a5ac40b389cd370d086206dec8aa6c43daea6690f20ad3d8d48b2d2ce9e38e4"

func TestKeychainVectors(t *testing.T) {
	seed, _ := hex.DecodeString(bip39Abandon)
	tests := []struct {
		coin  func(chain.Network) (*chain.Coin, error)
		net   chain.Network
		index uint32
		path  string
		want  string
	}{
		// BIP84's own vectors.
		{chain.Bitcoin, chain.Mainnet, 0, "m/84'/0'/0'/0/0", "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"},
		{chain.Bitcoin, chain.Mainnet, 1, "m/84'/0'/0'/0/1", "bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g"},
		// BIP84's testnet vector m/84'/1'/0'/0/0 is tb1q6rz28mcfaxtmd6v789l9rrlrusdprr9pqcpvkl:
		// the same program with the regtest prefix.
		{chain.Bitcoin, chain.Regtest, 0, "m/84'/1'/0'/0/0", "bcrt1q6rz28mcfaxtmd6v789l9rrlrusdprr9pz3cppk"},
		// Litecoin, as litecoind 0.21's deriveaddresses computes
		// wpkh(tprv…/84'/2'/0'/0/*) for the same seed.
		{chain.Litecoin, chain.Regtest, 0, "m/84'/2'/0'/0/0", "rltc1qjmxnz78nmc8nq77wuxh25n2es7rzm5c23g5xdr"},
		{chain.Litecoin, chain.Regtest, 1, "m/84'/2'/0'/0/1", "rltc1qwlezpr3890hcp6vva9twqh27mr6edadrt7wys8"},
		{chain.Litecoin, chain.Regtest, 2, "m/84'/2'/0'/0/2", "rltc1qc6aucuznvhh9uvux246x24vf9y9ncfk7cmekfy"},
		{chain.Litecoin, chain.Mainnet, 0, "m/84'/2'/0'/0/0", "ltc1qjmxnz78nmc8nq77wuxh25n2es7rzm5c2rkk4wh"},
	}
	for _, tt := range tests {
		c := mustCoin(t, tt.coin, tt.net)
		k, err := chain.NewKeychain(seed, c.CoinType())
		if err != nil {
			t.Fatal(err)
		}
		p, err := k.Program(tt.index)
		if err != nil {
			t.Fatal(err)
		}
		a, err := c.InputAddress(p)
		if err != nil {
			t.Fatal(err)
		}
		if a.Address != tt.want || k.Path(tt.index) != tt.path {
			t.Errorf("%s %s = %s, want %s %s", c, k.Path(tt.index), a.Address, tt.path, tt.want)
		}
	}
}

func TestSeedFingerprint(t *testing.T) {
	a, _ := hex.DecodeString(bip39Abandon)
	b := append([]byte(nil), a...)
	b[0] ^= 1
	fa, err := chain.SeedFingerprint(a)
	if err != nil {
		t.Fatal(err)
	}
	fb, _ := chain.SeedFingerprint(b)
	// BIP32 fingerprint of the abandon seed's master key is 73c5da0a.
	if hex.EncodeToString(fa[:4]) != "73c5da0a" || hex.EncodeToString(fa) == hex.EncodeToString(fb) {
		t.Errorf("fingerprints %x %x", fa, fb)
	}
}
