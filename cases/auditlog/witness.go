package auditlog

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"envelope/cases/store"
)

// DefaultWitnessEvery is how often serve hands a checkpoint to its
// witnesses.
const DefaultWitnessEvery = time.Minute

// Witness hands checkpoints to places outside the database: a folder
// (meant to be shipped to write-once storage, docs/operations.md) and a
// receiver URL that each checkpoint is POSTed to. A checkpoint is handed
// over when the log has grown since the last one, so an idle log does not
// fill the folder.
type Witness struct {
	DB  *store.DB
	Key *Key
	// Dir receives one file per checkpoint (mode 0600, folder 0700).
	Dir string
	// URL receives each checkpoint as a POST (text/plain).
	URL    string
	Client *http.Client
	Logger *slog.Logger

	last    uint64
	started bool
}

// Run hands a checkpoint over at once, then every interval, and a last one
// when ctx ends (at shutdown), until ctx is done.
func (w *Witness) Run(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		w.logErr(w.Once(ctx))
		select {
		case <-ctx.Done():
			// The final checkpoint covers what was written up to the
			// shutdown; ctx is gone, so it gets a short one of its own.
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			w.logErr(w.Once(sctx))
			cancel()
			return
		case <-tick.C:
		}
	}
}

func (w *Witness) logErr(err error) {
	if err == nil {
		return
	}
	l := w.Logger
	if l == nil {
		l = slog.Default()
	}
	l.Error("audit witness", "err", err)
}

// Once signs the current checkpoint and hands it to the folder and the
// receiver, unless the log has not grown since the last one handed over.
func (w *Witness) Once(ctx context.Context) error {
	cp, th, err := Checkpoint(ctx, w.DB, w.Key)
	if err != nil {
		return err
	}
	if w.started && th.Size == w.last {
		return nil
	}
	var errs []error
	if w.Dir != "" {
		if err := w.write(cp, th); err != nil {
			errs = append(errs, err)
		}
	}
	if w.URL != "" {
		if err := w.post(ctx, cp); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		w.started, w.last = true, th.Size
		return nil
	}
	return fmt.Errorf("checkpoint of %d events: %v", th.Size, errs)
}

// FilePrefix starts the name of every checkpoint file in a witness folder.
const FilePrefix = "checkpoint-"

func (w *Witness) write(cp []byte, th store.TreeHead) error {
	if err := os.MkdirAll(w.Dir, 0o700); err != nil {
		return fmt.Errorf("witness folder: %w", err)
	}
	// Time first, so the folder sorts by when; the size tells at a glance
	// how much of the log each one pins.
	name := fmt.Sprintf("%s%s-%012d.txt", FilePrefix, time.Now().UTC().Format("20060102T150405.000000000Z"), th.Size)
	return createFile(filepath.Join(w.Dir, name), cp)
}

func (w *Witness) post(ctx context.Context, cp []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(cp))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	c := w.Client
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("post to the witness: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the witness at %s answered %s", w.URL, resp.Status)
	}
	return nil
}

// Signed is a checkpoint read from a file, with what it signs.
type Signed struct {
	File string
	Head store.TreeHead
}

// ReadFile reads and checks one checkpoint file.
func ReadFile(path string, v note.Verifier) (Signed, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Signed{}, err
	}
	th, err := Open(b, v)
	if err != nil {
		return Signed{}, fmt.Errorf("%s: %w", path, err)
	}
	return Signed{File: path, Head: th}, nil
}

// ReadDir reads every checkpoint file of a witness folder, oldest first.
// A file that is not a checkpoint signed by v is an error naming it: a
// witness folder holds nothing else.
func ReadDir(dir string, v note.Verifier) ([]Signed, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() && strings.HasPrefix(e.Name(), FilePrefix) {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s holds no checkpoint (%s*)", dir, FilePrefix)
	}
	sort.Strings(names)
	out := make([]Signed, 0, len(names))
	for _, n := range names {
		s, err := ReadFile(filepath.Join(dir, n), v)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
