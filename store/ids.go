package store

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"regexp"
)

// Invoice ids are public: an invoice's page, its status, and the public
// calls of the dialects that have one (Fluxcord's payment, Payscrypt's
// public order) answer anyone who has the id. So every id ferry makes for
// an invoice carries at least 96 random bits, from crypto/rand, and is made
// here, and only here.

// IDRandomChars is how many characters of NewInvoiceID's id follow its
// prefix: 24 of base32, 120 random bits.
const IDRandomChars = 24

// idEncoding writes ids: upper-case base32 (A–Z, 2–7), as vendor ids are
// written, without padding.
var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewInvoiceID returns prefix ("LTPP-", or "") and 120 random bits in 24
// characters of upper-case base32: "LTPP-4KX2M7QZ…".
func NewInvoiceID(prefix string) string {
	var b [IDRandomChars * 5 / 8]byte
	rand.Read(b[:]) // never fails (crypto/rand: it crashes the program first)
	return prefix + idEncoding.EncodeToString(b[:])
}

// NewUUID returns a random (version 4) UUID, 122 random bits, in lower case:
// the ids of the dialects whose ids are UUIDs (Fluxcord's payments, the
// Open API's payment_id).
func NewUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// randomPart matches the random part of a NewInvoiceID.
var randomPart = regexp.MustCompile(`^[A-Z2-7]{24}$`)

// IsNewInvoiceID reports whether id is prefix and a NewInvoiceID's random
// part: an id ferry made, not one a store written before held (a prefix
// and a number: "LTPP-7", "7").
func IsNewInvoiceID(id, prefix string) bool {
	return len(id) == len(prefix)+IDRandomChars && id[:len(prefix)] == prefix && randomPart.MatchString(id[len(prefix):])
}

// IDs says how PutInvoice names a new invoice.
type IDs struct {
	// Prefix starts the id PutInvoice makes for an invoice without one
	// (NewInvoiceID): "LTPP-".
	Prefix string
	// NumberPrefix, if set, gives an invoice without a Number the next of
	// its vendor's numbers in its dialect with that prefix: NumberPrefix
	// and 1, 2, … ("LTC1"). It is a display number for the vendor's
	// authenticated calls, never a public id. In a store whose invoices
	// were numbered by one global counter before, a vendor's numbers
	// start after that counter, so that they never name an old invoice.
	NumberPrefix string
}
