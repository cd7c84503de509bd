// Package store keeps ferry's state in a goleveldb database: the input
// addresses handed out, the deposits found on chain, the forwards signed, the
// scan cursor of each coin, and the undo log that lets a reorg be rolled back.
//
// # Atomicity
//
// Everything one block changes (its new deposits, the deposits it spends, its
// hash and undo log, and the cursor) is written by Apply in one synced
// batch, so that after a crash at any moment the store holds either all of a
// block or none of it. Rollback undoes the cursor block the same way. Records
// that are not derived from blocks (addresses, forwards) are written synced
// on their own, before anyone outside the process learns of them.
//
// # Key layout
//
// Every key starts with a one-byte table name, then "/", the coin's id
// ("ltc", "btc"), "/" and a binary suffix. Integers in keys are big-endian,
// so that keys sort by them. An outpoint is the 32-byte transaction id in
// internal byte order followed by the 4-byte output index.
//
//	m/seed                            fingerprint of the operator's seed
//	m/network                         the network the store's addresses are on
//	m/invoice-seq                     seq:8, the number of the last invoice created while ids were numbers (no longer written)
//	m/invoice-number/<vendor>\x00<dialect>\x00<prefix>  seq:8, the vendor's last display number with that prefix (IDs.NumberPrefix)
//	m/invoice-order                   order:8, the order of the last invoice recorded (ties of the I table)
//	m/<coin>/first-index              index:4 below which no address is handed out (--first-index)
//	a/<coin>/<index:4>                Address record (compact: without the texts the store derives)
//	p/<coin>/<program:20>             index:4 of the expired address with that witness program (in stores written before w carried it, of every address)
//	w/<coin>/<program:20>             index:4 (empty in stores written before): the address is watched (the watch set on disk)
//	c/<coin>                          cursor: height:8, block hash:32
//	b/<coin>/<height:8>               block hash:32, parent hash:32, time, undo log (last DefaultUndoDepth blocks)
//	t/<coin>/<height:8>               the same without its undo log: what BlockHash and BlockTime read (a busy block's record is megabytes)
//	d/<coin>/<outpoint:36>            Deposit record
//	o/<coin>/<outpoint:36>            empty: the deposit is not yet spent on chain
//	i/<coin>/<index:4><outpoint:36>   empty: the deposits of an address
//	f/<coin>/<outpoint:36>            Forward record of the deposit at that outpoint
//	F/<coin>/<index:4><outpoint:36>   empty: the forwards of an address (its deposits' forwards, even those a reorg took away)
//	x/<coin>/<idle since:8><index:4>  empty: expiry queue of watched addresses, by LastActivity (unix ns)
//	k/<queue>/<ref>                   Callback state of one notification of a delivery queue
//	K/<queue>/<len:1><ref><seq:8>     one callback Attempt
//	q/<queue>/<host>\x00<due:8><ref>  empty: the queue: pending callbacks by host, then by when they are due
//	h/<queue>/<host>                  empty: the host has pending callbacks (the queue's hosts, found without walking the queue)
//	e/mail/<id>                       Mail record: an email to a vendor and its delivery state
//	E/mail/<due:8><id>                empty: the mail queue: pending mail by when it is due (unix ns)
//	l/mail/<queued:8><id>             empty: every mail by when it was queued (unix ns), latest last
//	v/vendor/<id>                     Vendor record: its secret hashed, and its API keys (id, scope, hash, created)
//	V/key/<sha256 of API key:32>      vendor id: one entry per key of the vendor's record
//	n/inv/<id>                        Invoice record
//	N/inv/<vendor>\x00<dialect>\x00<number>  invoice id: a vendor's own invoice number in one API dialect
//	A/<coin>/<index:4>                invoice id of an input address
//	O/inv/<id>                        empty: the invoice is open (its status may still change)
//	I/inv/<vendor>\x00<dialect>\x00<created:8><order:8><id>  empty: a vendor's invoices in one API dialect, by creation (unix ns), then order of recording
//	G/inv/<vendor>\x00<dialect>\x00<reference>\x00<created:8><order:8><id>  empty: a vendor's invoices in one API dialect with one reference (Invoice.Reference), in the order of I
//	L/<coin>/<index:4>                Label: the vendor that asked for an input address outside an invoice, and its label
//	y/<coin>/<outpoint:36>            Release: a decision about a deposit an invoice holds (held, accepted, refunded)
//	u/wh/<vendor>\x00<id>             Endpoint: a URL the vendor registered for webhooks
//	j/<queue>/<len:1><ref>            Message: a webhook event for one endpoint, its body as sent
//	J/inv/<invoice>\x00<queue>\x00<ref> empty: the messages about an invoice
//	r/<coin>                          RecoveryState of a recovery from the chain (ferry recover)
//	R/<coin>/<outpoint:36>            RecoveredOutput: an output paying one of the seed's addresses, and its spend
//	H/<coin>/<height:8>               block hash:32 of the recovery's main pass (last DefaultUndoDepth blocks)
//	s/<coin>/<txid:32>                Sweep record: stranded outputs spent to one address
//	S/<coin>/<outpoint:36>            txid:32 of the sweep that spends the output
//
// A recovery (ferry recover) keeps tables r, R and H apart from the
// daemon's: ApplyRecovered writes what one block shows with the recovery's
// state in one batch. Rebuilding, RestoreAddress writes an address with its
// deposits (tables a, p, w, x, d, o, i) as history below the scan cursor,
// outside Apply; PutSweep writes a sweep with the forward record of each
// open deposit it spends.
//
// A vendor record written before API keys had scopes holds one key's hash
// in place of the list: it is read as the vendor's one key, of scope all,
// its id derived from its hash (legacyKeyID), and written with the list at
// the vendor's next change; its V entry stays as it was.
//
// A delivery queue is named: a coin's id for its deposits' callbacks (due
// at a block height of that coin; the reference is the deposit's outpoint),
// others for invoices' callbacks and webhooks.
//
// Tables d, o and i change only through Apply and Rollback, and so do a, p,
// w and x after an address is minted (a block that pays an address restarts
// its idle time; a block can expire idle addresses). The undo log of a block
// lists, for every key it changed, the value before (or its absence). Values are records with a leading version byte followed by their
// fields; a record ends early if it was written before a later field existed.
//
// An address record comes in two layouts. The compact one (version 2),
// which a store that knows its network writes, leaves out the input
// address's text (derived from its program), the destination's (derived
// from its script) and the time of last activity while it is the time of
// creation: with its watched entry and its place in the expiry queue, an
// address takes about 110 bytes on disk. The full one (version 1) keeps
// every field; it is still read, and written when the texts cannot be
// derived back exactly.
//
// # Watch set
//
// WatchSet holds the watched witness programs in memory as 48-bit
// fingerprints, about 4.5 bytes per address; a hit is confirmed against
// the store (AddressByProgram).
package store
