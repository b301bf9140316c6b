package metadata

import (
	"bufio"
	"bytes"
	"sort"
	"strings"
	"testing"

	"envelope/cases"
)

// The generator is deterministic, its output imports without a single
// rejected line, and it looks like a real graph: numbers from many
// countries, and a few heavy hitters carrying much of the traffic.
func TestGenerate(t *testing.T) {
	var a, b, c bytes.Buffer
	stats, err := Generate(&a, GenerateOptions{Accounts: 500, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	Generate(&b, GenerateOptions{Accounts: 500, Seed: 42})
	Generate(&c, GenerateOptions{Accounts: 500, Seed: 43})
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("same seed, different output")
	}
	if bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Fatal("different seeds, same output")
	}
	for _, k := range Kinds {
		if stats.ByKind[k] == 0 {
			t.Errorf("no %s records", k)
		}
	}
	var dec Decoder
	countries := map[string]bool{}
	sent := map[string]int{}
	received := map[string]int{}
	messages := 0
	sc := bufio.NewScanner(&a)
	for n := 1; sc.Scan(); n++ {
		r, err := dec.Decode(sc.Bytes())
		if err != nil {
			t.Fatalf("line %d: %v: %s", n, err, sc.Text())
		}
		switch r := r.(type) {
		case *Subscriber:
			if msg := cases.ValidPhone(r.Account); msg != "" {
				t.Fatalf("%s %s", r.Account, msg)
			}
			countries[r.Account[:3]] = true
		case *Message:
			messages++
			sent[r.From]++
			received[r.To]++
		}
	}
	if stats.ByKind[KindSubscriber] != 500 || len(countries) < 6 {
		t.Fatalf("%d subscribers from %d calling-code prefixes", stats.ByKind[KindSubscriber], len(countries))
	}
	// The top 2% of senders send over a third of the messages.
	counts := make([]int, 0, len(sent))
	for _, n := range sent {
		counts = append(counts, n)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(counts)))
	top := 0
	for _, n := range counts[:10] {
		top += n
	}
	if top*3 < messages {
		t.Fatalf("top 10 senders send %d of %d messages: no heavy hitters", top, messages)
	}
	if stats.Lines != int64(strings.Count(b.String(), "\n")) {
		t.Fatalf("stats count %d lines", stats.Lines)
	}
}

func TestPhones(t *testing.T) {
	p := Phones(2000, 1)
	seen := map[string]bool{}
	for _, n := range p {
		if seen[n] || cases.ValidPhone(n) != "" {
			t.Fatalf("%s: duplicate or invalid", n)
		}
		seen[n] = true
	}
	if q := Phones(2000, 1); q[1999] != p[1999] {
		t.Fatal("not deterministic")
	}
}

// Included accounts are generated like any other, with full records.
func TestGenerateIncludes(t *testing.T) {
	var buf bytes.Buffer
	want := []string{"+14155550123", "night_owl_77"}
	stats, err := Generate(&buf, GenerateOptions{Accounts: 50, Seed: 1, Include: want})
	if err != nil || stats.ByKind[KindSubscriber] != 50 {
		t.Fatalf("%+v %v", stats, err)
	}
	for _, a := range want {
		if !strings.Contains(buf.String(), `{"kind":"subscriber","account":"`+a+`"`) {
			t.Errorf("no subscriber record for %s", a)
		}
	}
	if _, err := Generate(&buf, GenerateOptions{Accounts: 1, Include: []string{"+1 415"}}); cases.ErrorFields(err)["include[0]"] == "" {
		t.Fatalf("a bad account included: %v", err)
	}
}
