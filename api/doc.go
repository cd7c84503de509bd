// Package api is ferry's HTTP API (and Payscrypt's gRPC service): every
// dialect ferry speaks, over the relay and the invoice engine. It holds no
// money logic: it parses requests, calls an engine, and answers in the
// dialect's form.
//
// Server is a router over one small part per dialect, each in its own
// files and holding only what it needs, through the few methods it
// declares of the engines (Engine and Invoices are their unions):
//
//	litepay.go, litepay_check.go  LitePay's receive API: /api/receive, /api/check
//	merchant.go                   LitePay's merchant API: /merch/, /p/
//	page.go, qr.go                the payment page, its status and assets; QR code images
//	fluxcord.go                   Fluxcord's payment sessions
//	payscrypt*.go                 Payscrypt's orders, over REST and gRPC
//	coinremitter*.go              Coinremitter's API
//	openapi*.go                   the Open API (ForumPay's)
//	health.go                     /healthz
//	admin.go                      the operator's API, on its own socket (AdminHandler)
//
// The Server keeps what is cross-cutting (router.go, ratelimit.go): the
// routes, the rate limits, the metrics, the server's own links. A server
// without an invoice engine keeps every route, and answers those of the
// invoice dialects as unavailable, in each dialect's form.
//
// What the dialects share is written once: the answers to errors
// (errors.go: a table per dialect of its answer to each ferry.Kind, most
// as differences from one base table), the reading of JSON bodies (json.go:
// one policy), the engines' methods several of them need (invoices.go),
// and amounts, parsed by ferry.ParseAmount.
package api
