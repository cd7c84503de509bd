// Package relay is ferry's money engine: it turns blocks into deposits,
// deposits into forwards, and forwards into merchant callbacks. It has no
// HTTP handlers (package api serves it) and sends no requests (package
// notify delivers its callbacks). It speaks the domain's words (package
// ferry): a ferry.Deposit, its ferry.DepositState, its ferry.Forward.
//
// # A deposit, from block to callback
//
//  1. Mint (mint.go): an input address is derived from the seed at the next
//     index, recorded synced, and watched, before anyone learns of it.
//  2. Seen (mempool.go): the MempoolWatcher sees a payment to a watched
//     address in the node's mempool: DepositUnconfirmed.
//  3. Scanned (scanner.go): the Scanner reads the block that pays it and
//     records the block's deposits, spends and undo log in one store
//     batch with the scan cursor: DepositConfirmed (DepositDonated below
//     the minimum). A reorg is undone a block at a time from the undo log.
//  4. Released (forwarder.go, Releaser): once it has the confirmations,
//     the Forwarder asks the hold policy (package invoice's Holds) what
//     becomes of it: forwarded, refunded, or DepositHeld for its vendor.
//  5. Signed (forwarder.go, plan.go): its forward is planned in integer
//     satoshis (service fee, network fee), signed, and recorded synced
//     before its first broadcast; never rebuilt.
//  6. Broadcast (forwarder.go): the same transaction is sent again every
//     pass until a block spends the deposit: DepositForwarded (or
//     DepositRefunded).
//  7. Called back (callbacks.go): the forward accepted starts the
//     deposit's callback, a notify.BlockQueue item sent once per block
//     until the merchant answers *ok*.
//  8. Published (event.go): each change above is an Event on
//     Deps.Events, which the invoice engine follows; Report (report.go,
//     over the Ledger) tells where any address's deposits stand.
//
// An Engine runs any number of coins, each as a pipeline of these parts,
// built from config structs of small, consumer-declared seams, with no
// per-coin code (what differs between coins lives in package chain). Each
// coin's step reads as its pipeline: sync the blocks, forward what is due,
// wake the notifier and publish the block, wait for the next block (or for
// the forwarder's retry, on the engine's clock).
package relay
