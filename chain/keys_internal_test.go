package chain

import (
	"crypto/sha256"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/hdkeychain"
)

// TestProgramsMatchHDKeychain checks the batched derivation against
// hdkeychain's, and against the public key of the private key that signs
// for each index, over several seeds, batch sizes and a batch across the
// end of the non-hardened range (whose last indexes fail alone). (An index
// whose IL overflows, which Programs skips as hdkeychain does, has a
// chance of 1 in 2^127: none is known to test with.)
func TestProgramsMatchHDKeychain(t *testing.T) {
	for s := range 3 {
		seed := sha256.Sum256([]byte{byte(s)})
		k, err := NewKeychain(seed[:], uint32(s))
		if err != nil {
			t.Fatal(err)
		}
		batches := []struct {
			first uint32
			n     int
		}{{0, 1}, {1, 7}, {8, 256}, {1_000_003, 33}, {hdkeychain.HardenedKeyStart - 3, 5}}
		for _, b := range batches {
			progs, errs := k.Programs(b.first, b.n)
			for i := range b.n {
				index := b.first + uint32(i)
				want, wantErr := k.programSlow(index)
				if (errs[i] == nil) != (wantErr == nil) || errs[i] == nil && progs[i] != want {
					t.Fatalf("seed %d index %d: %x, %v; hdkeychain %x, %v", s, index, progs[i], errs[i], want, wantErr)
				}
				if errs[i] != nil {
					if index < hdkeychain.HardenedKeyStart {
						t.Fatalf("seed %d index %d: %v", s, index, errs[i])
					}
					continue
				}
				if i%17 == 0 {
					key, err := k.privateKey(index)
					if err != nil {
						t.Fatal(err)
					}
					_, pub := btcec.PrivKeyFromBytes(key)
					if [20]byte(btcutil.Hash160(pub.SerializeCompressed())) != progs[i] {
						t.Fatalf("seed %d index %d: the signing key is not the program's", s, index)
					}
				}
			}
		}
	}
}

// BenchmarkPrograms derives input keys' witness programs: with hdkeychain
// alone, one at a time, and 64 at a time; ns/key compares them.
func BenchmarkPrograms(b *testing.B) {
	seed := sha256.Sum256([]byte("bench"))
	k, _ := NewKeychain(seed[:], 2)
	for _, c := range []struct {
		name  string
		batch int
		run   func(i int)
	}{
		{"hdkeychain", 1, func(i int) { k.programSlow(uint32(i)) }},
		{"one", 1, func(i int) { k.Program(uint32(i)) }},
		{"batch=64", 64, func(i int) { k.Programs(uint32(i*64), 64) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			for i := range b.N {
				c.run(i)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*c.batch), "ns/key")
		})
	}
}
