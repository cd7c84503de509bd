package store

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/util"
)

// Tables of the invoice engine. doc.go lays them out.
const (
	tVendor    = 'v'
	tVendorKey = 'V'
	tInvoice   = 'n'
	tInvNumber = 'N'
	tInvAddr   = 'A'
	tInvOpen   = 'O'
	tInvVendor = 'I'
	tInvRef    = 'G'
)

// ErrExists reports a record that is already there.
var ErrExists = errors.New("already exists")

// ErrTooManyOpen reports a new invoice refused because its vendor has as
// many unpaid open invoices as it may have.
var ErrTooManyOpen = errors.New("too many open invoices")

// Invoice is an amount a vendor asks of a customer: in fiat, quoted in
// each coin the vendor takes, or in a coin. Its payments are the deposits
// to its input addresses, one per coin.
type Invoice struct {
	ID     string
	Vendor string
	// Dialect is the API that created it ("litepay", "fluxcord",
	// "payscrypt"): each sees its own invoices, and announces their
	// changes in its own words.
	Dialect string
	// Number is the vendor's own number for it, if any: the same vendor,
	// dialect and number always name the same invoice.
	Number string
	// Amount is a decimal string in Currency: a fiat code ("USD") or a
	// coin's ticker ("LTC").
	Amount   string
	Currency string
	Email    string // the buyer's
	// CallbackURL is called (GET) when the invoice is paid or ends;
	// ReturnURL is where the buyer goes back to once paid.
	CallbackURL string
	ReturnURL   string
	Created     time.Time
	Expires     time.Time
	Coins       []InvoiceCoin
	Cancelled   bool
	// Status is the last status the engine recorded, and StatusChanged
	// when; Told is the last status the vendor was told of (its
	// notifications were queued before it was recorded).
	Status        ferry.InvoiceStatus
	StatusChanged time.Time
	Told          ferry.InvoiceStatus
	// WebhookURL receives the invoice's own webhooks (a Fluxcord
	// payment's webhookUrl); Description is the vendor's text.
	WebhookURL  string
	Description string
	// Changes counts the status changes recorded: the nth is announced
	// as event n.
	Changes int64
	// Hold keeps at its input address a payment the invoice does not
	// take (one that leaves it underpaid, or comes once it is paid,
	// expired or cancelled), for the vendor to accept or refund; without
	// it every payment is forwarded. Accepted and Refunded record the
	// vendor's decision.
	Hold, Accepted, Refunded bool
	// Fields are the dialect's own fields, kept as given and shown back
	// (Coinremitter's name and custom data, the Open API's pos_id).
	Fields map[string]string
	// PaymentsSeen and PaymentsCounted are how many payments were seen,
	// and how many counted, when its webhooks were last announced: a
	// dialect that tells of each payment is asked again when they change.
	PaymentsSeen, PaymentsCounted int64
	// Reference is the vendor's reference grouping some of its invoices
	// (the Open API's reference_no: a shop's order), "" for none:
	// InvoicesByReference lists them. It holds no NUL byte.
	Reference string
}

// InvoiceCoin is an invoice's side in one coin: its input address and what
// it costs in that coin.
type InvoiceCoin struct {
	Coin    string
	Index   uint32
	Address string
	// Due is the amount asked in satoshis; Rate the price of a coin in the
	// invoice's fiat currency it was quoted at ("" for an amount in
	// coin), until QuoteExpires.
	Due          ferry.Amount
	Rate         string
	Quoted       time.Time
	QuoteExpires time.Time
	// ExpiredAt is the coin's height when the invoice was first seen
	// expired (0 before): payments in later blocks come after it.
	ExpiredAt int64
}

func (inv *Invoice) encode() []byte {
	e := newEnc(256)
	for _, s := range []string{inv.Vendor, inv.Number, inv.Amount, inv.Currency, inv.Email, inv.CallbackURL, inv.ReturnURL} {
		e.str(s)
	}
	e.time(inv.Created)
	e.time(inv.Expires)
	e.uvar(uint64(len(inv.Coins)))
	for _, c := range inv.Coins {
		e.str(c.Coin)
		e.u32(c.Index)
		e.str(c.Address)
		e.i64(int64(c.Due))
		e.str(c.Rate)
		e.time(c.Quoted)
		e.time(c.QuoteExpires)
	}
	e.bool(inv.Cancelled)
	e.str(string(inv.Status))
	e.time(inv.StatusChanged)
	e.str(string(inv.Told))
	e.str(inv.Dialect)
	e.str(inv.WebhookURL)
	e.str(inv.Description)
	e.i64(inv.Changes)
	e.bool(inv.Hold)
	e.bool(inv.Accepted)
	e.bool(inv.Refunded)
	for _, c := range inv.Coins {
		e.i64(c.ExpiredAt)
	}
	keys := make([]string, 0, len(inv.Fields))
	for k := range inv.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	e.uvar(uint64(len(keys)))
	for _, k := range keys {
		e.str(k)
		e.str(inv.Fields[k])
	}
	e.i64(inv.PaymentsSeen)
	e.i64(inv.PaymentsCounted)
	e.str(inv.Reference)
	return e.b
}

func decodeInvoice(id string, b []byte) (*Invoice, error) {
	d := newDec(b)
	inv := &Invoice{ID: id}
	for _, p := range []*string{&inv.Vendor, &inv.Number, &inv.Amount, &inv.Currency, &inv.Email, &inv.CallbackURL, &inv.ReturnURL} {
		*p = d.str()
	}
	inv.Created = d.time()
	inv.Expires = d.time()
	n := d.uvar()
	for i := uint64(0); i < n && d.err == nil; i++ {
		inv.Coins = append(inv.Coins, InvoiceCoin{Coin: d.str(), Index: d.u32(), Address: d.str(), Due: ferry.Amount(d.i64()), Rate: d.str(),
			Quoted: d.time(), QuoteExpires: d.time()})
	}
	inv.Cancelled = d.bool()
	inv.Status = ferry.InvoiceStatus(d.str())
	inv.StatusChanged = d.time()
	inv.Told = ferry.InvoiceStatus(d.str())
	if d.more() {
		inv.Dialect, inv.WebhookURL, inv.Description, inv.Changes = d.str(), d.str(), d.str(), d.i64()
	}
	if d.more() {
		inv.Hold, inv.Accepted, inv.Refunded = d.bool(), d.bool(), d.bool()
		for i := range inv.Coins {
			inv.Coins[i].ExpiredAt = d.i64()
		}
	}
	if d.more() {
		n := d.uvar()
		for i := uint64(0); i < n && d.err == nil; i++ {
			if inv.Fields == nil {
				inv.Fields = map[string]string{}
			}
			k := d.str()
			inv.Fields[k] = d.str()
		}
		inv.PaymentsSeen, inv.PaymentsCounted = d.i64(), d.i64()
	}
	if d.more() {
		inv.Reference = d.str()
	}
	if err := d.done(); err != nil {
		return nil, fmt.Errorf("invoice %s: %w", id, err)
	}
	return inv, nil
}

func invoiceKey(id string) []byte { return key(tInvoice, "inv", []byte(id)) }

func invoiceNumberKey(vendor, dialect, number string) []byte {
	return key(tInvNumber, "inv", []byte(vendor), []byte{0}, []byte(dialect), []byte{0}, []byte(number))
}

func invoiceAddrKey(coin string, index uint32) []byte { return key(tInvAddr, coin, u32(index)) }

func invoiceOpenKey(id string) []byte { return key(tInvOpen, "inv", []byte(id)) }

func invoiceVendorPrefix(vendor, dialect string) []byte {
	return key(tInvVendor, "inv", []byte(vendor), []byte{0}, []byte(dialect), []byte{0})
}

// invoiceVendorKey is an invoice's entry in its vendor's list: by
// creation, then by the order invoices were recorded in (order, from
// invoiceOrderKey), since two may be created in the same instant.
func invoiceVendorKey(inv *Invoice, order uint64) []byte {
	k := append(invoiceVendorPrefix(inv.Vendor, inv.Dialect), u64(uint64(unixNano(inv.Created)))...)
	return append(append(k, u64(order)...), inv.ID...)
}

// invoiceRefPrefix is the prefix of a vendor's invoices of a dialect with
// one reference.
func invoiceRefPrefix(vendor, dialect, ref string) []byte {
	return key(tInvRef, "inv", []byte(vendor), []byte{0}, []byte(dialect), []byte{0}, []byte(ref), []byte{0})
}

// invoiceRefKey is an invoice's entry among its vendor's with its
// reference, in the order of its vendor's list (invoiceVendorKey).
func invoiceRefKey(inv *Invoice, order uint64) []byte {
	k := append(invoiceRefPrefix(inv.Vendor, inv.Dialect, inv.Reference), u64(uint64(unixNano(inv.Created)))...)
	return append(append(k, u64(order)...), inv.ID...)
}

var (
	// invoiceSeqKey is the counter that numbered every invoice before
	// ids were random: no longer written, read only to start a vendor's
	// own numbers (invoiceNumberSeqKey) after it.
	invoiceSeqKey   = []byte("m/invoice-seq")
	invoiceOrderKey = []byte("m/invoice-order")
)

// invoiceNumberSeqKey is the counter of a vendor's display numbers with
// prefix in dialect (IDs.NumberPrefix).
func invoiceNumberSeqKey(vendor, dialect, prefix string) []byte {
	return key('m', "invoice-number", []byte(vendor), []byte{0}, []byte(dialect), []byte{0}, []byte(prefix))
}

// ErrIDTaken reports an invoice id already taken; it is an ErrExists.
var ErrIDTaken = fmt.Errorf("id %w", ErrExists)

// maxIDTries bounds the ids PutInvoice draws for one invoice: two draws
// of 120 random bits never meet, but a loop is bounded all the same.
const maxIDTries = 4

// PutInvoice records a new invoice, synced, with its indexes (vendor,
// dialect and number; the vendor's invoices in the dialect, by creation;
// each input address; the open set). Its ID is inv.ID if set (an error
// wrapping ErrIDTaken if taken), or else a NewInvoiceID of ids.Prefix,
// which it sets in inv.ID. With ids.NumberPrefix, an invoice without a
// Number gets the vendor's next display number, set in inv.Number. A
// number the vendor already used in the dialect returns ErrExists (not
// ErrIDTaken) with the existing invoice's ID in inv.ID. With maxOpen > 0,
// a vendor with maxOpen unpaid open invoices already (see
// OpenInvoicesOf) gets ErrTooManyOpen, and nothing is written.
func (db *DB) PutInvoice(inv *Invoice, ids IDs, maxOpen int) error {
	if strings.IndexByte(inv.Reference, 0) >= 0 {
		return fmt.Errorf("put invoice: a reference holds a NUL byte")
	}
	db.invMu.Lock()
	defer db.invMu.Unlock()
	if inv.Number != "" {
		if id, err := db.get(invoiceNumberKey(inv.Vendor, inv.Dialect, inv.Number)); err == nil {
			inv.ID = string(id)
			return fmt.Errorf("put invoice %s %s: %w", inv.Vendor, inv.Number, ErrExists)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	if maxOpen > 0 {
		if err := db.countOpen(); err != nil {
			return err
		}
		if db.openOf[inv.Vendor] >= maxOpen {
			return fmt.Errorf("put invoice of %s: %d open: %w", inv.Vendor, db.openOf[inv.Vendor], ErrTooManyOpen)
		}
	}
	b := new(leveldb.Batch)
	if err := db.invoiceID(inv, ids.Prefix); err != nil {
		return err
	}
	if inv.Number == "" && ids.NumberPrefix != "" {
		if err := db.invoiceNumber(b, inv, ids.NumberPrefix); err != nil {
			return err
		}
	}
	b.Put(invoiceKey(inv.ID), inv.encode())
	if inv.Number != "" {
		b.Put(invoiceNumberKey(inv.Vendor, inv.Dialect, inv.Number), []byte(inv.ID))
	}
	for _, c := range inv.Coins {
		b.Put(invoiceAddrKey(c.Coin, c.Index), []byte(inv.ID))
	}
	order, err := db.counter(invoiceOrderKey)
	if err != nil {
		return err
	}
	b.Put(invoiceOrderKey, u64(order))
	b.Put(invoiceVendorKey(inv, order), nil)
	if inv.Reference != "" {
		b.Put(invoiceRefKey(inv, order), nil)
	}
	b.Put(invoiceOpenKey(inv.ID), nil)
	if err := db.ldb.Write(b, syncWrite); err != nil {
		return fmt.Errorf("put invoice %s: %w", inv.ID, err)
	}
	if db.openOf != nil && inv.Status.Unpaid() {
		db.openOf[inv.Vendor]++
	}
	return nil
}

// invoiceID checks inv.ID is free, or draws one that is; db.invMu is
// held.
func (db *DB) invoiceID(inv *Invoice, prefix string) error {
	given := inv.ID != ""
	for try := 0; try < maxIDTries; try++ {
		if !given {
			inv.ID = NewInvoiceID(prefix)
		}
		_, err := db.get(invoiceKey(inv.ID))
		switch {
		case errors.Is(err, ErrNotFound):
			return nil
		case err != nil:
			return err
		case given:
			return fmt.Errorf("put invoice %s: %w", inv.ID, ErrIDTaken)
		}
	}
	return fmt.Errorf("put invoice: %d random ids taken: %w", maxIDTries, ErrIDTaken)
}

// invoiceNumber gives inv the next display number of its vendor with
// prefix in its dialect, and writes the counter in b; db.invMu is held. A
// vendor's first number follows the old global counter, if the store has
// one: old invoices' ids were its numbers.
func (db *DB) invoiceNumber(b *leveldb.Batch, inv *Invoice, prefix string) error {
	k := invoiceNumberSeqKey(inv.Vendor, inv.Dialect, prefix)
	seq, err := db.counter(k)
	if err != nil {
		return err
	}
	if seq == 1 {
		if seq, err = db.counter(invoiceSeqKey); err != nil {
			return err
		}
	}
	for try := 0; ; try++ {
		inv.Number = prefix + strconv.FormatUint(seq, 10)
		_, err := db.get(invoiceNumberKey(inv.Vendor, inv.Dialect, inv.Number))
		if errors.Is(err, ErrNotFound) {
			break
		}
		if err != nil {
			return err
		}
		if try >= maxIDTries {
			return fmt.Errorf("put invoice %s: numbers from %s taken: %w", inv.ID, inv.Number, ErrExists)
		}
		seq++
	}
	b.Put(k, u64(seq))
	return nil
}

// UpdateInvoice rewrites an invoice's record, synced: its quotes, its
// status, cancellation. The open set is left to CloseInvoice.
func (db *DB) UpdateInvoice(inv *Invoice) error {
	db.invMu.Lock()
	defer db.invMu.Unlock()
	var was ferry.InvoiceStatus
	if db.openOf != nil {
		old, err := db.Invoice(inv.ID)
		if err != nil {
			return fmt.Errorf("update invoice %s: %w", inv.ID, err)
		}
		was = old.Status
	}
	if err := db.ldb.Put(invoiceKey(inv.ID), inv.encode(), syncWrite); err != nil {
		return fmt.Errorf("update invoice %s: %w", inv.ID, err)
	}
	if db.openOf != nil && was.Unpaid() != inv.Status.Unpaid() {
		if _, err := db.get(invoiceOpenKey(inv.ID)); err == nil {
			db.count(inv.Vendor, inv.Status.Unpaid())
		}
	}
	return nil
}

// count moves vendor's count of unpaid open invoices by one, up or down.
// db.invMu is held.
func (db *DB) count(vendor string, up bool) {
	if up {
		db.openOf[vendor]++
		return
	}
	if db.openOf[vendor] > 0 {
		if db.openOf[vendor]--; db.openOf[vendor] == 0 {
			delete(db.openOf, vendor)
		}
	}
}

// CloseInvoice takes an invoice out of the open set: nothing about it
// changes any more. Closing it again changes nothing.
func (db *DB) CloseInvoice(id string) error {
	db.invMu.Lock()
	defer db.invMu.Unlock()
	var inv *Invoice
	if db.openOf != nil {
		switch _, err := db.get(invoiceOpenKey(id)); {
		case errors.Is(err, ErrNotFound):
			return nil
		case err != nil:
			return fmt.Errorf("close invoice %s: %w", id, err)
		}
		inv, _ = db.Invoice(id) // one that does not decode counts for no vendor
	}
	if err := db.ldb.Delete(invoiceOpenKey(id), syncWrite); err != nil {
		return fmt.Errorf("close invoice %s: %w", id, err)
	}
	if inv != nil && inv.Status.Unpaid() {
		db.count(inv.Vendor, false)
	}
	return nil
}

// OpenInvoicesOf returns how many unpaid open invoices vendor has: open
// ones that nobody paid anything to (pending, cancelled, or expired and
// not yet closed). The engine looks at every open invoice after each
// block, and these cost their maker nothing: they are what
// --max-open-invoices bounds.
func (db *DB) OpenInvoicesOf(vendor string) (int, error) {
	db.invMu.Lock()
	defer db.invMu.Unlock()
	if err := db.countOpen(); err != nil {
		return 0, err
	}
	return db.openOf[vendor], nil
}

// countOpen counts each vendor's unpaid open invoices into db.openOf,
// once: a walk of the open set, reading each invoice. PutInvoice,
// UpdateInvoice and CloseInvoice keep the counts from then on. db.invMu
// is held.
func (db *DB) countOpen() error {
	if db.openOf != nil {
		return nil
	}
	counts := map[string]int{}
	pfx := invoiceOpenKey("")
	it := db.ldb.NewIterator(util.BytesPrefix(pfx), nil)
	defer it.Release()
	for it.Next() {
		id := string(it.Key()[len(pfx):])
		inv, err := db.Invoice(id)
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrCorrupt) {
			continue // counts for no vendor, as CloseInvoice uncounts it
		}
		if err != nil {
			return fmt.Errorf("count open invoices: %s: %w", id, err)
		}
		if inv.Status.Unpaid() {
			counts[inv.Vendor]++
		}
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("count open invoices: %w", err)
	}
	db.openOf = counts
	return nil
}

// Invoice returns the invoice id, or ErrNotFound.
func (db *DB) Invoice(id string) (*Invoice, error) {
	v, err := db.get(invoiceKey(id))
	if err != nil {
		return nil, fmt.Errorf("invoice %s: %w", id, err)
	}
	return decodeInvoice(id, v)
}

// InvoiceByNumber returns the vendor's invoice of dialect with its own
// number, or ErrNotFound.
func (db *DB) InvoiceByNumber(vendor, dialect, number string) (*Invoice, error) {
	id, err := db.get(invoiceNumberKey(vendor, dialect, number))
	if err != nil {
		return nil, fmt.Errorf("invoice %s %s: %w", vendor, number, err)
	}
	return db.Invoice(string(id))
}

// InvoiceOfAddress returns the invoice whose input address of coin is at
// index, or ErrNotFound.
func (db *DB) InvoiceOfAddress(coin string, index uint32) (*Invoice, error) {
	id, err := db.get(invoiceAddrKey(coin, index))
	if err != nil {
		return nil, fmt.Errorf("invoice of %s/%d: %w", coin, index, err)
	}
	return db.Invoice(string(id))
}

// OpenInvoices returns the ids of the invoices not yet closed, in id order.
func (db *DB) OpenInvoices() ([]string, error) {
	pfx := invoiceOpenKey("")
	it := db.ldb.NewIterator(util.BytesPrefix(pfx), nil)
	defer it.Release()
	var ids []string
	for it.Next() {
		ids = append(ids, string(bytes.Clone(it.Key()[len(pfx):])))
	}
	return ids, it.Error()
}

// InvoicesOf returns a vendor's invoices of one dialect, oldest first:
// limit of them after the first offset (a page that a new invoice does not
// move). Invoices created before the index existed are not listed.
func (db *DB) InvoicesOf(vendor, dialect string, offset, limit int) ([]*Invoice, error) {
	pfx := invoiceVendorPrefix(vendor, dialect)
	it := db.ldb.NewIterator(util.BytesPrefix(pfx), nil)
	defer it.Release()
	var out []*Invoice
	for skipped := 0; len(out) < limit && it.Next(); {
		if skipped < offset {
			skipped++
			continue
		}
		rest := it.Key()[len(pfx):]
		if len(rest) < 16 {
			return nil, fmt.Errorf("invoices of %s: %w", vendor, ErrCorrupt)
		}
		inv, err := db.Invoice(string(rest[16:]))
		if err != nil {
			return nil, err
		}
		out = append(out, inv)
	}
	return out, it.Error()
}

// InvoicesByReference returns a vendor's invoices of one dialect with
// reference ref (Invoice.Reference), oldest first: limit of them after
// the first offset.
func (db *DB) InvoicesByReference(vendor, dialect, ref string, offset, limit int) ([]*Invoice, error) {
	if ref == "" || strings.IndexByte(ref, 0) >= 0 {
		return nil, nil
	}
	pfx := invoiceRefPrefix(vendor, dialect, ref)
	it := db.ldb.NewIterator(util.BytesPrefix(pfx), nil)
	defer it.Release()
	var out []*Invoice
	for skipped := 0; len(out) < limit && it.Next(); {
		if skipped < offset {
			skipped++
			continue
		}
		rest := it.Key()[len(pfx):]
		if len(rest) < 16 {
			return nil, fmt.Errorf("invoices of %s by reference: %w", vendor, ErrCorrupt)
		}
		inv, err := db.Invoice(string(rest[16:]))
		if err != nil {
			return nil, err
		}
		out = append(out, inv)
	}
	return out, it.Error()
}

// counter returns the next value of the counter at k (1 for the first),
// for the caller to write back in its batch; db.invMu is held.
func (db *DB) counter(k []byte) (uint64, error) {
	v, err := db.get(k)
	switch {
	case errors.Is(err, ErrNotFound):
		return 1, nil
	case err != nil:
		return 0, err
	case len(v) != 8:
		return 0, fmt.Errorf("counter %s: %w", k, ErrCorrupt)
	}
	return bytesToU64(v) + 1, nil
}

func bytesToU64(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}
