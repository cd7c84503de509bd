package api

import (
	"fmt"
	"maps"
	"net/http"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry"
)

// The answers to errors, written once (after wtf's http/http.go): the
// engines return a ferry.Error of a Kind, and each dialect answers a kind
// from its errorTable. A dialect states only its own answers, most as
// their differences from httpStatuses.

// errorTable is one dialect's answer to each kind of error: T is what the
// dialect answers with (an HTTP status, a gRPC code, Coinremitter's flag
// and status). A kind the table does not name gets its fallback. A table
// is a value, safe for concurrent use; the tables below are the dialects',
// and each dialect part holds a copy that logs to its server's logger.
type errorTable[T any] struct {
	kinds    map[ferry.Kind]T
	fallback T
	// log and call are where answer logs what the client is not shown.
	log  zerolog.Logger
	call string
}

// newErrorTable returns the table of kinds, fallback for every other kind.
func newErrorTable[T any](fallback T, kinds map[ferry.Kind]T) errorTable[T] {
	return errorTable[T]{kinds: kinds, fallback: fallback, log: zerolog.Nop()}
}

// with returns t with the answers of diff in place of its own.
func (t errorTable[T]) with(diff map[ferry.Kind]T) errorTable[T] {
	t.kinds = maps.Clone(t.kinds)
	maps.Copy(t.kinds, diff)
	return t
}

// logging returns t logging to log the errors of call (its dialect's name).
func (t errorTable[T]) logging(log zerolog.Logger, call string) errorTable[T] {
	t.log, t.call = log, call
	return t
}

// as returns t logging its errors as those of call (one call of its
// dialect: "coinremitter get-invoice").
func (t errorTable[T]) as(call string) errorTable[T] {
	t.call = call
	return t
}

// of returns the answer to kind.
func (t errorTable[T]) of(kind ferry.Kind) T {
	if a, ok := t.kinds[kind]; ok {
		return a
	}
	return t.fallback
}

// explain returns the kind of an engine error and the message to show the
// client, and logs what the client is not shown: the cause of an internal
// error, or of a service being unavailable.
func (t errorTable[T]) explain(err error) (ferry.Kind, string) {
	kind, msg := ferry.Explain(err)
	switch kind {
	case ferry.KindInternal:
		t.log.Error().Err(err).Str("call", t.call).Msg("internal error")
	case ferry.KindUnavailable:
		// The caller is told to try again; the operator, why.
		t.log.Warn().Err(err).Str("call", t.call).Msg("unavailable")
	}
	return kind, msg
}

// answer returns the answer to err and the message its client may see,
// logging as explain does.
func (t errorTable[T]) answer(err error) (T, string) {
	kind, msg := t.explain(err)
	return t.of(kind), msg
}

// httpStatuses is the HTTP status of each kind of error, as most dialects
// answer it: LitePay's receive API and Fluxcord as it is, the others with
// their differences.
var httpStatuses = newErrorTable(http.StatusInternalServerError, map[ferry.Kind]int{
	ferry.KindInvalid:      http.StatusBadRequest,
	ferry.KindUnsupported:  http.StatusBadRequest,
	ferry.KindNotFound:     http.StatusNotFound,
	ferry.KindUnavailable:  http.StatusServiceUnavailable,
	ferry.KindUnauthorized: http.StatusUnauthorized,
	ferry.KindConflict:     http.StatusConflict,
	ferry.KindTooLarge:     http.StatusRequestEntityTooLarge,
	ferry.KindLimit:        http.StatusTooManyRequests,
	ferry.KindForbidden:    http.StatusForbidden,
})

// invalidf is an invalid-request error.
func invalidf(format string, args ...any) error {
	return &ferry.Error{Kind: ferry.KindInvalid, Message: fmt.Sprintf(format, args...)}
}

// errNoInvoices answers the invoice calls of a server without invoices.
var errNoInvoices = &ferry.Error{Kind: ferry.KindUnavailable, Message: "invoices are not enabled on this server"}
