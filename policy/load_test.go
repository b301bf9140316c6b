package policy

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"envelope/cases"
)

// TestDefaultLoads guards Default's panic: the embedded policy must load.
func TestDefaultLoads(t *testing.T) {
	p, err := Load(defaultYAML)
	if err != nil {
		t.Fatalf("default.yaml is refused: %v", err)
	}
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(p.Version()) {
		t.Errorf("version %q", p.Version())
	}
	if Default().Version() != p.Version() || Default() != Default() {
		t.Error("Default is not the embedded policy, loaded once")
	}
}

// lineOf is the 1-based line of the first occurrence of s in src.
func lineOf(t *testing.T, src, s string) int {
	t.Helper()
	i := strings.Index(src, s)
	if i < 0 {
		t.Fatalf("%q not in the edited policy", s)
	}
	return strings.Count(src[:i], "\n") + 1
}

func TestLoadRefuses(t *testing.T) {
	src := string(defaultYAML)
	tests := []struct {
		name     string
		old, new string   // an edit of default.yaml
		at       string   // the edited text whose line the error must name ("" for none)
		want     []string // what the error must say
	}{
		// Vocabulary.
		{name: "unknown category", old: "allow: [basic_subscriber_info]\n    explain: >-\n      a subpoena", new: "allow: [basic_subscriber_info, ip_log]\n    explain: >-\n      a subpoena",
			at: "ip_log]", want: []string{"us_process.subpoena.allow[1]", `"ip_log" is not a data category`}},
		{name: "unknown process type", old: "anywhere: [emergency, preservation]", new: "anywhere: [emergency, preservation, warrant]",
			at: "warrant]", want: []string{"jurisdiction.anywhere[2]", `"warrant" is not a process type`}},
		{name: "unknown process type as a US rule", old: "us_process:\n", new: "us_process:\n  warrant:\n    rule: US-W\n    allow: [contacts]\n",
			at: "  warrant:", want: []string{"us_process.warrant", `"warrant" is not a process type`}},
		{name: "UK is not a country code", old: "countries: [GB, AU]", new: "countries: [UK, AU]",
			at: "[UK, AU]", want: []string{"foreign.cloud_act.countries[0]", `use "GB"`}},
		{name: "unknown country", old: "countries: [GB, BR, IN]", new: "countries: [GB, BR, XX]",
			at: "XX]", want: []string{"message_pairs.countries[2]", `"XX" is not an ISO 3166-1`}},
		{name: "lower-case country", old: "countries: [GB, BR, IN]", new: "countries: [gb, BR, IN]",
			at: "gb,", want: []string{`"gb" is not an ISO 3166-1`}},
		{name: "US as a foreign country", old: "countries: [GB, BR, IN]", new: "countries: [GB, BR, IN, US]",
			at: "US]", want: []string{"message_pairs.countries[3]", "US agencies use US legal process"}},
		{name: "unknown key", old: "max_days: 60", new: "max_dayz: 60",
			at: "max_dayz", want: []string{`unknown key "max_dayz"`}},
		{name: "unknown top-level key", old: "user_notice:", new: "notice:",
			at: "notice:\n  # EU", want: []string{`unknown key "notice"`}},
		{name: "wrong type", old: "max: 25", new: "max: lots",
			at: "max: lots", want: []string{"must be a whole number, not lots"}},
		{name: "YAML syntax", old: "max: 25", new: "max: [25",
			want: []string{"policy refused", "line"}},

		// Content can never be allowed, wherever it is listed.
		{name: "content in a US allow list", old: "contacts]\n    explain: >-\n      a search warrant", new: "contacts, message_content]\n    explain: >-\n      a search warrant",
			at: "message_content]", want: []string{"us_process.search_warrant.allow[8]", "message_content can never be allowed"}},
		{name: "content as prospective", old: "prospective: [message_pairs, ip_logs]", new: "prospective: [message_pairs, ip_logs, message_content]",
			at: "message_content]", want: []string{"us_process.pen_register.prospective[2]", "GLOBAL-CONTENT"}},
		{name: "content for emergencies", old: "recommend: [basic_subscriber_info, ip_logs, device_info]", new: "recommend: [basic_subscriber_info, ip_logs, device_info, message_content]",
			at: "recommend:", want: []string{"emergency.recommend[3]", "message_content can never be allowed"}},
		{name: "content on CLOUD Act orders", old: "allow: [device_info, profile,", new: "allow: [message_content, device_info, profile,",
			at: "allow: [message_content", want: []string{"foreign.cloud_act.allow[0]", "message_content can never be allowed"}},
		{name: "content for foreign basic", old: "allow: [basic_subscriber_info]\n    explain: >-\n      a foreign", new: "allow: [basic_subscriber_info, message_content]\n    explain: >-\n      a foreign",
			want: []string{"foreign.basic.allow[1]", "message_content can never be allowed"}},
		{name: "message pairs as stored records", old: "allow: [basic_subscriber_info]\n    explain: >-\n      a national", new: "allow: [basic_subscriber_info, message_pairs]\n    explain: >-\n      a national",
			want: []string{"us_process.nsl.allow[1]", "message_pairs are only collected going forward"}},

		// Rules that can never fire.
		{name: "process type in no jurisdiction", old: "pen_register, title_iii, nsl, fisa]", new: "pen_register, nsl, fisa]",
			want: []string{"jurisdiction: title_iii is not listed"}},
		{name: "US rule for a process type not valid from the US", old: "us_only: [subpoena, court_order_2703d, search_warrant, pen_register, title_iii, nsl, fisa]\n  # Process under foreign law: only from agencies outside the United States.\n  non_us_only: [foreign_court_order, foreign_police_request]",
			new: "us_only: [subpoena, court_order_2703d, search_warrant, pen_register, title_iii, fisa]\n  # Process under foreign law: only from agencies outside the United States.\n  non_us_only: [foreign_court_order, foreign_police_request, nsl]",
			at:  "  nsl:", want: []string{"us_process.nsl: can never apply: nsl is not valid from US agencies"}},
		{name: "foreign process type valid only from the US", old: "us_only: [subpoena,", new: "us_only: [foreign_police_request, subpoena,",
			want: []string{"foreign_police_request is already listed under jurisdiction.us_only"}},
		{name: "foreign rule for a US-only process type", old: "non_us_only: [foreign_court_order, foreign_police_request]\n  # Accepted", new: "non_us_only: [foreign_court_order]\n  # Accepted",
			want: []string{"jurisdiction: foreign_police_request is not listed"}},
		{name: "no rule decides a process type", old: "  nsl:\n    rule: US-NSL\n", new: "  nsl_removed:\n    rule: US-NSL\n",
			want: []string{`"nsl_removed" is not a process type`, "no rule decides nsl"}},
		{name: "built-in process type as a US rule", old: "us_process:\n", new: "us_process:\n  fisa:\n    rule: US-FISA\n    allow: [basic_subscriber_info]\n",
			at: "  fisa:", want: []string{"fisa is decided by the built-in FISA rule"}},
		{name: "EU order outside its own list", old: "eu_only: [eu_production_order, eu_preservation_order]", new: "eu_only: [eu_production_order]",
			want: []string{"eu_preservation_order is not listed"}},
		{name: "EU Member State misspelt", old: "member_states: [AT,", new: "member_states: [AU, XX,",
			at: "XX,", want: []string{"eu_orders.member_states[1]", `"XX" is not an ISO 3166-1`}},
		{name: "EU preservation of negative days", old: "preservation_days: 60", new: "preservation_days: -60",
			at: "preservation_days: -60", want: []string{"eu_orders.preservation_days", "must be a positive number of days, not -60"}},
		{name: "EU production reaching content", old: "prosecutor: [basic_subscriber_info]", new: "prosecutor: [basic_subscriber_info, message_content]",
			want: []string{"eu_orders.production.prosecutor[1]", "message_content can never be allowed"}},
		{name: "CLOUD Act category already granted", old: "allow: [device_info, profile,", new: "allow: [ip_logs, device_info, profile,",
			want: []string{"foreign.cloud_act.allow[0]", "ip_logs is listed twice (already allowed by foreign.message_pairs.allow)"}},
		{name: "message pairs for a process type foreign rules do not decide", old: "    process_types: [foreign_court_order]\n", new: "    process_types: [foreign_court_order, subpoena]\n",
			want: []string{"foreign.message_pairs.process_types[1]: can never apply: subpoena is not under foreign.process_types"}},
		{name: "reject that also allows", old: "    rule: US-TITLE-III\n", new: "    rule: US-TITLE-III\n    allow: [basic_subscriber_info]\n",
			want: []string{"us_process.title_iii: rejects the process, so it cannot also allow"}},
		{name: "rule that allows nothing", old: "allow: [basic_subscriber_info]\n    explain: >-\n      a subpoena", new: "allow: []\n    explain: >-\n      a subpoena",
			want: []string{"us_process.subpoena: allows nothing"}},
		{name: "no wildcard characters", old: `wildcards: ["*", "%"]`, new: `wildcards: []`,
			want: []string{"targets.wildcards: lists no wildcard character"}},
		{name: "wildcard of two characters", old: `wildcards: ["*", "%"]`, new: `wildcards: ["*", "%%"]`,
			want: []string{"targets.wildcards[1]", "single character"}},
		{name: "emergency section missing", old: "emergency:\n  recommend", new: "emergencies:\n  recommend",
			want: []string{`unknown key "emergencies"`}},
		{name: "foreign without basic", old: "  basic:\n    allow: [basic_subscriber_info]\n", new: "  basic_x:\n    allow: [basic_subscriber_info]\n",
			want: []string{`unknown key "basic_x"`}},

		// Limits that are zero or negative.
		{name: "zero targets", old: "max: 25", new: "max: 0", at: "max: 0", want: []string{"targets.max: must be a positive number of accounts, not 0"}},
		{name: "negative preservation", old: "days: 90", new: "days: -90", at: "days: -90", want: []string{"preservation.days: must be a positive number of days, not -90"}},
		{name: "zero window", old: "max_days: 60", new: "max_days: 0", at: "max_days: 0", want: []string{"prospective_window.max_days: must be a positive"}},

		// Duplicates.
		{name: "duplicate country", old: "countries: [GB, BR, IN]", new: "countries: [GB, BR, IN, BR]", at: "BR]", want: []string{"countries[3]: BR is listed twice"}},
		{name: "duplicate category", old: "prospective: [message_pairs, ip_logs]", new: "prospective: [message_pairs, ip_logs, message_pairs]", want: []string{"pen_register.prospective[2]: message_pairs is listed twice"}},
		{name: "category both historical and prospective", old: "    rule: US-PEN-REGISTER\n", new: "    rule: US-PEN-REGISTER\n    allow: [ip_logs]\n", want: []string{"pen_register.prospective[1]: ip_logs is listed twice"}},
		{name: "process type in two jurisdictions", old: "anywhere: [emergency, preservation]", new: "anywhere: [emergency, preservation, subpoena]", want: []string{"jurisdiction.anywhere[2]: subpoena is already listed under jurisdiction.us_only"}},
		{name: "duplicate rule ID", old: "rule: US-NSL", new: "rule: US-SUBPOENA", want: []string{"US-SUBPOENA is already the rule of us_process"}},
		{name: "built-in rule ID", old: "rule: US-NSL", new: "rule: FISA", want: []string{"FISA is a built-in rule ID"}},
		{name: "malformed rule ID", old: "rule: US-NSL", new: "rule: us nsl", want: []string{`"us nsl" is not a rule ID`}},
		{name: "process type in two notice lists", old: "none: [emergency, preservation, eu_production_order, eu_preservation_order]", new: "none: [emergency, preservation, eu_production_order, eu_preservation_order, nsl]", want: []string{"user_notice.delayed[1]: nsl is already listed under user_notice.none"}},
		{name: "duplicate YAML key", old: "  max: 25\n", new: "  max: 25\n  max: 26\n", want: []string{"already defined"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(src, tc.old) {
				t.Fatalf("default.yaml has no %q", tc.old)
			}
			edited := strings.Replace(src, tc.old, tc.new, 1)
			_, err := Load([]byte(edited))
			if err == nil {
				t.Fatal("loaded")
			}
			var le *LoadError
			if !errors.As(err, &le) || len(le.Problems) == 0 {
				t.Fatalf("not a *LoadError with problems: %v", err)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "policy refused: ") {
				t.Errorf("not one line starting 'policy refused: ': %q", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not say %q:\n%s", w, msg)
				}
			}
			if tc.at != "" {
				line := lineOf(t, edited, tc.at)
				found := false
				for _, p := range le.Problems {
					found = found || p.Line == line
				}
				if !found {
					t.Errorf("no problem names line %d:\n%s", line, msg)
				}
			}
			if strings.Contains(msg, "policy.") || strings.Contains(msg, "cases.") {
				t.Errorf("error names Go types: %s", msg)
			}
		})
	}
}

func TestLoadRefusesWholeFiles(t *testing.T) {
	for name, src := range map[string]string{
		"empty":                          "",
		"only comments":                  "# nothing here\n",
		"two documents":                  string(defaultYAML) + "---\ntargets: {max: 1}\n",
		"a list":                         "- subpoena\n",
		"too large":                      strings.Repeat("#", maxPolicySize+1),
		"missing everything but targets": "targets:\n  max: 25\n  wildcards: ['*']\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Load([]byte(src))
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("want a *LoadError, got %v", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("not one line: %q", err)
			}
		})
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(good, defaultYAML, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := LoadFile(good)
	if err != nil || p.Version() != Default().Version() {
		t.Fatalf("LoadFile(default copy) = %v, %v", p, err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(strings.Replace(string(defaultYAML), "max: 25", "max: -1", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(bad); err == nil || !strings.Contains(err.Error(), "policy "+bad+" refused: line ") {
		t.Errorf("LoadFile(bad) = %v", err)
	}
	if _, err := LoadFile(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("LoadFile(missing) = %v", err)
	}
}

// TestVersion: the version follows meaning, not layout.
func TestVersion(t *testing.T) {
	base := Default().Version()
	src := string(defaultYAML)

	// No comments, other indentation, flow lists as block lists.
	var root yaml.Node
	if err := yaml.Unmarshal(defaultYAML, &root); err != nil {
		t.Fatal(err)
	}
	var strip func(n *yaml.Node)
	strip = func(n *yaml.Node) {
		n.HeadComment, n.LineComment, n.FootComment = "", "", ""
		n.Style &^= yaml.FlowStyle | yaml.FoldedStyle
		for _, c := range n.Content {
			strip(c)
		}
	}
	strip(&root)
	var sb strings.Builder
	enc := yaml.NewEncoder(&sb)
	enc.SetIndent(4)
	if err := enc.Encode(&root); err != nil {
		t.Fatal(err)
	}
	plain := sb.String()
	if strings.Contains(plain, "#") || plain == src {
		t.Fatal("stripping comments did not work")
	}

	same := map[string]string{
		"comments and layout":        plain,
		"list order":                 strings.Replace(src, "countries: [GB, BR, IN]", "countries: [IN, GB, BR]", 1),
		"map order":                  strings.Replace(src, "targets:\n  # At most this many accounts on one request; more is a fishing expedition.\n  max: 25\n  # A target containing any of these characters names many accounts at once.\n  wildcards: [\"*\", \"%\"]", "targets:\n  wildcards: [\"%\", \"*\"]\n  max: 25", 1),
		"empty list and absent list": strings.Replace(src, "    rule: US-PEN-REGISTER\n", "    rule: US-PEN-REGISTER\n    allow: []\n", 1),
	}
	for name, s := range same {
		p, err := Load([]byte(s))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if p.Version() != base {
			t.Errorf("%s changed the version", name)
		}
	}
	different := map[string][2]string{
		"a limit":     {"max_days: 60", "max_days: 59"},
		"a country":   {"countries: [GB, BR, IN]", "countries: [GB, BR]"},
		"a reason":    {"toll records only", "toll records"},
		"a category":  {"recommend: [basic_subscriber_info, ip_logs, device_info]", "recommend: [basic_subscriber_info, ip_logs]"},
		"a rule ID":   {"rule: US-NSL", "rule: US-NSL-2709"},
		"user notice": {"delayed: [pen_register, nsl, fisa]", "delayed: [pen_register, fisa]"},
	}
	seen := map[string]string{base: "default"}
	for name, e := range different {
		if !strings.Contains(src, e[0]) {
			t.Fatalf("%s: default.yaml has no %q", name, e[0])
		}
		p, err := Load([]byte(strings.Replace(src, e[0], e[1], 1)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if prev, ok := seen[p.Version()]; ok {
			t.Errorf("changing %s gives the version of %s", name, prev)
		}
		seen[p.Version()] = name
	}
}

// TestCanonicalRoundTrip: the canonical form loads back to the same version.
func TestCanonicalRoundTrip(t *testing.T) {
	p := Default()
	out, err := yaml.Marshal(&p.file)
	if err != nil {
		t.Fatal(err)
	}
	q, err := Load(out)
	if err != nil {
		t.Fatalf("canonical form refused: %v\n%s", err, out)
	}
	if q.Version() != p.Version() {
		t.Errorf("round trip changed the version")
	}
}

// FuzzLoad: the loader never panics, its errors are one line, and a policy
// it accepts never allows content and decides every golden request.
func FuzzLoad(f *testing.F) {
	f.Add(defaultYAML)
	f.Add([]byte(""))
	f.Add([]byte("targets: {max: 25, wildcards: ['*']}\n"))
	f.Add([]byte(strings.Replace(string(defaultYAML), "allow: [basic_subscriber_info]", "allow: [basic_subscriber_info, message_content]", 1)))
	f.Add([]byte(strings.Replace(string(defaultYAML), "countries: [GB]", "countries: [GB, AU]", 1)))
	f.Add([]byte(strings.Replace(string(defaultYAML), "max_days: 60", "max_days: 9999999999999", 1)))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte("us_process:\n  subpoena:\n"))
	f.Add([]byte("- [\n"))

	var reqs []*cases.Request
	for _, tc := range goldenCases {
		reqs = append(reqs, readRequest(f, tc.name))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Load(data)
		if err != nil {
			var le *LoadError
			if !errors.As(err, &le) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("bad error %T %q", err, err)
			}
			return
		}
		if allowsContent(&p.file) {
			t.Fatal("a policy allowing content loaded")
		}
		for _, req := range reqs {
			checkDecision(t, p, req, goldenAt, p.Decide(req, goldenAt))
		}
	})
}
