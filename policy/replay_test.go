package policy

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"envelope/cases"
)

// storedCases logs every golden request as a case decided under the
// default policy, as the case store would hold them.
func storedCases(t testing.TB) []*cases.Case {
	var out []*cases.Case
	for i, tc := range goldenCases {
		req := readRequest(t, tc.name)
		out = append(out, &cases.Case{ID: int64(i + 1), Number: cases.CaseNumber(goldenAt, int64(i+1)), Request: *req, Decision: Default().Decide(req, goldenAt)})
	}
	return out
}

func each(list []*cases.Case) func(func(*cases.Case) error) error {
	return func(yield func(*cases.Case) error) error {
		for _, c := range list {
			if err := yield(c); err != nil {
				return err
			}
		}
		return nil
	}
}

func TestReplay(t *testing.T) {
	stored := storedCases(t)

	// The same policy changes nothing, even years later.
	r, err := Replay(Default(), each(stored))
	if err != nil || r.Cases != len(stored) || len(r.Changed) != 0 || r.PolicyVersion != Default().Version() {
		t.Fatalf("replay under the same policy: %+v, %v", r, err)
	}

	// Adding France to the message-pairs countries changes exactly the
	// French court order asking for message pairs.
	wider, err := Load([]byte(strings.Replace(string(defaultYAML), "countries: [GB, BR, IN]", "countries: [GB, BR, IN, FR]", 1)))
	if err != nil {
		t.Fatal(err)
	}
	r, err = Replay(wider, each(stored))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Changed) != 1 || !strings.Contains(r.Changed[0].String(), "partial -> approve; gains message_pairs") {
		t.Errorf("replay with FR: %+v", r.Changed)
	}

	// Dropping ip_logs from 2703(d) orders loses it on every such case.
	narrower, err := Load([]byte(strings.Replace(string(defaultYAML), "allow: [basic_subscriber_info, ip_logs, device_info, profile, group_info, linked_accounts, enforcement_history]\n", "allow: [basic_subscriber_info, device_info, profile, group_info, linked_accounts, enforcement_history]\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	r, err = Replay(narrower, each(stored))
	if err != nil {
		t.Fatal(err)
	}
	var lost []string
	for _, c := range r.Changed {
		if !slices.Equal(c.Lost, []cases.Category{cases.IPLogs}) {
			t.Errorf("%s: %+v", c.Number, c)
		}
		lost = append(lost, c.Number)
	}
	if len(lost) != 2 { // court_order_2703d_contacts_partial and expires_at_decision_time
		t.Errorf("cases losing ip_logs: %v", lost)
	}

	// The iterator's error is the replay's error.
	boom := errors.New("database gone")
	if _, err := Replay(Default(), func(func(*cases.Case) error) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("error: %v", err)
	}
}

func TestSource(t *testing.T) {
	p := Default()
	src := p.Source()
	if !bytes.Equal(src, defaultYAML) {
		t.Fatal("Source is not the embedded file")
	}
	src[0] = 'X'
	if p.Source()[0] == 'X' {
		t.Error("Source shares memory with the policy")
	}
}

// BenchmarkReplay100k replays 100,000 stored cases (the golden requests,
// over and over) under a changed policy: the "in seconds" target.
func BenchmarkReplay100k(b *testing.B) {
	stored := storedCases(b)
	many := make([]*cases.Case, 100_000)
	for i := range many {
		many[i] = stored[i%len(stored)]
	}
	p, err := Load([]byte(strings.Replace(string(defaultYAML), "countries: [GB, BR, IN]", "countries: [GB, BR, IN, FR]", 1)))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Replay(p, each(many)); err != nil {
			b.Fatal(err)
		}
	}
}

// TestConcurrentDecide: a Policy is shared by every request the server
// handles; deciding must not write to it (run with -race).
func TestConcurrentDecide(t *testing.T) {
	stored := storedCases(t)
	done := make(chan struct{})
	for g := 0; g < 4; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for _, c := range stored {
				Default().Redecide(&c.Request, c.Decision)
			}
		}()
	}
	for g := 0; g < 4; g++ {
		<-done
	}
}
