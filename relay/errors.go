package relay

import (
	"errors"
	"fmt"
	"net/http"
)

// Kind classifies an error for the API: it picks the HTTP status.
type Kind int

// The kinds of error the API answers with.
const (
	// KindInternal is a fault of ferry or its store.
	KindInternal Kind = iota
	// KindInvalid is a request that is wrong and will stay wrong.
	KindInvalid
	// KindNotFound is a request for something ferry does not have.
	KindNotFound
	// KindUnavailable is a request ferry cannot serve now: a coin that is
	// off, a node that does not answer.
	KindUnavailable
	// KindRateLimited is a client over its request budget.
	KindRateLimited
)

// statuses maps each kind to its HTTP status: on ferry's own endpoints,
// and on the LitePay-compatible /api/receive, whose contract answers every
// error with 500 text/plain.
var statuses = map[Kind]struct{ ferry, litepay int }{
	KindInternal:    {http.StatusInternalServerError, http.StatusInternalServerError},
	KindInvalid:     {http.StatusBadRequest, http.StatusInternalServerError},
	KindNotFound:    {http.StatusNotFound, http.StatusInternalServerError},
	KindUnavailable: {http.StatusServiceUnavailable, http.StatusInternalServerError},
	KindRateLimited: {http.StatusTooManyRequests, http.StatusTooManyRequests},
}

// Error is an error with a kind and a message fit for the client. The
// wrapped error, if any, is for logs only.
type Error struct {
	Kind    Kind
	Message string
	Err     error
}

// Error returns the message, and the wrapped error if there is one.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the wrapped error.
func (e *Error) Unwrap() error { return e.Err }

// errorf returns an *Error of kind k with a formatted message.
func errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// internal wraps an unexpected error: the client sees only that something
// failed on ferry's side.
func internal(msg string, err error) *Error {
	return &Error{Kind: KindInternal, Message: msg, Err: err}
}

// explain returns the kind of an API call's error (KindInternal for errors
// of no kind) and the message to show the client, and logs what the client
// is not shown: the cause of an internal error.
func (s *Service) explain(err error, call string) (Kind, string) {
	var e *Error
	if !errors.As(err, &e) {
		e = internal("internal error", err)
	}
	if e.Kind == KindInternal {
		s.log.Error().Err(err).Str("component", "api").Str("call", call).Msg("internal error")
	}
	return e.Kind, e.Message
}
