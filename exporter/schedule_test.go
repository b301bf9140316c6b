package exporter

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/metadata"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// pairLine is a collection event between a and b at t.
func pairLine(a, b string, t time.Time) string {
	return `{"from":"` + a + `","to":"` + b + `","at":"` + t.Format(time.RFC3339) + `","kind":"text"}`
}

// One scheduled pass produces again exactly the prospective cases with
// pairs collected since their last package, each package holding only
// those pairs, audited as the scheduler; a case with nothing new, a closed
// case, a case never produced and a historical order get none.
func TestProduceDue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		f.importFile("records.ndjson")
		const (
			quiet  = "+14155550200"
			closed = "+14155550300"
			fresh  = "+14155550400"
		)
		pen := func(target string) *cases.Case {
			return f.approve(f.logCase(cases.PenRegister, []string{target}, []cases.Allowed{
				{Category: cases.MessagePairs, Rule: "US-PEN-REGISTER", Window: penWindow, Prospective: true},
			}, nil))
		}
		busy := f.penRegister()
		quietCase, closedCase, freshCase := pen(quiet), pen(closed), pen(fresh)
		w := f.warrant()

		f.set(T0.Add(time.Hour))
		f.collect(pairLine(phone, "+14155550188", T0.Add(10*time.Minute)),
			pairLine(quiet, "+14155550188", T0.Add(11*time.Minute)),
			pairLine(closed, "+14155550188", T0.Add(12*time.Minute)))
		first := f.export(busy)
		f.export(quietCase)
		f.export(closedCase)
		f.export(w)
		if pkgs, err := f.exp.ProduceDue(ctx, SchedulerActor); err != nil || len(pkgs) != 0 {
			t.Fatalf("pass with nothing new: %v %v", pkgs, err)
		}

		// New pairs for busy, closed (then closed) and fresh (never
		// produced); none for quiet.
		f.set(T0.Add(2 * time.Hour))
		f.collect(pairLine(phone, "+14155550199", T0.Add(90*time.Minute)),
			pairLine("+14155550177", phone, T0.Add(30*time.Minute)), // late: stamped before the first package
			pairLine(closed, "+14155550199", T0.Add(91*time.Minute)),
			pairLine(fresh, "+14155550199", T0.Add(92*time.Minute)))
		if _, err := db.CloseCase(ctx, f.reviewer, closedCase.Number, "order expired"); err != nil {
			t.Fatal(err)
		}
		due, err := f.exp.Due(ctx)
		if err != nil || fmt.Sprint(due) != fmt.Sprint([]int64{busy.ID}) {
			t.Errorf("due %v %v, want [%d]", due, err, busy.ID)
		}
		f.set(T0.Add(3 * time.Hour))
		pkgs, err := f.exp.ProduceDue(ctx, SchedulerActor)
		if err != nil || len(pkgs) != 1 {
			t.Fatalf("pass: %+v %v", pkgs, err)
		}
		p := pkgs[0]
		if p.CaseID != busy.ID || p.Seq != 2 || p.Records != 2 || p.CreatedBy != SchedulerActor || p.LastPairID <= first.LastPairID {
			t.Errorf("scheduled package %+v after %+v", p, first)
		}
		csv := string(unzip(t, f.path(p))["records/message_pairs.csv"])
		if strings.Count(csv, "\n") != 3 || !strings.Contains(csv, "+14155550199") || !strings.Contains(csv, "+14155550177") || strings.Contains(csv, "+14155550188") {
			t.Errorf("scheduled package's pairs:\n%s", csv)
		}
		for _, c := range []*cases.Case{quietCase, closedCase, freshCase, w} {
			want := 1
			if c == freshCase {
				want = 0
			}
			if list, err := f.exp.Packages(ctx, c.Number); err != nil || len(list) != want {
				t.Errorf("%s has %d packages (%v), want %d", c.Number, len(list), err, want)
			}
		}
		evs, _ := db.Events(ctx, "case", fmt.Sprint(busy.ID))
		var audited bool
		for _, e := range evs {
			audited = audited || e.Action == "case.export" && e.Actor == SchedulerActor && strings.Contains(string(e.After), p.SHA256)
		}
		if !audited {
			t.Error("the scheduled production is not audited as the scheduler")
		}
		// A second pass finds nothing.
		if pkgs, err := f.exp.ProduceDue(ctx, SchedulerActor); err != nil || len(pkgs) != 0 {
			t.Errorf("second pass: %v %v", pkgs, err)
		}
		if _, err := db.VerifyAudit(ctx); err != nil {
			t.Error(err)
		}
	})
}

// RunProducer passes at once and on every tick, and stops with its
// context.
func TestRunProducer(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	pr := f.penRegister()
	f.set(T0.Add(time.Hour))
	f.collect(pairLine(phone, "+14155550188", T0.Add(10*time.Minute)))
	f.export(pr)
	f.collect(pairLine(phone, "+14155550199", T0.Add(20*time.Minute)))
	c, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { f.exp.RunProducer(c, 20*time.Millisecond); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		list, _ := f.exp.Packages(ctx, pr.Number)
		if len(list) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no scheduled package: %+v", list)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("RunProducer did not stop with its context")
	}
}

// Two instances (two handles on one database, one packages folder, one
// key), each running the scheduler, build every due production once: no
// case gets a package twice and no instance logs a lost race (issue 18:
// 37% of scheduled productions were built, signed and thrown away).
func TestRunProducerOnTwoInstances(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		other, err := store.Open(ctx, db.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		other.Now = db.Now
		second, err := New(other, metadata.New(other), f.keyDir, f.exp.Dir)
		if err != nil {
			t.Fatal(err)
		}
		var logs syncBuffer
		logger := slog.New(slog.NewTextHandler(&logs, nil))
		f.exp.Builder.Logger, second.Builder.Logger = logger, logger

		var pens []*cases.Case
		for i := range 6 {
			target := fmt.Sprintf("+1415555%04d", 700+i)
			c := f.approve(f.logCase(cases.PenRegister, []string{target}, []cases.Allowed{
				{Category: cases.MessagePairs, Rule: "US-PEN-REGISTER", Window: penWindow, Prospective: true},
			}, nil))
			pens = append(pens, c)
		}
		f.set(T0.Add(time.Hour))
		for i, c := range pens {
			f.collect(pairLine(c.Request.Targets[0].Value, "+14155550188", T0.Add(time.Duration(10+i)*time.Minute)))
			f.export(c)
			f.collect(pairLine(c.Request.Targets[0].Value, "+14155550199", T0.Add(time.Duration(40+i)*time.Minute)))
		}
		c, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for _, e := range []*Exporter{f.exp, second} {
			wg.Add(1)
			go func() { defer wg.Done(); e.RunProducer(c, 2*time.Millisecond) }()
		}
		deadline := time.Now().Add(30 * time.Second) // a hang guard
		for {
			due, err := f.exp.Due(ctx)
			if err == nil && len(due) == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond) // more passes of both, with nothing due
		cancel()
		wg.Wait()
		for _, c := range pens {
			if list, err := f.exp.Packages(ctx, c.Number); err != nil || len(list) != 2 {
				t.Errorf("%s has %d packages (%v), want 2: its first and one scheduled", c.Number, len(list), err)
			}
		}
		if strings.Contains(logs.String(), "level=ERROR") {
			t.Errorf("an instance logged an error:\n%s", logs.String())
		}
	})
}

// syncBuffer is a bytes.Buffer two loggers may write at once.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
