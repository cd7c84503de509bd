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
//
// # The two coins' code
//
// A Coin reaches its coin's library through a codec (coin.go): btcCodec over
// btcd, ltcCodec over ltcd. Everything else (node.go, mempool.go, keys.go,
// block.go, rawblock.go, sweep.go) is written for both coins at once. The
// two codecs do the same things with two libraries whose packages have the
// same names and shapes but unrelated types, so their shared code is written
// once, for btcd, and generated for ltcd:
//
//   - btc_codec.go (addresses, transactions, signing), btc_p2p.go (the
//     mempool watcher's peer protocol) and btc_sweep.go (multi-input
//     signing, scripts read back) are the source;
//   - ltc_codec_gen.go, ltc_p2p_gen.go and ltc_sweep_gen.go are their
//     Litecoin twins, written by chain/internal/twin, which renames the
//     imports (btcd to ltcd, btcutil to ltcutil) and the btcX names to ltcX:
//     edit the btc_ file and run go generate ./chain; a test fails while a
//     twin is not what its source makes;
//   - btc.go and ltc.go hold, by hand, what differs: the networks'
//     parameters, the coin's name, parseAddress (Litecoin refuses MWEB
//     addresses first) and decodeBlock (Litecoin's MWEB blocks and ltcd's
//     fallback for them).
//
// The generated code is the code ltc.go had by hand, so a twin costs nothing
// at run time: no interface or conversion stands between a codec and its
// library.
package chain

//go:generate go run ./internal/twin
