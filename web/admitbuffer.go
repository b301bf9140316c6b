package web

import (
	"bytes"
	"net/http"
	"strconv"
	"sync"

	"github.com/gin-gonic/gin"
)

// bufferedWriter keeps a limited request's response body in memory while
// its handler runs, so that the admission slot can be given back before
// the body goes to the client. Four clients that never read a large list
// used to hold both slots while the kernel's buffers filled, and froze
// every other user's reads for over 15 s (issue 18); now a slow reader
// holds only its own connection, until WriteTimeout.
type bufferedWriter struct {
	gin.ResponseWriter
	buf *bytes.Buffer
}

var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func newBufferedWriter(w gin.ResponseWriter) *bufferedWriter {
	b := bodies.Get().(*bytes.Buffer)
	b.Reset()
	return &bufferedWriter{ResponseWriter: w, buf: b}
}

func (w *bufferedWriter) Write(p []byte) (int, error) { return w.buf.Write(p) }

func (w *bufferedWriter) WriteString(s string) (int, error) { return w.buf.WriteString(s) }

// Written counts the buffered body, so gin does not take a handler that has
// written for one that has not.
func (w *bufferedWriter) Written() bool { return w.buf.Len() > 0 || w.ResponseWriter.Written() }

func (w *bufferedWriter) Size() int { return w.ResponseWriter.Size() + w.buf.Len() }

// Flush is held back with the body: a flush would send the headers.
func (w *bufferedWriter) Flush() {}

// send writes the buffered body, with its length, to the client. It runs
// after the slot is given back.
func (w *bufferedWriter) send() {
	defer bodies.Put(w.buf)
	if w.buf.Len() == 0 {
		return
	}
	h := w.Header()
	if h.Get("Content-Length") == "" && h.Get("Transfer-Encoding") == "" && bodyAllowed(w.Status()) {
		h.Set("Content-Length", strconv.Itoa(w.buf.Len()))
	}
	w.ResponseWriter.Write(w.buf.Bytes()) // a client gone by now is nobody's error
}

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}
