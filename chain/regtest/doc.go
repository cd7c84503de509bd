// Package regtest starts real nodes on regression-test chains for ferry's
// tests and demo, in the manner of btcd's integration/rpctest: Debian's
// litecoind with its own wallets as the paying customers.
//
// A node listens for RPC on a free 127.0.0.1 port, keeps its data in a
// directory the caller owns, makes no peer-to-peer connections, and is
// stopped by its pid. Nothing here touches any address outside 127.0.0.1.
package regtest
