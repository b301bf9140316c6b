// Package clock computes the deadlines of a case from its request and its
// events, under clock rules that are data: a YAML file (default.yaml is
// embedded) checked strictly when loaded, like the disclosure policy. The
// engine is pure: no I/O beyond reading a file, no clock of its own, so the
// same request, events and rules always give the same deadlines, and a
// change of the rules can be replayed over stored cases.
package clock

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"envelope/cases"
	"envelope/policy/internal/yamlpath"
)

//go:embed default.yaml
var defaultYAML []byte

var defaultClocks = sync.OnceValue(func() *Clocks {
	c, err := Load(defaultYAML)
	if err != nil {
		panic("clock: the embedded default.yaml does not load: " + err.Error())
	}
	return c
})

// Default returns the embedded default clock rules.
func Default() *Clocks { return defaultClocks() }

// Clocks is a loaded, checked clock file; immutable.
type Clocks struct {
	file      file
	version   string
	source    []byte
	rules     []*rule
	calendars map[string]*calendar
}

// Version is "sha256:" and the hex SHA-256 of the file's canonical form:
// comments and layout do not change it.
func (c *Clocks) Version() string { return c.version }

// Source is the file as loaded.
func (c *Clocks) Source() []byte { return slices.Clone(c.source) }

type file struct {
	Events    eventsSection           `yaml:"events" json:"events"`
	Rules     []ruleFile              `yaml:"rules" json:"rules"`
	Calendars map[string]calendarFile `yaml:"calendars" json:"calendars"`
}

type eventsSection struct {
	Pauses []struct {
		Pause  string `yaml:"pause" json:"pause"`
		Resume string `yaml:"resume" json:"resume"`
	} `yaml:"pauses" json:"pauses"`
	Reset          string   `yaml:"reset" json:"reset"`
	Extend         []string `yaml:"extend" json:"extend"`
	LiftHold       string   `yaml:"lift_hold" json:"lift_hold"`
	Refuse         string   `yaml:"refuse" json:"refuse"`
	LinkProduction string   `yaml:"link_production" json:"link_production"`
}

type ruleFile struct {
	ID            string   `yaml:"id" json:"id"`
	ProcessTypes  []string `yaml:"process_types" json:"process_types"`
	Countries     []string `yaml:"countries" json:"countries"`
	When          []string `yaml:"when" json:"when"`
	Clock         string   `yaml:"clock" json:"clock"`
	Start         string   `yaml:"start" json:"start"`
	Period        string   `yaml:"period" json:"period"`
	Extension     string   `yaml:"extension" json:"extension"`
	MaxExtensions int      `yaml:"max_extensions" json:"max_extensions"`
	Legal         bool     `yaml:"legal" json:"legal"`
}

type calendarFile struct {
	Weekend  []string `yaml:"weekend" json:"weekend"`
	Holidays []string `yaml:"holidays" json:"holidays"`
}

// Clock names.
const (
	ClockDue        = "due"
	ClockHold       = "hold"
	ClockObjection  = "objection"
	ClockPreserve   = "preserve"
	ClockCollection = "collection"
)

var clockNames = []string{ClockDue, ClockHold, ClockObjection, ClockPreserve, ClockCollection}

var conditions = []string{"emergency", "not_emergency", "enforcing_state_notified", "not_enforcing_state_notified"}

var starts = []string{"received_at", "effective_at"}

// period is a length of time: hours elapse, days follow the calendar of the
// organisation's zone, business days the country's calendar.
type period struct {
	n    int
	unit string // "h", "d", "bd"
}

func (p period) String() string {
	switch p.unit {
	case "h":
		return plural(p.n, "hour")
	case "bd":
		return plural(p.n, "business day")
	}
	return plural(p.n, "day")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

var periodRE = regexp.MustCompile(`^(-?[0-9]+)(h|d|bd)$`)

func parsePeriod(s string) (period, string) {
	g := periodRE.FindStringSubmatch(strings.TrimSpace(s))
	if g == nil {
		return period{}, fmt.Sprintf("%q is not a period: a number and h (hours), d (days) or bd (business days), e.g. 10d", s)
	}
	n, err := strconv.Atoi(g[1])
	switch {
	case err != nil || n > 36600:
		return period{}, fmt.Sprintf("%q is too long a period", s)
	case n < 0:
		return period{}, fmt.Sprintf("%q is negative: a period counts forward from its start", s)
	case n == 0:
		return period{}, fmt.Sprintf("%q is zero: a clock that ends when it starts is a mistake", s)
	}
	return period{n: n, unit: g[2]}, ""
}

type rule struct {
	ruleFile
	line         int
	processes    map[cases.ProcessType]bool // nil: every process type
	countries    map[string]bool            // nil: every country
	period, ext  period
	hasExtension bool
}

type calendar struct {
	weekend  map[time.Weekday]bool
	holidays map[string]bool // YYYY-MM-DD
}

var weekdays = map[string]time.Weekday{"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday,
	"wednesday": time.Wednesday, "thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday}

// LoadFile reads and loads a clock file.
func LoadFile(path string) (*Clocks, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("clock: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 1<<20+1))
	if err != nil {
		return nil, fmt.Errorf("clock: reading %s: %w", path, err)
	}
	c, err := Load(data)
	var le *LoadError
	if errors.As(err, &le) {
		le.File = path
	}
	return c, err
}

// LoadError is a refused clock file: every problem, each naming its line
// and field.
type LoadError struct {
	File     string
	Problems []Problem
}

// Problem is one reason a clock file was refused.
type Problem struct {
	Line    int    `json:"line,omitempty"`
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	s := p.Message
	if p.Path != "" {
		s = p.Path + ": " + s
	}
	if p.Line > 0 {
		s = fmt.Sprintf("line %d: %s", p.Line, s)
	}
	return s
}

func (e *LoadError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	name := "clock rules"
	if e.File != "" {
		name += " " + e.File
	}
	return name + " refused: " + strings.Join(parts, "; ")
}

var yamlLine = regexp.MustCompile(`line (\d+): (.*)$`)

// Load parses and checks a clock file.
func Load(data []byte) (*Clocks, error) {
	if len(data) > 1<<20 {
		return nil, &LoadError{Problems: []Problem{{Message: "the file is larger than 1 MiB"}}}
	}
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &LoadError{Problems: []Problem{{Message: "the file is empty"}}}
		}
		var out []Problem
		msgs := []string{err.Error()}
		var te *yaml.TypeError
		if errors.As(err, &te) {
			msgs = te.Errors
		}
		for _, m := range msgs {
			p := Problem{Message: strings.TrimPrefix(m, "yaml: ")}
			if g := yamlLine.FindStringSubmatch(m); g != nil {
				p.Line, _ = strconv.Atoi(g[1])
				p.Message = strings.Replace(g[2], "not found in type clock.ruleFile", "is not a key of a rule", 1)
			}
			out = append(out, p)
		}
		return nil, &LoadError{Problems: out}
	}
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root)
	ck := &checker{root: &root}
	c := &Clocks{file: f, source: slices.Clone(data), calendars: map[string]*calendar{}}
	ck.check(c)
	if len(ck.problems) > 0 {
		sort.SliceStable(ck.problems, func(i, j int) bool { return ck.problems[i].Line < ck.problems[j].Line })
		return nil, &LoadError{Problems: ck.problems}
	}
	canon, _ := json.Marshal(&c.file)
	sum := sha256.Sum256(canon)
	c.version = "sha256:" + hex.EncodeToString(sum[:])
	return c, nil
}

type checker struct {
	root     *yaml.Node
	problems []Problem
}

func (ck *checker) add(path []any, format string, args ...any) {
	ck.problems = append(ck.problems, Problem{Line: ck.line(path), Path: yamlpath.String(path), Message: fmt.Sprintf(format, args...)})
}

func (ck *checker) line(path []any) int { return yamlpath.Line(ck.root, path) }

func (ck *checker) check(c *Clocks) {
	f := &c.file
	ev := f.Events
	for i, p := range ev.Pauses {
		if strings.TrimSpace(p.Pause) == "" || strings.TrimSpace(p.Resume) == "" {
			ck.add([]any{"events", "pauses", i}, "needs both pause and resume: the events that stop and restart the clock")
		} else if p.Pause == p.Resume {
			ck.add([]any{"events", "pauses", i}, "pauses and resumes on the same event %q", p.Pause)
		}
	}
	if len(f.Rules) == 0 {
		ck.add([]any{"rules"}, "lists no rule, so no deadline could be computed")
	}
	ids := map[string]int{}
	for i := range f.Rules {
		rf := &f.Rules[i]
		at := []any{"rules", i}
		r := &rule{ruleFile: *rf, line: ck.line(at)}
		if rf.ID == "" {
			ck.add(append(at, "id"), "is required: the rule ID each deadline names")
		} else if j, ok := ids[rf.ID]; ok {
			ck.add(append(at, "id"), "%s is already the ID of rules[%d]", rf.ID, j)
		}
		ids[rf.ID] = i
		if len(rf.ProcessTypes) == 0 {
			ck.add(append(at, "process_types"), `lists no process type ("*" for every one)`)
		}
		for j, pt := range rf.ProcessTypes {
			if pt == "*" {
				r.processes = nil
				break
			}
			if !cases.ProcessType(pt).Valid() {
				ck.add(append(at, "process_types", j), "%q is not a process type (one of %s, or \"*\")", pt, joinTypes())
				continue
			}
			if r.processes == nil {
				r.processes = map[cases.ProcessType]bool{}
			}
			r.processes[cases.ProcessType(pt)] = true
		}
		for j, cc := range rf.Countries {
			if msg := cases.ValidCountry(cc); msg != "" {
				ck.add(append(at, "countries", j), "%s", msg)
				continue
			}
			if r.countries == nil {
				r.countries = map[string]bool{}
			}
			r.countries[cc] = true
		}
		for j, w := range rf.When {
			if !slices.Contains(conditions, w) {
				ck.add(append(at, "when", j), "%q is not a condition (one of %s)", w, strings.Join(conditions, ", "))
			}
		}
		if !slices.Contains(clockNames, rf.Clock) {
			ck.add(append(at, "clock"), "%q is not a clock (one of %s)", rf.Clock, strings.Join(clockNames, ", "))
		}
		if rf.Start != "" && !slices.Contains(starts, rf.Start) {
			ck.add(append(at, "start"), "%q is not a start event (one of %s)", rf.Start, strings.Join(starts, ", "))
		}
		var msg string
		if r.period, msg = parsePeriod(rf.Period); msg != "" {
			ck.add(append(at, "period"), "%s", msg)
		}
		if rf.Extension != "" {
			r.hasExtension = true
			if r.ext, msg = parsePeriod(rf.Extension); msg != "" {
				ck.add(append(at, "extension"), "%s", msg)
			}
		}
		if rf.MaxExtensions < 0 {
			ck.add(append(at, "max_extensions"), "must not be negative, not %d", rf.MaxExtensions)
		} else if rf.MaxExtensions > 0 && !r.hasExtension {
			ck.add(append(at, "max_extensions"), "can never apply: the rule has no extension period")
		}
		c.rules = append(c.rules, r)
	}
	if _, ok := f.Calendars["default"]; !ok {
		ck.add([]any{"calendars"}, "needs a default calendar for countries without their own")
	}
	for name, cf := range f.Calendars {
		at := []any{"calendars", name}
		if name != "default" {
			if msg := cases.ValidCountry(name); msg != "" {
				ck.add(at, "%s", msg)
			}
		}
		cal := &calendar{weekend: map[time.Weekday]bool{}, holidays: map[string]bool{}}
		for j, d := range cf.Weekend {
			wd, ok := weekdays[strings.ToLower(d)]
			if !ok {
				ck.add(append(at, "weekend", j), "%q is not a day of the week (monday … sunday)", d)
			}
			cal.weekend[wd] = true
		}
		if len(cal.weekend) >= 7 {
			ck.add(append(at, "weekend"), "leaves no business day")
		}
		for j, d := range cf.Holidays {
			if _, err := time.Parse(time.DateOnly, d); err != nil {
				ck.add(append(at, "holidays", j), "%q is not a date (YYYY-MM-DD)", d)
			}
			cal.holidays[d] = true
		}
		c.calendars[name] = cal
	}
}

func joinTypes() string {
	parts := make([]string, len(cases.ProcessTypes))
	for i, p := range cases.ProcessTypes {
		parts[i] = string(p)
	}
	return strings.Join(parts, ", ")
}
