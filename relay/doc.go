// Package relay is ferry's service: the LitePay-compatible HTTP API, the
// block scanner that finds deposits to input addresses, and the forwarder
// that pays them out to merchants.
//
// One Service runs any number of coins (Chain), each with its own node,
// keychain, watch set and scanner goroutine, and no per-coin code: what
// differs between coins lives in package chain.
//
// # Money path
//
// For each new block, the scanner decodes the block, looks up every P2WPKH
// output in the watch set and every input in the set of open deposits, and
// commits what it found in one store batch with the scan cursor. A reorg is
// found by the parent hash of the next block (or the node's hash at the
// cursor height) and undone one block at a time from the store's undo log.
//
// Once the scanner has caught up with the node, the forwarder looks at every
// open deposit with enough confirmations: a deposit with no forward gets one,
// built, signed and recorded before its first broadcast; a deposit with a
// forward has that same transaction broadcast again, every block, until a
// block spends the deposit. A forward is never rebuilt, so a deposit is
// forwarded at most once, whatever crashes, restarts or reorgs happen.
package relay
