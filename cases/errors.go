package cases

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Error codes. Each maps to one HTTP status in the web package and to an exit
// code in the CLI, so callers decide how to present a failure by its code,
// never by parsing its message.
const (
	ECONFLICT     = "conflict"     // the state forbids the change (409)
	EFORBIDDEN    = "forbidden"    // authenticated, but not allowed (403)
	EINTERNAL     = "internal"     // a bug or an outage (500)
	EINVALID      = "invalid"      // bad input, with Fields naming it (400)
	ENOTFOUND     = "not_found"    // no such thing (404)
	ETOOLARGE     = "too_large"    // a body or an upload over its limit (413)
	ETOOMANY      = "too_many"     // a client over its rate limit (429)
	EUNAUTHORIZED = "unauthorized" // no or bad credentials (401)
)

// Error is the application error: a code, a message safe to show to the user,
// and for EINVALID the fields that are wrong, keyed by their JSON path
// ("targets[0].value").
type Error struct {
	Code    string
	Message string
	Fields  map[string]string
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Message
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e.Fields[k]
	}
	return e.Message + ": " + strings.Join(parts, "; ")
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error naming the bad fields.
func Invalid(fields map[string]string) *Error {
	return &Error{Code: EINVALID, Message: "invalid input", Fields: fields}
}

// ErrorCode returns the code of an application error, EINTERNAL for any other
// non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-safe message of an application error. Other
// errors may carry internals (SQL, paths), so they are reported generically.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrorFields returns the field errors of an EINVALID error, or nil.
func ErrorFields(err error) map[string]string {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

// fieldErrors collects field problems while validating, keeping the first
// problem reported for each field.
type fieldErrors map[string]string

func (f fieldErrors) add(field, format string, args ...any) {
	if _, ok := f[field]; !ok {
		f[field] = fmt.Sprintf(format, args...)
	}
}

// err returns the problems as an EINVALID error, or nil. The error has a
// copy of its own, so that f itself can live on the caller's stack (a
// valid request then allocates nothing for it).
func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	own := make(map[string]string, len(f))
	for k, v := range f {
		own[k] = v
	}
	return Invalid(own)
}
