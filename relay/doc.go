// Package relay is ferry's engine: it turns blocks into deposits,
// deposits into forwards, and forwards into merchant callbacks. It has no
// HTTP handlers (package api serves it) and sends no requests (package
// notify delivers its callbacks).
//
// An Engine runs any number of coins, each as a pipeline of parts built
// from config structs of small, consumer-declared seams, with no per-coin
// code (what differs between coins lives in package chain):
//
//   - the Scanner (blocks to the store) reads a BlockSource and records
//     what each block changes in one store batch with the scan cursor;
//     a reorg is found by the parent hash of the next block (or the
//     node's hash at the cursor height) and undone one block at a time
//     from the store's undo log;
//   - the Forwarder (deposits to transactions) signs and records each
//     forward before its first broadcast through a Broadcaster, and
//     broadcasts a recorded forward again, never a new one, until a block
//     spends the deposit: a deposit is forwarded at most once, whatever
//     crashes, restarts or reorgs happen;
//   - the CallbackQueue (forwards to callbacks) is what the notifier reads:
//     each accepted forward starts its deposit's callback, due once per
//     block until *ok*;
//   - the MempoolWatcher shows unconfirmed deposits, at the cost of what
//     enters the node's mempool, never of its size.
//
// Each coin's step reads as its pipeline: sync the blocks, forward what is
// due, wake the notifier, wait for the next block (or for the forwarder's
// retry, on the engine's clock).
package relay
