//go:build !(linux || darwin)

package main

import "errors"

// diskFree is measured on Linux and macOS only.
func diskFree(string) (free, total uint64, err error) {
	return 0, 0, errors.ErrUnsupported
}
