package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/ferry-relay/ferry"
)

// JSON in and out. Every JSON body the API takes is read by jsonBody.read
// under one policy: the body is bounded; it holds one JSON value and
// nothing after it but white space (`{"a":1}}` is refused, not read as
// one object); its Content-Type is not looked at (LitePay-era clients
// post JSON as a form, and Coinremitter, which takes both, chooses by it
// before). A dialect decides only its bound, how its errors name the
// value, whether fields its value lacks are refused, and whether an empty
// body is its zero value: the policies below, in one place.

// maxJSON bounds a JSON request body.
const maxJSON = 64 << 10

// The dialects' JSON bodies.
var (
	// apiJSON is Fluxcord's and Payscrypt's REST bodies: fields ferry
	// does not know are left out, as grpc-gateway does.
	apiJSON = jsonBody{max: maxJSON, what: "JSON object"}
	// formJSON is Coinremitter's form sent as JSON, bounded as a form.
	formJSON = jsonBody{max: maxForm, what: "JSON object"}
	// adminJSON is the operator's API: an unknown field is a mistake.
	adminJSON = jsonBody{max: 16 << 10, what: "JSON object", strict: true}
)

// jsonBody is how a dialect reads a JSON body.
type jsonBody struct {
	// max bounds the body, in bytes.
	max int64
	// what names the value in errors: "the body must be a <what>".
	what string
	// strict refuses fields the value does not have.
	strict bool
	// empty takes an empty body as the value's zero value.
	empty bool
}

// named returns b with its value called what in its errors.
func (b jsonBody) named(what string) jsonBody {
	b.what = what
	return b
}

// orEmpty returns b taking an empty body as the value's zero value.
func (b jsonBody) orEmpty() jsonBody {
	b.empty = true
	return b
}

// read decodes req's body into v. Its errors are ferry.Errors saying what
// is wrong: KindTooLarge past the bound, KindInvalid otherwise.
func (b jsonBody) read(req *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(nil, req.Body, b.max))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &ferry.Error{Kind: ferry.KindTooLarge, Message: fmt.Sprintf("the body is over %d KiB", b.max>>10)}
	}
	if err != nil {
		return invalidf("the body cannot be read")
	}
	if b.empty && len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if b.strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return invalidf("the body must be a %s: %s", b.what, jsonProblem(err))
	}
	if len(bytes.Trim(body[dec.InputOffset():], " \t\r\n")) > 0 {
		// (json.Decoder.More says false before a '}' or ']'.)
		return invalidf("the body must be one %s", b.what)
	}
	return nil
}

// jsonProblem says briefly what is wrong with a JSON body.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("%s must be %s, not %s", typ.Field, jsonType(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.EOF):
		return "it is empty"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "it ends early"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Sprintf("%.80s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return "unreadable"
}

// jsonType names a Go kind as JSON has it.
func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	}
	return "a number"
}

// writeJSON answers with v as JSON. URLs are written as they are ("&", not
// "\u0026"), as LitePay writes them.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":"internal error"}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// writeText answers with msg as text, on a line of its own.
func writeText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}
