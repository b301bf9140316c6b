// Package jobs tells whoever listens (the server's metrics) each time a
// scheduled job ran and how it ended. The schedulers live in several
// packages; this keeps them free of the metrics library.
package jobs

import (
	"sync"
)

var (
	mu        sync.RWMutex
	listeners []func(job string, err error)
)

// Listen adds fn to be told of every run. It is for process-wide
// listeners registered once (a package's init), not per request.
func Listen(fn func(job string, err error)) {
	mu.Lock()
	defer mu.Unlock()
	listeners = append(listeners, fn)
}

// Ran reports one run of job, failed if err is not nil.
func Ran(job string, err error) {
	mu.RLock()
	defer mu.RUnlock()
	for _, fn := range listeners {
		fn(job, err)
	}
}
