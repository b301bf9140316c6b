package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"
)

// With every slot taken, a page read waits in line and runs when a slot
// frees, in arrival order; writes and downloads never wait; a client that
// gives up leaves the line.
func TestAdmission(t *testing.T) {
	a := newAdmission(2)
	// Each holding request waits for its own release, so the test frees
	// one slot at a time and the order served is not left to the scheduler.
	release := map[string]chan struct{}{"a": make(chan struct{}), "b": make(chan struct{})}
	var mu sync.Mutex
	var order []string
	entered := make(chan string, 10)
	r := gin.New()
	r.Use(a.admit())
	handler := func(c *gin.Context) {
		mu.Lock()
		order = append(order, c.Query("n"))
		mu.Unlock()
		entered <- c.Query("n")
		if ch, ok := release[c.Query("n")]; ok {
			<-ch
		}
	}
	r.GET("/cases", handler)
	r.POST("/cases", handler)
	r.GET("/cases/1/exports/p.zip", handler)
	send := func(method, target string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(method, target, nil))
		return w
	}
	var wg sync.WaitGroup
	for _, n := range []string{"a", "b"} {
		wg.Add(1)
		go func() { defer wg.Done(); send("GET", "/cases?n="+n) }()
		<-entered
	}
	// Both slots held: the next reads queue, one after the other.
	for i, n := range []string{"c", "d"} {
		wg.Add(1)
		go func() { defer wg.Done(); send("GET", "/cases?n="+n) }()
		for a.waiting.Load() != int64(i+1) {
			runtime.Gosched()
		}
	}
	// A write and a download go straight through.
	send("POST", "/cases?n=w")
	send("GET", "/cases/1/exports/p.zip?n=x")
	if got := []string{<-entered, <-entered}; got[0] != "w" || got[1] != "x" {
		t.Fatalf("write and download waited: %v", got)
	}
	// A client that gives up leaves the line and is not served.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest("GET", "/cases?n=gone", nil).WithContext(ctx))
		done <- w.Code
	}()
	for a.waiting.Load() != 3 {
		runtime.Gosched()
	}
	cancel()
	<-done
	if a.waiting.Load() != 2 {
		t.Fatalf("a cancelled request stayed in line: %d waiting", a.waiting.Load())
	}
	// Freeing one slot admits the first in line, then the next.
	close(release["a"])
	if n := <-entered; n != "c" {
		t.Fatalf("first slot freed went to %q, want c", n)
	}
	close(release["b"])
	if n := <-entered; n != "d" {
		t.Fatalf("second slot freed went to %q, want d", n)
	}
	wg.Wait()
	mu.Lock()
	served := strings.Join(order, ",")
	mu.Unlock()
	if want := "a,b,w,x,c,d"; served != want {
		t.Errorf("served %s, want %s (the cancelled request never)", served, want)
	}
	if w := send("GET", "/cases?n=e"); w.Code != http.StatusOK {
		t.Errorf("after the line emptied: %d", w.Code)
	}
}
