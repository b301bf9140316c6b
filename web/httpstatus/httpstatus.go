// Package httpstatus maps envelope's application error codes (cases.E*)
// to HTTP statuses, for the staff server and the agency portal alike.
package httpstatus

import (
	"net/http"

	"envelope/cases"
)

// Of maps an application error code to its HTTP status.
func Of(code string) int {
	switch code {
	case cases.EINVALID:
		return http.StatusBadRequest
	case cases.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case cases.EFORBIDDEN:
		return http.StatusForbidden
	case cases.ENOTFOUND:
		return http.StatusNotFound
	case cases.ECONFLICT:
		return http.StatusConflict
	case cases.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case cases.ETOOMANY:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}
