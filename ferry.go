// Package ferry is the vocabulary every room of ferry speaks: the coins it
// relays, amounts in satoshis, outpoints, the deposit and the one type of
// its lifecycle, the forward that pays it out, the invoice's status, the
// decisions about held payments, the state of a delivery, and the Error
// with its Kind that every API dialect answers in its own words.
//
// It holds types and the rules that belong to them only, and imports
// nothing of ferry's own: the rooms around it each build on it.
//
//	chain/     the nodes, keys, addresses and transactions of each coin
//	store/     the records, in one database (goleveldb, or PostgreSQL)
//	relay/     the money engine: blocks to deposits, deposits to forwards
//	invoice/   the merchant engine: invoices, vendors, held payments
//	notify/    the durable delivery of callbacks and webhooks
//	api/       every HTTP and gRPC dialect, thin over the engines
//	cmd/ferry  the daemon and its commands: the only room that wires them all
package ferry
