package main

import (
	"context"
	"flag"
	"log/slog"
	"time"

	"envelope/cases/auditlog"
	"envelope/cases/store"
)

// witnessOptions are serve's witness flags.
type witnessOptions struct {
	dir, url string
	every    time.Duration
}

func witnessFlags(fs *flag.FlagSet) *witnessOptions {
	w := &witnessOptions{}
	fs.StringVar(&w.dir, "witness", "", "hand a signed audit checkpoint to this folder (outside the database; ship it to write-once storage) every --witness-every and at shutdown")
	fs.StringVar(&w.url, "witness-url", "", "POST each audit checkpoint to this URL")
	fs.DurationVar(&w.every, "witness-every", auditlog.DefaultWitnessEvery, "how often to hand a checkpoint to the witnesses (when the log has grown)")
	return w
}

// startWitness runs the witness until the returned stop is called; stop
// hands over a last checkpoint first. Its context is not the signal's, so
// the last checkpoint is taken after the in-flight requests have finished.
func startWitness(ctx context.Context, s *store.DB, keys string, o *witnessOptions, logger *slog.Logger) (stop func(), err error) {
	if o.dir == "" && o.url == "" {
		return func() {}, nil
	}
	if o.every <= 0 {
		return nil, usageError{"--witness-every must be positive"}
	}
	key, err := auditlog.LoadOrCreateKey(keys)
	if err != nil {
		return nil, err
	}
	w := &auditlog.Witness{DB: s, Key: key, Dir: o.dir, URL: o.url, Logger: logger}
	logger.Info("audit witness", "folder", o.dir, "url", o.url, "every", o.every.String())
	return background(context.WithoutCancel(ctx), func(ctx context.Context) { w.Run(ctx, o.every) }), nil
}
