// Package policy is envelope's disclosure policy engine: given a lawful
// request and a decision time, it says which data categories may be
// disclosed, which may not and why, each entry naming the rule behind it.
//
// The rules are data: a YAML file legal staff read and edit (default.yaml is
// embedded as the default), checked strictly when loaded. The engine itself
// is pure: no I/O beyond reading a policy file, no clock, no randomness, so
// the same request, time and policy always give the same decision, which is
// what lets a decision be replayed years later.
package policy

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"sync"

	"envelope/cases"
)

// Rule IDs. The IDs of US process rules come from the policy file; these are
// the ones the engine itself names.
const (
	RuleContent         = "GLOBAL-CONTENT"
	RuleTargets         = "GLOBAL-TARGETS"
	RuleProcessValid    = "GLOBAL-PROCESS-VALID"
	RuleRequester       = cases.RuleRequester
	RuleAgencyUnknown   = cases.RuleAgencyUnknown
	RuleAgencyLookalike = cases.RuleAgencyLookalike
	RuleJurisdiction    = "JURIS-PROCESS"
	RuleWindow          = "PR-WINDOW"
	RuleForeignPMP      = "FOREIGN-PMP"
	RuleForeignCloudAct = "FOREIGN-CLOUD-ACT"
	RuleForeignBasic    = "FOREIGN-BASIC"
	RuleEmergency       = "EMERGENCY"
	RulePreservation    = "PRESERVATION"
	RuleFISA            = "FISA"
)

// builtinRules are reserved: a policy file may not reuse them as US rule IDs.
var builtinRules = []string{
	RuleContent, RuleTargets, RuleProcessValid, RuleRequester, RuleJurisdiction, RuleWindow,
	RuleForeignPMP, RuleForeignCloudAct, RuleForeignBasic, RuleEmergency, RulePreservation, RuleFISA,
	RuleAgencyUnknown, RuleAgencyLookalike,
	RuleEUAuthority, RuleEUEPOC, RuleEUStoredOnly, RuleEUPreservation, RuleUSPerson, // eu.go
}

// homeCountry is where US legal process is valid (JURIS-PROCESS).
const homeCountry = "US"

// maxPolicySize bounds a policy file; the default is a few kilobytes.
const maxPolicySize = 1 << 20

//go:embed default.yaml
var defaultYAML []byte

var defaultPolicy = sync.OnceValue(func() *Policy {
	p, err := Load(defaultYAML)
	if err != nil {
		panic("policy: the embedded default.yaml does not load: " + err.Error())
	}
	return p
})

// Default returns the embedded default policy (default.yaml). It panics only
// if that file is broken, which the package's tests guard against.
func Default() *Policy { return defaultPolicy() }

// Policy is a loaded, checked policy. It is immutable and safe for
// concurrent use.
type Policy struct {
	file    file
	version string
	source  []byte // the file as loaded, comments and all

	procs          map[cases.ProcessType]*procRule
	wildcards      string
	pmpCountries   map[string]bool
	cloudCountries map[string]bool
	basic          *grantSet
	pmp            *grantSet
	cloud          *grantSet
	cloudFull      *grantSet // a CLOUD Act country without FOREIGN-PMP of its own (AU)
	eu             euRules   // eu.go
	emergency      *grantSet
	preservation   *grantSet
}

// Version identifies the policy: "sha256:" and the hex SHA-256 of its
// canonical form (canonical JSON of the parsed file, lists sorted). Comments,
// layout and the order of list entries do not change it; any change of a
// value does.
func (p *Policy) Version() string { return p.version }

// Source returns the policy file as it was loaded, comments included: what
// `envelope policy show` prints and what legal staff start an edit from.
func (p *Policy) Source() []byte { return slices.Clone(p.source) }

// The file's shape. yaml and json names are the same: json is only used for
// the canonical form that the version hashes.
type file struct {
	Targets           targetsSection                `yaml:"targets" json:"targets"`
	ProcessValidity   validitySection               `yaml:"process_validity" json:"process_validity"`
	Jurisdiction      jurisdictionSection           `yaml:"jurisdiction" json:"jurisdiction"`
	USProcess         map[cases.ProcessType]*usRule `yaml:"us_process" json:"us_process"`
	ProspectiveWindow windowSection                 `yaml:"prospective_window" json:"prospective_window"`
	Foreign           foreignSection                `yaml:"foreign" json:"foreign"`
	Emergency         *emergencySection             `yaml:"emergency" json:"emergency"`
	Preservation      preservationSection           `yaml:"preservation" json:"preservation"`
	UserNotice        noticeSection                 `yaml:"user_notice" json:"user_notice"`
	EU                *euSection                    `yaml:"eu_orders" json:"eu_orders"`
}

type targetsSection struct {
	Max       int      `yaml:"max" json:"max"`
	Wildcards []string `yaml:"wildcards" json:"wildcards"`
}

type validitySection struct {
	Exempt []cases.ProcessType `yaml:"exempt" json:"exempt"`
}

type jurisdictionSection struct {
	USOnly    []cases.ProcessType `yaml:"us_only" json:"us_only"`
	NonUSOnly []cases.ProcessType `yaml:"non_us_only" json:"non_us_only"`
	Anywhere  []cases.ProcessType `yaml:"anywhere" json:"anywhere"`
	// EUOnly are valid only from the Member States of eu_orders.
	EUOnly []cases.ProcessType `yaml:"eu_only" json:"eu_only"`
	// USTerritories are in the US for legal process (rule 5).
	USTerritories []string `yaml:"us_territories" json:"us_territories"`
}

type usRule struct {
	Rule        string           `yaml:"rule" json:"rule"`
	Allow       []cases.Category `yaml:"allow" json:"allow"`
	Prospective []cases.Category `yaml:"prospective" json:"prospective"`
	Reject      string           `yaml:"reject" json:"reject"`
	Explain     string           `yaml:"explain" json:"explain"`
}

type windowSection struct {
	MaxDays int `yaml:"max_days" json:"max_days"`
}

type foreignSection struct {
	ProcessTypes []cases.ProcessType `yaml:"process_types" json:"process_types"`
	Basic        *basicSection       `yaml:"basic" json:"basic"`
	MessagePairs *pmpSection         `yaml:"message_pairs" json:"message_pairs"`
	CloudAct     *cloudActSection    `yaml:"cloud_act" json:"cloud_act"`
}

type basicSection struct {
	Allow   []cases.Category `yaml:"allow" json:"allow"`
	Explain string           `yaml:"explain" json:"explain"`
}

type pmpSection struct {
	ProcessTypes []cases.ProcessType `yaml:"process_types" json:"process_types"`
	Countries    []string            `yaml:"countries" json:"countries"`
	Allow        []cases.Category    `yaml:"allow" json:"allow"`
	Prospective  []cases.Category    `yaml:"prospective" json:"prospective"`
	Explain      string              `yaml:"explain" json:"explain"`
}

type cloudActSection struct {
	Countries []string         `yaml:"countries" json:"countries"`
	Allow     []cases.Category `yaml:"allow" json:"allow"`
	Explain   string           `yaml:"explain" json:"explain"`
	// USPersonRegions (FOREIGN-US-PERSON): numbering-plan regions whose
	// phone targets send a CLOUD Act order to review.
	USPersonRegions []string `yaml:"us_person_regions" json:"us_person_regions"`
}

type emergencySection struct {
	Recommend []cases.Category `yaml:"recommend" json:"recommend"`
	Explain   string           `yaml:"explain" json:"explain"`
}

type preservationSection struct {
	Days int `yaml:"days" json:"days"`
}

type noticeSection struct {
	None    []cases.ProcessType `yaml:"none" json:"none"`
	Delayed []cases.ProcessType `yaml:"delayed" json:"delayed"`
}

// handler says which part of the policy decides a process type.
type handler int

const (
	handledUS handler = iota + 1
	handledForeign
	handledEmergency
	handledPreservation
	handledFISA
	handledEU // eu.go
)

func joinList[T ~string](list []T) string {
	parts := make([]string, len(list))
	for i, v := range list {
		parts[i] = string(v)
	}
	return strings.Join(parts, ", ")
}

// normalize puts the checked file in canonical form: lists sorted (their
// order means nothing), empty lists as absent, free text trimmed.
func (f *file) normalize() {
	sortAll(&f.Targets.Wildcards)
	sortAll(&f.ProcessValidity.Exempt)
	sortAll(&f.Jurisdiction.USOnly)
	sortAll(&f.Jurisdiction.NonUSOnly)
	sortAll(&f.Jurisdiction.Anywhere)
	for _, r := range f.USProcess {
		sortAll(&r.Allow)
		sortAll(&r.Prospective)
		r.Rule, r.Reject, r.Explain = strings.TrimSpace(r.Rule), strings.TrimSpace(r.Reject), strings.TrimSpace(r.Explain)
	}
	fs := &f.Foreign
	sortAll(&fs.ProcessTypes)
	if b := fs.Basic; b != nil {
		sortAll(&b.Allow)
		b.Explain = strings.TrimSpace(b.Explain)
	}
	if m := fs.MessagePairs; m != nil {
		sortAll(&m.ProcessTypes)
		sortAll(&m.Countries)
		sortAll(&m.Allow)
		sortAll(&m.Prospective)
		m.Explain = strings.TrimSpace(m.Explain)
	}
	if ca := fs.CloudAct; ca != nil {
		sortAll(&ca.Countries)
		sortAll(&ca.Allow)
		ca.Explain = strings.TrimSpace(ca.Explain)
	}
	sortAll(&f.Emergency.Recommend)
	f.Emergency.Explain = strings.TrimSpace(f.Emergency.Explain)
	sortAll(&f.UserNotice.None)
	sortAll(&f.UserNotice.Delayed)
	f.normalizeEU()
}

func sortAll[T ~string](s *[]T) {
	if len(*s) == 0 {
		*s = nil
		return
	}
	slices.Sort(*s)
}

// catSet is a set of categories, one bit per entry of cases.Categories.
type catSet uint16

var catBits = func() map[cases.Category]catSet {
	m := make(map[cases.Category]catSet, len(cases.Categories))
	for i, c := range cases.Categories {
		m[c] = 1 << i
	}
	return m
}()

func setOf(list []cases.Category) catSet {
	var s catSet
	for _, c := range list {
		s |= catBits[c]
	}
	return s
}

func (s catSet) has(c cases.Category) bool { return s&catBits[c] != 0 }

// grantSet is a rule that allows categories.
type grantSet struct {
	rule        string
	allow       catSet // historical: stored records, for the window asked
	prospective catSet // collected going forward, inside the PR-WINDOW
	reason      string // why a category it does not allow is denied
}

func newGrant(rule string, allow, prospective []cases.Category, explain string) *grantSet {
	g := &grantSet{rule: rule, allow: setOf(allow), prospective: setOf(prospective), reason: explain}
	if g.reason == "" { // a generic reason, so that no denial is ever unexplained
		g.reason = fmt.Sprintf("%s allows only %s", rule, joinList(append(slices.Clone(allow), prospective...)))
	}
	return g
}

// procRule is everything the policy says about one process type.
type procRule struct {
	validUS, validNonUS bool
	validEU             bool             // only from the Member States of eu_orders
	exempt              bool             // from GLOBAL-PROCESS-VALID's required fields
	notice              cases.UserNotice // before nondisclosure_until is considered
	handler             handler
	us                  *grantSet // handledUS
	rejectRule, reject  string    // handledUS with reject
	pmp                 bool      // handledForeign: FOREIGN-PMP may apply
}

func (p *Policy) compile() {
	f := &p.file
	p.procs = make(map[cases.ProcessType]*procRule, len(cases.ProcessTypes))
	for _, pt := range cases.ProcessTypes {
		r := &procRule{notice: cases.NoticeNotify}
		switch {
		case slices.Contains(f.Jurisdiction.USOnly, pt):
			r.validUS = true
		case slices.Contains(f.Jurisdiction.NonUSOnly, pt):
			r.validNonUS = true
		case slices.Contains(f.Jurisdiction.EUOnly, pt):
			r.validEU = true
		default:
			r.validUS, r.validNonUS = true, true
		}
		r.exempt = slices.Contains(f.ProcessValidity.Exempt, pt)
		switch {
		case slices.Contains(f.UserNotice.None, pt):
			r.notice = cases.NoticeNone
		case slices.Contains(f.UserNotice.Delayed, pt):
			r.notice = cases.NoticeDelayed
		}
		switch {
		case pt == cases.Emergency:
			r.handler = handledEmergency
		case pt == cases.Preservation:
			r.handler = handledPreservation
		case pt == cases.FISA:
			r.handler = handledFISA
		case pt.IsEUOrder():
			r.handler = handledEU
		case f.USProcess[pt] != nil:
			u := f.USProcess[pt]
			r.handler = handledUS
			if u.Reject != "" {
				r.rejectRule, r.reject = u.Rule, u.Reject
			} else {
				r.us = newGrant(u.Rule, u.Allow, u.Prospective, u.Explain)
			}
		default: // the checker made sure it is a foreign process type
			r.handler = handledForeign
			r.pmp = f.Foreign.MessagePairs != nil && slices.Contains(f.Foreign.MessagePairs.ProcessTypes, pt)
		}
		p.procs[pt] = r
	}
	p.wildcards = strings.Join(f.Targets.Wildcards, "")
	if b := f.Foreign.Basic; b != nil {
		p.basic = newGrant(RuleForeignBasic, b.Allow, nil, b.Explain)
	}
	p.pmpCountries, p.cloudCountries = map[string]bool{}, map[string]bool{}
	if m := f.Foreign.MessagePairs; m != nil {
		p.pmp = newGrant(RuleForeignPMP, m.Allow, m.Prospective, m.Explain)
		for _, c := range m.Countries {
			p.pmpCountries[c] = true
		}
	}
	if ca := f.Foreign.CloudAct; ca != nil {
		p.cloud = newGrant(RuleForeignCloudAct, ca.Allow, nil, ca.Explain)
		if m := f.Foreign.MessagePairs; m != nil {
			p.cloudFull = newGrant(RuleForeignCloudAct, append(slices.Clone(m.Allow), ca.Allow...), m.Prospective, ca.Explain)
		}
		for _, c := range ca.Countries {
			p.cloudCountries[c] = true
		}
	}
	p.emergency = newGrant(RuleEmergency, f.Emergency.Recommend, nil, f.Emergency.Explain)
	var nonContent []cases.Category
	for _, c := range cases.Categories {
		if c != cases.MessageContent {
			nonContent = append(nonContent, c)
		}
	}
	p.preservation = newGrant(RulePreservation, nonContent, nil, "")
	p.compileEU()
}
