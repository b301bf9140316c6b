package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"envelope/cases"
)

var propBase = time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)

// phones are valid E.164 numbers, so that generated requests pass intake.
var phones = []string{"+14155550123", "+12025550100", "+442079461000", "+5561999990000", "+33140000000", "+4961155123456", "+911123456789", "+61291234567"}

func pick[T any](r *rand.Rand, list ...T) T { return list[r.Intn(len(list))] }

func stampAt(d time.Duration) string { return propBase.Add(d).Format(time.RFC3339) }

func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

// randomRequest builds a random intake document and parses it the way
// intake does, so every request the properties see is a valid one.
func randomRequest(t testing.TB, r *rand.Rand) *cases.Request {
	t.Helper()
	opt := func(pct int, v any) any {
		if r.Intn(100) < pct {
			return nil
		}
		return v
	}
	// Mostly plausible requests, so that every outcome is reached often;
	// the rest are wrong in every way the rules check.
	pt := pick(r, cases.ProcessTypes...)
	country := pick(r, "US", "GB", "BR", "IN", "FR", "DE", "AU")
	if r.Intn(10) < 8 {
		switch pt {
		case cases.ForeignCourtOrder, cases.ForeignPoliceRequest:
			country = pick(r, "GB", "BR", "IN", "FR", "DE", "AU")
		case cases.Emergency, cases.Preservation:
		case cases.EUProductionOrder, cases.EUPreservationOrder:
			country = pick(r, "FR", "DE", "IE", "DK")
		default:
			country = "US"
		}
	}
	agency := pick(r,
		map[string]any{"domains": []string{"fbi.gov"}, "emails": []string{"a@fbi.gov", "b@sf.fbi.gov"}},
		map[string]any{"domains": []string{"police.uk", "nca.gov.uk"}, "emails": []string{"e@met.police.uk", "f@nca.gov.uk"}},
	)
	email := pick(r, agency["emails"].([]string)...)
	if r.Intn(10) < 2 {
		email = pick(r, "c@gmail.com", "", "d@fbi.gov.evil.com", "g@notfbi.gov")
	}
	proc := map[string]any{
		"type":                pt,
		"via":                 pick(r, cases.Vias...),
		"issuing_authority":   opt(10, pick(r, "U.S. District Court", "Crown Court at Southwark", "Tribunal judiciaire de Paris")),
		"reference":           opt(10, pick(r, "3:26-mj-70412", "T20267012")),
		"issued_at":           opt(10, stampAt(-days(r.Intn(90)))),
		"effective_at":        opt(50, stampAt(days(r.Intn(50)-10))),
		"expires_at":          opt(40, stampAt(days(r.Intn(160)-10))),
		"nondisclosure_until": opt(60, stampAt(days(r.Intn(400)-100))),
	}
	if pt.IsEUOrder() { // intake requires a valid role on EU orders and only there
		role := pick(r, cases.AuthorityRoles...)
		proc["authority_role"] = role
		if role == cases.RoleOther {
			proc["validated_by"] = pick(r, cases.RoleJudge, cases.RoleProsecutor)
		}
		proc["enforcing_state_notified"] = r.Intn(2) == 0
	}
	var targets []map[string]string
	n := pick(r, 0, 1, 1, 1, 1, 1, 2, 3, 25, 26)
	for i := 0; i < n; i++ {
		switch r.Intn(40) {
		case 0:
			targets = append(targets, map[string]string{"kind": "username", "value": pick(r, "j*", "%smith", "*")})
		case 1, 2, 3:
			targets = append(targets, map[string]string{"kind": "account_id", "value": fmt.Sprint(r.Int63())})
		default:
			targets = append(targets, map[string]string{"kind": "phone", "value": pick(r, phones...)})
		}
	}
	var cats []cases.Category
	for _, i := range r.Perm(len(cases.Categories))[:r.Intn(len(cases.Categories)+1)] {
		cats = append(cats, cases.Categories[i])
	}
	if len(cats) > 0 && r.Intn(10) == 0 {
		cats = append(cats, cats[0]) // intake removes duplicates; the engine must not care
	}
	doc := map[string]any{
		"received_at": opt(10, stampAt(days(r.Intn(3)-1))),
		"agency":      map[string]any{"name": "Agency", "country": country, "verified_domains": opt(5, agency["domains"])},
		"requester":   map[string]any{"name": "Officer", "email": email},
		"process":     proc,
		"emergency":   opt(10, map[string]any{"description": "danger", "imminent_harm": r.Intn(8) > 0}),
		"targets":     targets,
		"categories":  cats,
	}
	if r.Intn(10) < 7 {
		from := days(r.Intn(230) - 200)
		doc["window"] = map[string]string{"from": stampAt(from), "to": stampAt(from + days(1+r.Intn(200)))}
	}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	req, err := cases.ParseRequest(data)
	if err != nil {
		t.Fatalf("generated an invalid request (a generator bug): %v\n%s", err, data)
	}
	return req
}

// checkDecision asserts the properties every decision has, under any policy
// the loader accepts.
func checkDecision(t testing.TB, p *Policy, req *cases.Request, at time.Time, d *cases.Decision) {
	t.Helper()
	at = at.UTC().Truncate(time.Microsecond) // as Decide takes it
	fail := func(format string, args ...any) {
		t.Helper()
		b, _ := json.Marshal(req)
		db, _ := json.Marshal(d)
		t.Fatalf(format+"\nrequest: %s\ndecision: %s", append(args, b, db)...)
	}
	for _, a := range d.Allowed {
		if a.Category == cases.MessageContent {
			fail("message_content allowed")
		}
	}
	if d.Allowed == nil || d.Denied == nil || d.Findings == nil {
		fail("nil list in decision (JSON null)")
	}
	if d.PolicyVersion != p.Version() || !d.DecidedAt.Equal(at) {
		fail("policy version or decision time not stamped")
	}

	var block *cases.Finding
	review := false
	for i, f := range d.Findings {
		switch f.Severity {
		case cases.SeverityBlock:
			if block == nil {
				block = &d.Findings[i]
			}
		case cases.SeverityReview:
			review = true
		case cases.SeverityInfo:
		default:
			fail("finding with severity %q", f.Severity)
		}
		if f.Rule == "" || f.Message == "" {
			fail("finding without rule or message")
		}
	}

	// Each requested category is in exactly one of allowed or denied, and
	// nothing else is; under FISA only content is decided.
	asked := requested(nil, req.Categories)
	count := map[cases.Category]int{}
	for _, a := range d.Allowed {
		count[a.Category]++
		if a.Rule == "" {
			fail("allowed %s without a rule", a.Category)
		}
	}
	for _, x := range d.Denied {
		count[x.Category]++
		if x.Rule == "" || strings.TrimSpace(x.Reason) == "" {
			fail("denied %s without a rule or reason", x.Category)
		}
		if block != nil && x.Rule != block.Rule {
			fail("blocked by %s but %s denied by %s", block.Rule, x.Category, x.Rule)
		}
		if block == nil && x.Category == cases.MessageContent && x.Rule != RuleContent {
			fail("message_content denied by %s, not GLOBAL-CONTENT", x.Rule)
		}
	}
	fisa := req.Process.Type == cases.FISA && block == nil
	for _, c := range asked {
		want := 1
		if fisa && c != cases.MessageContent {
			want = 0
		}
		if count[c] != want {
			fail("%s appears %d times in allowed+denied, want %d", c, count[c], want)
		}
		delete(count, c)
	}
	if len(count) > 0 {
		fail("decided categories that were not requested: %v", count)
	}
	if fisa && len(d.Allowed) > 0 {
		fail("FISA allowed something automatically")
	}
	if block != nil && len(d.Allowed) > 0 {
		fail("blocked, yet allowed something")
	}

	// Rule 13.
	want := cases.OutcomePartial
	switch {
	case block != nil:
		want = cases.OutcomeReject
	case review:
		want = cases.OutcomeNeedsReview
	case len(d.Allowed) == 0:
		want = cases.OutcomeReject
	case len(d.Allowed) == len(asked):
		want = cases.OutcomeApprove
	}
	if d.Outcome != want {
		fail("outcome %s, rule 13 says %s", d.Outcome, want)
	}

	// Rule 14.
	notice := cases.NoticeNotify
	switch pt := req.Process.Type; {
	case slices.Contains(p.file.UserNotice.None, pt):
		notice = cases.NoticeNone
	case slices.Contains(p.file.UserNotice.Delayed, pt),
		req.Process.NondisclosureUntil != nil && req.Process.NondisclosureUntil.After(at):
		notice = cases.NoticeDelayed
	}
	if d.UserNotice != notice {
		fail("user notice %s, rule 14 says %s", d.UserNotice, notice)
	}

	// Windows: prospective ones inside PR-WINDOW, historical ones as asked.
	for _, a := range d.Allowed {
		if !a.Prospective {
			if !sameWindow(a.Window, req.Window) {
				fail("historical %s window %v differs from the request's %v", a.Category, a.Window, req.Window)
			}
			continue
		}
		w, pr := a.Window, req.Process
		start := pr.EffectiveAt
		if start == nil {
			start = pr.IssuedAt
		}
		switch {
		case w == nil || start == nil:
			fail("prospective %s without a window or a start", a.Category)
		case !w.To.After(w.From) || w.From.Before(*start) || w.To.After(start.Add(days(p.file.ProspectiveWindow.MaxDays))):
			fail("prospective %s window %v outside PR-WINDOW", a.Category, w)
		case pr.ExpiresAt != nil && w.To.After(*pr.ExpiresAt):
			fail("prospective %s window %v past expiry", a.Category, w)
		case req.Window != nil && (w.From.Before(req.Window.From) || w.To.After(req.Window.To)):
			fail("prospective %s window %v wider than asked", a.Category, w)
		}
	}

	// Rules 10 and 11c.
	if d.PreserveUntil != nil {
		from := req.ReceivedAt
		if from.IsZero() {
			from = at
		}
		days := p.file.Preservation.Days
		if req.Process.Type == cases.EUPreservationOrder {
			days = p.file.EU.PreservationDays
		}
		if (req.Process.Type != cases.Preservation && req.Process.Type != cases.EUPreservationOrder) || !d.PreserveUntil.Equal(from.AddDate(0, 0, days)) {
			fail("preserve_until %v", d.PreserveUntil)
		}
	} else if (req.Process.Type == cases.Preservation || req.Process.Type == cases.EUPreservationOrder) && block == nil && len(d.Allowed) > 0 {
		fail("preservation without preserve_until")
	}
}

func TestPropertiesDefaultPolicy(t *testing.T) {
	p := Default()
	r := rand.New(rand.NewSource(1))
	outcomes := map[cases.Outcome]int{}
	for i := 0; i < 5000; i++ {
		req := randomRequest(t, r)
		at := propBase.Add(time.Duration(r.Int63n(int64(days(20)))) - days(10))
		d := p.Decide(req, at)
		checkDecision(t, p, req, at, d)
		outcomes[d.Outcome]++
		if i%50 == 0 { // determinism, spot-checked
			a, _ := json.Marshal(d)
			b, _ := json.Marshal(p.Decide(req, at))
			if !bytes.Equal(a, b) {
				t.Fatalf("two decisions of the same request differ:\n%s\n%s", a, b)
			}
		}
	}
	t.Logf("outcomes of %d random requests: %v", 5000, outcomes)
	// The generator must reach every outcome, or the properties prove little.
	for _, o := range []cases.Outcome{cases.OutcomeApprove, cases.OutcomePartial, cases.OutcomeReject, cases.OutcomeNeedsReview} {
		if outcomes[o] < 100 {
			t.Errorf("only %d random requests ended %s: %v", outcomes[o], o, outcomes)
		}
	}
}

// mutate changes a policy file at random: the kind of edit legal staff
// make, and the kind of mistake they make.
func mutate(r *rand.Rand, f *file) {
	catLists := []*[]cases.Category{&f.Emergency.Recommend}
	for _, k := range sortedKeys(f.USProcess) {
		catLists = append(catLists, &f.USProcess[k].Allow, &f.USProcess[k].Prospective)
	}
	if b := f.Foreign.Basic; b != nil {
		catLists = append(catLists, &b.Allow)
	}
	if m := f.Foreign.MessagePairs; m != nil {
		catLists = append(catLists, &m.Allow, &m.Prospective)
	}
	if c := f.Foreign.CloudAct; c != nil {
		catLists = append(catLists, &c.Allow)
	}
	ptLists := []*[]cases.ProcessType{&f.Jurisdiction.USOnly, &f.Jurisdiction.NonUSOnly, &f.Jurisdiction.Anywhere,
		&f.ProcessValidity.Exempt, &f.UserNotice.None, &f.UserNotice.Delayed, &f.Foreign.ProcessTypes}
	countryLists := []*[]string{}
	if m := f.Foreign.MessagePairs; m != nil {
		countryLists = append(countryLists, &m.Countries)
	}
	if c := f.Foreign.CloudAct; c != nil {
		countryLists = append(countryLists, &c.Countries)
	}
	switch r.Intn(12) {
	case 0, 1: // allow one more category (content too: the loader must refuse it)
		l := pick(r, catLists...)
		*l = append(*l, pick(r, cases.Categories...))
	case 2: // allow one less
		if l := pick(r, catLists...); len(*l) > 0 {
			*l = slices.Delete(*l, 0, 1)
		}
	case 3: // move a process type to another jurisdiction, or drop it
		from, to := pick(r, ptLists[:3]...), pick(r, ptLists[:3]...)
		if len(*from) > 0 {
			i := r.Intn(len(*from))
			pt := (*from)[i]
			*from = slices.Delete(*from, i, i+1)
			if r.Intn(4) > 0 {
				*to = append(*to, pt)
			}
		}
	case 4: // list a process type somewhere else
		l := pick(r, ptLists[3:]...)
		*l = append(*l, pick(r, cases.ProcessTypes...))
	case 5: // a country more
		if len(countryLists) > 0 {
			l := pick(r, countryLists...)
			*l = append(*l, pick(r, "FR", "DE", "AU", "JP", "US", "UK", "XX", "gb", "BR"))
		}
	case 6: // a country less
		if len(countryLists) > 0 {
			if l := pick(r, countryLists...); len(*l) > 0 {
				*l = (*l)[1:]
			}
		}
	case 7:
		f.Targets.Max = r.Intn(40) - 5
	case 8:
		f.ProspectiveWindow.MaxDays = r.Intn(120) - 5
	case 9:
		f.Preservation.Days = r.Intn(200) - 5
	case 10: // turn a US rule into a rejection, or drop the CLOUD Act rule
		if r.Intn(2) == 0 {
			k := pick(r, sortedKeys(f.USProcess)...)
			f.USProcess[k] = &usRule{Rule: f.USProcess[k].Rule, Reject: "declined by policy"}
		} else {
			f.Foreign.CloudAct = nil
		}
	case 11:
		f.Targets.Wildcards = append(f.Targets.Wildcards, pick(r, "?", "*", "", "ab", " "))
	}
}

func sortedKeys[V any](m map[cases.ProcessType]V) []cases.ProcessType {
	keys := make([]cases.ProcessType, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// allowsContent reports whether a file lists message_content anywhere as
// something to allow.
func allowsContent(f *file) bool {
	var all []cases.Category
	for _, r := range f.USProcess {
		if r != nil {
			all = append(all, r.Allow...)
			all = append(all, r.Prospective...)
		}
	}
	if f.Emergency != nil {
		all = append(all, f.Emergency.Recommend...)
	}
	if b := f.Foreign.Basic; b != nil {
		all = append(all, b.Allow...)
	}
	if m := f.Foreign.MessagePairs; m != nil {
		all = append(all, m.Allow...)
		all = append(all, m.Prospective...)
	}
	if c := f.Foreign.CloudAct; c != nil {
		all = append(all, c.Allow...)
	}
	return slices.Contains(all, cases.MessageContent)
}

// TestPropertiesMutatedPolicies: under every mutated policy the loader
// accepts, the properties still hold; a policy that allows content is never
// accepted.
func TestPropertiesMutatedPolicies(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	pool := make([]*cases.Request, 2000) // parsing is the slow part: parse once
	for i := range pool {
		pool[i] = randomRequest(t, r)
	}
	loaded, refused, contentTried := 0, 0, 0
	versions := map[string]bool{}
	for i := 0; i < 400; i++ {
		var f file
		if err := yaml.Unmarshal(defaultYAML, &f); err != nil {
			t.Fatal(err)
		}
		for n := 1 + r.Intn(3); n > 0; n-- {
			mutate(r, &f)
		}
		src, err := yaml.Marshal(&f)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Load(src)
		if allowsContent(&f) {
			contentTried++
			if err == nil {
				t.Fatalf("a policy allowing message_content loaded:\n%s", src)
			}
		}
		if err != nil {
			refused++
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("load error is not one line: %q", err)
			}
			continue
		}
		loaded++
		versions[p.Version()] = true
		for j := 0; j < 150; j++ {
			req := pool[r.Intn(len(pool))]
			at := propBase.Add(time.Duration(r.Int63n(int64(days(20)))) - days(10))
			checkDecision(t, p, req, at, p.Decide(req, at))
		}
	}
	t.Logf("%d mutated policies loaded (%d versions), %d refused, %d tried to allow content", loaded, len(versions), refused, contentTried)
	if loaded < 100 || refused < 50 || contentTried < 5 || len(versions) < 50 {
		t.Errorf("the mutations prove little: %d loaded, %d versions, %d refused, %d allowing content", loaded, len(versions), refused, contentTried)
	}
}
