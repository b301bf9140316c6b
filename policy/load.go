package policy

import (
	"bytes"
	"crypto/sha256"
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
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"envelope/cases"
	"envelope/policy/internal/yamlpath"
)

// LoadFile reads and loads a policy file.
func LoadFile(path string) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPolicySize+1))
	if err != nil {
		return nil, fmt.Errorf("policy: reading %s: %w", path, err)
	}
	p, err := Load(data)
	if err != nil {
		var le *LoadError
		if errors.As(err, &le) {
			le.File = path
		}
		return nil, err
	}
	return p, nil
}

// Load parses and checks a policy. A policy with an unknown key, category,
// process type or country code, a duplicate entry, a limit that is not
// positive, or a rule that could never apply is refused with a *LoadError
// naming every problem and its line.
func Load(data []byte) (*Policy, error) {
	if len(data) > maxPolicySize {
		return nil, &LoadError{Problems: []Problem{{Message: fmt.Sprintf("the file is larger than %d bytes", maxPolicySize)}}}
	}
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true) // a misspelt key must not silently drop a rule
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &LoadError{Problems: []Problem{{Message: "the file is empty"}}}
		}
		return nil, &LoadError{Problems: yamlProblems(err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, &LoadError{Problems: []Problem{{Line: extra.Line, Message: "the file holds more than one YAML document (a second \"---\")"}}}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil { // cannot fail after Decode did not
		return nil, &LoadError{Problems: yamlProblems(err)}
	}
	c := &checker{root: &root}
	c.check(&f)
	if len(c.problems) > 0 {
		sort.SliceStable(c.problems, func(i, j int) bool { return c.problems[i].Line < c.problems[j].Line })
		return nil, &LoadError{Problems: c.problems}
	}
	f.normalize()
	canon, err := json.Marshal(&f)
	if err != nil {
		return nil, fmt.Errorf("policy: canonical form: %w", err)
	}
	sum := sha256.Sum256(canon)
	p := &Policy{file: f, version: "sha256:" + hex.EncodeToString(sum[:]), source: slices.Clone(data)}
	p.compile()
	return p, nil
}

// LoadError is a refused policy file: every problem found, each with the
// line and the place (a path like us_process.subpoena.allow[1]) it is at.
type LoadError struct {
	File     string // set by LoadFile
	Problems []Problem
}

// Problem is one reason a policy file was refused.
type Problem struct {
	Line    int    `json:"line,omitempty"` // 0 when the place is missing from the file
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Error is one line, so that a CLI can print it as is. It names the first
// ten problems; Problems holds them all.
func (e *LoadError) Error() string {
	const most = 10
	var parts []string
	for i, p := range e.Problems {
		if i == most {
			parts = append(parts, fmt.Sprintf("and %d more", len(e.Problems)-most))
			break
		}
		parts = append(parts, p.String())
	}
	name := "policy"
	if e.File != "" {
		name = "policy " + e.File
	}
	return name + " refused: " + strings.Join(parts, "; ")
}

var (
	yamlLine      = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	yamlUnknown   = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
	yamlCannot    = regexp.MustCompile("^cannot unmarshal !!(\\w+) (`.*`|) ?into (\\S+)$")
	yamlTypeNames = map[string]string{
		"int": "a whole number", "string": "text", "[]string": "a list",
		"[]cases.Category": "a list of categories", "[]cases.ProcessType": "a list of process types",
		"cases.Category": "a category name", "cases.ProcessType": "a process type name",
	}
	yamlKinds = map[string]string{"seq": "a list", "map": "a section", "str": "text", "int": "a number",
		"float": "a number", "bool": "true or false", "null": "nothing"}
)

// yamlProblems turns yaml.v3's errors, which name Go types, into messages a
// policy author can act on.
func yamlProblems(err error) []Problem {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	out := make([]Problem, 0, len(msgs))
	for _, m := range msgs {
		m = strings.ReplaceAll(m, "\n", " ") // LoadError.Error is one line
		p := Problem{Message: strings.TrimPrefix(m, "yaml: ")}
		if g := yamlLine.FindStringSubmatch(m); g != nil {
			p.Line, _ = strconv.Atoi(g[1])
			p.Message = g[2]
		}
		if g := yamlUnknown.FindStringSubmatch(p.Message); g != nil {
			p.Message = fmt.Sprintf("unknown key %q (misspelt, or not a setting of this section)", g[1])
		} else if g := yamlCannot.FindStringSubmatch(p.Message); g != nil {
			want, ok := yamlTypeNames[g[3]]
			if !ok {
				want = "a section of key: value lines"
				if strings.HasPrefix(g[3], "map[") {
					want = "a section of process types"
				}
			}
			got := strings.Trim(g[2], "`")
			if got == "" {
				got = yamlKinds[g[1]]
			}
			p.Message = fmt.Sprintf("must be %s, not %s", want, got)
		}
		out = append(out, p)
	}
	return out
}

// checker collects every problem of a parsed file, locating each in the
// YAML tree so the message can name its line.
type checker struct {
	root     *yaml.Node
	problems []Problem
}

// path elements are map keys (string) or list indexes (int).
func (c *checker) add(path []any, format string, args ...any) {
	c.problems = append(c.problems, Problem{Line: c.line(path), Path: pathString(path), Message: fmt.Sprintf(format, args...)})
}

func pathString(path []any) string { return yamlpath.String(path) }

// line finds the deepest node of path that exists in the file.
func (c *checker) line(path []any) int { return yamlpath.Line(c.root, path) }

// loc builds a path for checker.add.
func loc(path ...any) []any { return path }

// builtinHandlers are process types with a section of their own (or, for
// FISA, a fixed rule).
var builtinHandlers = map[cases.ProcessType]string{
	cases.Emergency:    "the emergency section (EMERGENCY)",
	cases.Preservation: "the preservation section (PRESERVATION)",
	cases.FISA:         "the built-in FISA rule",

	cases.EUProductionOrder:   "the eu_orders section (EU-EPOC)",
	cases.EUPreservationOrder: "the eu_orders section (EU-PRESERVATION)",
}

var ruleID = regexp.MustCompile(`^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$`)

func (c *checker) check(f *file) {
	// GLOBAL-TARGETS
	switch {
	case f.Targets.Max <= 0:
		c.add(loc("targets", "max"), "must be a positive number of accounts, not %d", f.Targets.Max)
	case f.Targets.Max > 10000:
		c.add(loc("targets", "max"), "%d can never apply: intake accepts at most 10000 targets on a request", f.Targets.Max)
	}
	if len(f.Targets.Wildcards) == 0 {
		c.add(loc("targets", "wildcards"), "lists no wildcard character, so a target naming many accounts would never be caught")
	}
	seenW := map[string]bool{}
	for i, w := range f.Targets.Wildcards {
		r, size := utf8.DecodeRuneInString(w)
		switch {
		case size == 0 || size != len(w):
			c.add(loc("targets", "wildcards", i), "%q must be a single character", w)
		case unicode.IsSpace(r) || unicode.IsControl(r):
			c.add(loc("targets", "wildcards", i), "%q can never match: intake refuses targets with white space", w)
		case seenW[w]:
			c.add(loc("targets", "wildcards", i), "%q is listed twice", w)
		}
		seenW[w] = true
	}

	// JURIS-PROCESS: each process type in exactly one list.
	where := map[cases.ProcessType]string{}
	for _, l := range []struct {
		name string
		list []cases.ProcessType
	}{{"us_only", f.Jurisdiction.USOnly}, {"non_us_only", f.Jurisdiction.NonUSOnly}, {"anywhere", f.Jurisdiction.Anywhere}, {"eu_only", f.Jurisdiction.EUOnly}} {
		for i, pt := range l.list {
			at := loc("jurisdiction", l.name, i)
			if !c.processType(at, pt) {
				continue
			}
			if prev, ok := where[pt]; ok {
				c.add(at, "%s is already listed under jurisdiction.%s: each process type goes in exactly one list", pt, prev)
				continue
			}
			where[pt] = l.name
		}
	}
	for _, pt := range cases.ProcessTypes {
		if _, ok := where[pt]; !ok {
			c.add(loc("jurisdiction"), "%s is not listed: put it under us_only, non_us_only, eu_only or anywhere", pt)
		}
	}
	validUS := func(pt cases.ProcessType) bool { return where[pt] == "us_only" || where[pt] == "anywhere" }
	validNonUS := func(pt cases.ProcessType) bool { return where[pt] == "non_us_only" || where[pt] == "anywhere" }

	// GLOBAL-PROCESS-VALID
	c.processList(loc("process_validity", "exempt"), f.ProcessValidity.Exempt, nil)

	// Rule 6: US process. Keys in sorted order so problems come out stably.
	handled := map[cases.ProcessType]string{}
	for pt, what := range builtinHandlers {
		handled[pt] = what
	}
	ruleIDs := map[string]cases.ProcessType{}
	keys := make([]cases.ProcessType, 0, len(f.USProcess))
	for pt := range f.USProcess {
		keys = append(keys, pt)
	}
	slices.Sort(keys)
	for _, pt := range keys {
		r := f.USProcess[pt]
		at := loc("us_process", string(pt))
		if !c.processType(at, pt) {
			continue
		}
		if what, ok := handled[pt]; ok {
			c.add(at, "%s is decided by %s: remove it from us_process", pt, what)
			continue
		}
		handled[pt] = "us_process"
		if where[pt] != "" && !validUS(pt) {
			c.add(at, "can never apply: %s is not valid from US agencies (it is under jurisdiction.%s)", pt, where[pt])
		}
		if r == nil {
			c.add(at, "is empty: give its rule and what it allows")
			continue
		}
		switch {
		case r.Rule == "":
			c.add(append(at, "rule"), "is required: the rule ID its decisions name, e.g. US-SUBPOENA")
		case !ruleID.MatchString(r.Rule):
			c.add(append(at, "rule"), "%q is not a rule ID (capital letters, digits and dashes, e.g. US-SUBPOENA)", r.Rule)
		case slices.Contains(builtinRules, r.Rule):
			c.add(append(at, "rule"), "%s is a built-in rule ID: choose another", r.Rule)
		default:
			if prev, ok := ruleIDs[r.Rule]; ok {
				c.add(append(at, "rule"), "%s is already the rule of us_process.%s", r.Rule, prev)
			}
			ruleIDs[r.Rule] = pt
		}
		if r.Reject != "" {
			if len(r.Allow) > 0 || len(r.Prospective) > 0 {
				c.add(at, "rejects the process, so it cannot also allow categories: remove allow/prospective or reject")
			}
			if r.Explain != "" {
				c.add(append(at, "explain"), "is never shown: a rejected process gives the reject text as its reason")
			}
			continue
		}
		if len(r.Allow) == 0 && len(r.Prospective) == 0 {
			c.add(at, "allows nothing: list categories under allow or prospective, or give the reason under reject")
		}
		seen := map[cases.Category]string{}
		c.categories(append(at, "allow"), r.Allow, false, seen)
		c.categories(append(at, "prospective"), r.Prospective, true, seen)
	}

	// Rule 8: foreign requests.
	fs := f.Foreign
	for i, pt := range fs.ProcessTypes {
		at := loc("foreign", "process_types", i)
		if !c.processType(at, pt) {
			continue
		}
		if what, ok := handled[pt]; ok {
			c.add(at, "%s is already decided by %s", pt, what)
			continue
		}
		handled[pt] = "foreign"
		if where[pt] != "" && !validNonUS(pt) {
			c.add(at, "can never apply: %s is not valid from agencies outside the US (it is under jurisdiction.%s)", pt, where[pt])
		}
	}
	if len(fs.ProcessTypes) > 0 && fs.Basic == nil {
		c.add(loc("foreign", "basic"), "is required: it decides every foreign request no other foreign rule covers")
	}
	if len(fs.ProcessTypes) == 0 && (fs.Basic != nil || fs.MessagePairs != nil || fs.CloudAct != nil) {
		c.add(loc("foreign", "process_types"), "lists no process type, so the foreign rules can never apply")
	}
	if fs.Basic != nil {
		c.categories(loc("foreign", "basic", "allow"), fs.Basic.Allow, false, map[cases.Category]string{})
		if len(fs.Basic.Allow) == 0 {
			c.add(loc("foreign", "basic", "allow"), "lists no category")
		}
	}
	pmpCountries := map[string]bool{}
	pmpCats := map[cases.Category]string{}
	if m := fs.MessagePairs; m != nil {
		at := loc("foreign", "message_pairs")
		if len(m.ProcessTypes) == 0 {
			c.add(append(at, "process_types"), "lists no process type, so the rule can never apply")
		}
		c.processList(append(at, "process_types"), m.ProcessTypes, func(i int, pt cases.ProcessType) {
			if !slices.Contains(fs.ProcessTypes, pt) {
				c.add(loc("foreign", "message_pairs", "process_types", i), "can never apply: %s is not under foreign.process_types", pt)
			}
		})
		c.countries(append(at, "countries"), m.Countries, pmpCountries)
		if len(m.Allow) == 0 && len(m.Prospective) == 0 {
			c.add(at, "allows nothing: list categories under allow or prospective")
		}
		c.categories(append(at, "allow"), m.Allow, false, pmpCats)
		c.categories(append(at, "prospective"), m.Prospective, true, pmpCats)
	}
	if ca := fs.CloudAct; ca != nil {
		at := loc("foreign", "cloud_act")
		if fs.MessagePairs == nil {
			c.add(at, "can never apply: CLOUD Act categories are granted on top of foreign.message_pairs, which is missing")
		}
		cloudCountries := map[string]bool{}
		c.countries(append(at, "countries"), ca.Countries, cloudCountries)
		if len(ca.Allow) == 0 {
			c.add(append(at, "allow"), "lists no category")
		}
		seen := map[cases.Category]string{}
		for k, v := range pmpCats {
			seen[k] = "already allowed by foreign.message_pairs." + v
		}
		c.categories(append(at, "allow"), ca.Allow, false, seen)
	}

	// Rules 9-10.
	if f.Emergency == nil {
		c.add(loc("emergency"), "is required: it decides emergency disclosure requests")
	} else {
		if len(f.Emergency.Recommend) == 0 {
			c.add(loc("emergency", "recommend"), "lists no category")
		}
		c.categories(loc("emergency", "recommend"), f.Emergency.Recommend, false, map[cases.Category]string{})
	}
	if f.Preservation.Days <= 0 {
		c.add(loc("preservation", "days"), "must be a positive number of days, not %d", f.Preservation.Days)
	} else if f.Preservation.Days > 3660 {
		c.add(loc("preservation", "days"), "%d days is more than ten years: the number is a mistake", f.Preservation.Days)
	}

	// PR-WINDOW
	if f.ProspectiveWindow.MaxDays <= 0 {
		c.add(loc("prospective_window", "max_days"), "must be a positive number of days, not %d", f.ProspectiveWindow.MaxDays)
	} else if f.ProspectiveWindow.MaxDays > 3660 {
		c.add(loc("prospective_window", "max_days"), "%d days is more than ten years: the number is a mistake", f.ProspectiveWindow.MaxDays)
	}

	c.checkEU(f)

	// Every process type must be decided by exactly one rule.
	for _, pt := range cases.ProcessTypes {
		if _, ok := handled[pt]; !ok {
			c.add(loc("us_process"), "no rule decides %s: add it to us_process or to foreign.process_types", pt)
		}
	}

	// Rule 14.
	noticed := map[cases.ProcessType]string{}
	for _, l := range []struct {
		name string
		list []cases.ProcessType
	}{{"none", f.UserNotice.None}, {"delayed", f.UserNotice.Delayed}} {
		c.processList(loc("user_notice", l.name), l.list, func(i int, pt cases.ProcessType) {
			if prev, ok := noticed[pt]; ok && prev != l.name {
				c.add(loc("user_notice", l.name, i), "%s is already listed under user_notice.%s", pt, prev)
			}
			noticed[pt] = l.name
		})
	}
}

// processType checks one process type name.
func (c *checker) processType(at []any, pt cases.ProcessType) bool {
	if !pt.Valid() {
		c.add(at, "%q is not a process type (one of %s)", pt, joinList(cases.ProcessTypes))
		return false
	}
	return true
}

// processList checks a list of process types for unknown names and
// duplicates, then calls each (if not nil) for every valid, new entry.
func (c *checker) processList(at []any, list []cases.ProcessType, each func(int, cases.ProcessType)) {
	seen := map[cases.ProcessType]bool{}
	for i, pt := range list {
		here := append(slices.Clip(at), i)
		if !c.processType(here, pt) {
			continue
		}
		if seen[pt] {
			c.add(here, "%s is listed twice", pt)
			continue
		}
		seen[pt] = true
		if each != nil {
			each(i, pt)
		}
	}
}

// countries checks a non-empty list of foreign country codes, recording the
// valid ones in seen.
func (c *checker) countries(at []any, list []string, seen map[string]bool) {
	if len(list) == 0 {
		c.add(at, "lists no country, so the rule can never apply")
	}
	for i, cc := range list {
		here := append(slices.Clip(at), i)
		switch {
		case cases.ValidCountry(cc) != "":
			msg := cases.ValidCountry(cc)
			if !strings.HasPrefix(msg, `"`) { // some messages name the code, some do not
				msg = fmt.Sprintf("%q %s", cc, msg)
			}
			c.add(here, "%s", msg)
		case cc == homeCountry:
			c.add(here, "can never apply: US agencies use US legal process, not the foreign rules")
		case seen[cc]:
			c.add(here, "%s is listed twice", cc)
		default:
			seen[cc] = true
		}
	}
}

// categories checks a list of categories to allow. seen holds the
// categories already allowed by the same rule (value: where), so that an
// entry that can never make a difference is refused.
func (c *checker) categories(at []any, list []cases.Category, prospective bool, seen map[cases.Category]string) {
	name := at[len(at)-1]
	for i, cat := range list {
		here := append(slices.Clip(at), i)
		switch {
		case !cat.Valid():
			c.add(here, "%q is not a data category (one of %s)", cat, joinList(cases.Categories))
		case cat == cases.MessageContent:
			c.add(here, "message_content can never be allowed: GLOBAL-CONTENT denies it under every policy (it is end-to-end encrypted and out of scope)")
		case cat == cases.MessagePairs && !prospective:
			c.add(here, "message_pairs are only collected going forward, inside an authorised window: list them under a rule's prospective categories")
		case seen[cat] != "":
			c.add(here, "%s is listed twice (%s)", cat, seen[cat])
		default:
			seen[cat] = fmt.Sprintf("%v", name)
		}
	}
}
