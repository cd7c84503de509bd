// Package rates prices ferry's invoices: it fetches what a coin is worth in
// a fiat currency from a public price source and turns fiat amounts into
// whole satoshis, exactly.
//
// It provides:
//
//   - Decimal: an exact, non-negative decimal (fiat amounts and prices),
//     backed by math/big; no float is used anywhere in the package;
//   - Source: the price sources an operator names with --fiat-rates
//     ("coingecko", "kraken", or "static:LTC/USD=80,…"), built by New;
//   - Cache: prices served from a Source, each fetched at most once per TTL
//     and never served past it;
//   - Satoshis and Fiat: the conversions between fiat and satoshis, rounded
//     in the merchant's favour;
//   - ParseFiatAmount and CheckCurrency: the checks of what merchants send.
//
// Coins are named by ferry's coin ids, "ltc" and "btc"; fiat currencies by
// their ISO 4217 codes in upper case, from the list Currencies returns.
//
// Prices the sources answer are parsed from their decimal text, never
// through a float, and a price must be positive to be accepted.
package rates
