// Package chain is ferry's view of the Litecoin and Bitcoin block chains.
//
// It provides, for each supported coin and network:
//
//   - Coin: network parameters, destination parsing (P2PKH, P2SH, P2WPKH,
//     P2WSH, P2TR; MWEB refused), block decoding (Litecoin blocks with their
//     HogEx transaction and MWEB body included) and the signing of forward
//     transactions;
//   - Keychain: the BIP32 derivation of input addresses from the operator's
//     seed, on a BIP84-style path per coin;
//   - Node: a JSON-RPC client for litecoind, bitcoind and btcd, and the
//     readings of its answers that the relay and the recovery share:
//     Coin.FetchBlock (a block fetched, decoded and checked against its
//     hash), FeeRate (the estimate, a fallback, the mempool's floor) and
//     RPCError.AlreadyKnown (a broadcast the node already has).
//
// Amounts are integer satoshis (int64) everywhere; amounts the node sends as
// JSON numbers are parsed from their decimal text, never through a float.
//
// The package wraps ltcd's and btcd's own types so that callers deal with one
// set of coin-neutral types: Hash, OutPoint, Destination, Block and Output.
// Private keys never leave the package: callers name a key by its index and
// chain signs with it.
package chain
