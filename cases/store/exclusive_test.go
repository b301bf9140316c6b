package store_test

import (
	"context"
	"testing"
)

// Of two stores (two instances) on one PostgreSQL, only one runs a job at
// a time: the other skips it while it runs, runs it after, and a job of
// another name is not held up.
func TestExclusiveJob(t *testing.T) {
	a, b := twoStores(t)
	nothing := func(context.Context) error { return nil }
	running, finish := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		ran, err := a.Exclusive(ctx, "production", func(context.Context) error {
			close(running)
			<-finish
			return nil
		})
		if err == nil && !ran {
			t.Error("the first instance did not run the job")
		}
		done <- err
	}()
	<-running
	if ran, err := b.Exclusive(ctx, "production", nothing); ran || err != nil {
		t.Fatalf("the second instance ran the job while the first ran it: %v %v", ran, err)
	}
	if ran, err := b.Exclusive(ctx, "retention-purge", nothing); !ran || err != nil {
		t.Fatalf("another job was held up: %v %v", ran, err)
	}
	close(finish)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if ran, err := b.Exclusive(ctx, "production", nothing); !ran || err != nil {
		t.Fatalf("the job after the first instance finished: %v %v", ran, err)
	}
	// A run whose context ends gives the lock back too.
	cctx, cancel := context.WithCancel(ctx)
	a.Exclusive(cctx, "production", func(context.Context) error { cancel(); return cctx.Err() })
	if ran, err := b.Exclusive(ctx, "production", nothing); !ran || err != nil {
		t.Fatalf("the job after a cancelled run: %v %v", ran, err)
	}
}
