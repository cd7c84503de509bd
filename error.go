package ferry

import (
	"errors"
	"fmt"
)

// Kind classifies an error for the clients of the engines: each API dialect
// maps kinds to its own answers (one table each, see package api).
type Kind int

// The kinds of error the engines' calls return.
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
	// KindUnsupported is a request for a coin ferry does not relay.
	KindUnsupported
	// KindUnauthorized is a request with wrong or missing credentials.
	KindUnauthorized
	// KindConflict is a request that clashes with the state of what it
	// names (cancelling a paid invoice).
	KindConflict
	// KindTooLarge is a request larger than the API takes.
	KindTooLarge
	// KindLimit is a request past a limit of what a client may hold (a
	// vendor's open invoices): it may succeed once the client holds less.
	KindLimit
	// KindForbidden is a request whose credentials are right but do not
	// allow it (an API key of scope create cancelling a payment).
	KindForbidden
)

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

// Errorf returns an *Error of kind k with a formatted message.
func Errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// Internal wraps an unexpected error: the client sees only msg, that
// something failed on ferry's side; err goes to the log.
func Internal(msg string, err error) *Error {
	return &Error{Kind: KindInternal, Message: msg, Err: err}
}

// Explain returns the kind of an error an engine returned (KindInternal for
// an error of no kind) and the message its client may see.
func Explain(err error) (Kind, string) {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind, e.Message
	}
	return KindInternal, "internal error"
}
