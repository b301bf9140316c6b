package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"envelope/cases"
	"envelope/cases/agencymatch"
)

const day = 24 * time.Hour

// contentReason is GLOBAL-CONTENT's reason, the same under every policy.
const contentReason = "message content is never disclosed: it is end-to-end encrypted, and envelope discloses only metadata (who, when, from where)"

// Decide applies the policy to a request at decision time at. req must be
// valid (cases.ParseRequest); the decision is a function of req, at and the
// policy alone. at is taken in UTC, truncated to the microsecond as stored
// times are, so that a stored decision replays identically.
func (p *Policy) Decide(req *cases.Request, at time.Time) *cases.Decision {
	at = at.UTC().Truncate(time.Microsecond)
	cats := requested(req.Categories)
	d := &cases.Decision{
		PolicyVersion: p.version,
		DecidedAt:     at,
		Allowed:       make([]cases.Allowed, 0, len(cats)),
		Denied:        make([]cases.Denied, 0, len(cats)),
		Findings:      []cases.Finding{},
	}
	e := &eval{p: p, req: req, at: at, d: d}
	proc := p.procs[req.Process.Type]
	if proc == nil { // not a valid request: Decide's contract says it cannot happen
		e.find(RuleJurisdiction, cases.SeverityBlock, "%q is not a process type this policy knows", req.Process.Type)
		proc = &procRule{notice: cases.NoticeNotify}
	} else {
		// Rules 2-5, in order, each adding its findings.
		e.targets()
		e.processValid(proc)
		e.requester()
		e.jurisdiction(proc)
		e.usPerson()
	}

	// Rules 6-11: the rule for this process type says what it grants. A
	// request already blocked is not scoped: nothing will be disclosed.
	var grants []*grantSet
	var deny *grantSet
	if e.block() == nil {
		grants, deny = e.scope(proc)
	}

	// Rules 1 and 12: each category requested is allowed or denied, in the
	// order asked. A block denies everything with the first block rule.
	block := e.block()
	for _, c := range cats {
		switch {
		case block != nil:
			e.deny(c, block.Rule, "request rejected: "+block.Message)
		case c == cases.MessageContent:
			e.deny(c, RuleContent, contentReason)
		case e.euStoredOnly(c):
			e.deny(c, RuleEUStoredOnly, e.p.eu.storedOnly)
		case proc.handler == handledFISA:
			// Rule 11: neither allowed nor denied; the restricted team decides.
		default:
			e.grant(c, grants, deny)
		}
	}
	if e.clip != "" && len(d.Allowed) > 0 {
		e.find(RuleWindow, cases.SeverityInfo, "%s", e.clip)
	}

	d.Outcome = outcome(d, len(cats))
	d.UserNotice = proc.notice
	if nd := req.Process.NondisclosureUntil; d.UserNotice == cases.NoticeNotify && nd != nil && nd.After(at) {
		d.UserNotice = cases.NoticeDelayed
	}
	if proc.handler == handledPreservation && block == nil && len(d.Allowed) > 0 {
		from := req.ReceivedAt
		if from.IsZero() {
			from = at
		}
		until := from.UTC().AddDate(0, 0, p.file.Preservation.Days)
		d.PreserveUntil = &until
	}
	if req.Process.Type == cases.EUPreservationOrder && block == nil && len(d.Allowed) > 0 {
		until := req.ReceivedAt.UTC().AddDate(0, 0, p.eu.days)
		if req.ReceivedAt.IsZero() {
			until = at.AddDate(0, 0, p.eu.days)
		}
		d.PreserveUntil = &until
	}
	return d
}

// Redecide decides req again under p at the time old was decided, so that
// replaying stored cases under another policy is deterministic. Without an
// old decision it decides at the request's receipt.
func (p *Policy) Redecide(req *cases.Request, old *cases.Decision) *cases.Decision {
	at := req.ReceivedAt
	if old != nil {
		at = old.DecidedAt
	}
	return p.Decide(req, at)
}

// requested returns the categories asked for, each once, in the order asked.
func requested(list []cases.Category) []cases.Category {
	out := make([]cases.Category, 0, len(list))
	for _, c := range list {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// outcome applies rule 13.
func outcome(d *cases.Decision, requested int) cases.Outcome {
	review := false
	for _, f := range d.Findings {
		switch f.Severity {
		case cases.SeverityBlock:
			return cases.OutcomeReject
		case cases.SeverityReview:
			review = true
		}
	}
	switch {
	case review:
		return cases.OutcomeNeedsReview
	case len(d.Allowed) == 0:
		return cases.OutcomeReject
	case len(d.Allowed) == requested:
		return cases.OutcomeApprove
	}
	return cases.OutcomePartial
}

// eval is one decision in progress.
type eval struct {
	p   *Policy
	req *cases.Request
	at  time.Time
	d   *cases.Decision

	// The PR-WINDOW, worked out the first time a prospective category is
	// granted.
	windowDone bool
	window     *cases.Window // nil: no collection is possible
	windowWhy  string        // why window is nil
	clip       string        // the PR-WINDOW finding, if the window was clipped
}

func (e *eval) find(rule string, sev cases.Severity, format string, args ...any) {
	e.d.Findings = append(e.d.Findings, cases.Finding{Rule: rule, Severity: sev, Message: fmt.Sprintf(format, args...)})
}

func (e *eval) deny(c cases.Category, rule, reason string) {
	e.d.Denied = append(e.d.Denied, cases.Denied{Category: c, Rule: rule, Reason: reason})
}

// block returns the first block finding, if any.
func (e *eval) block() *cases.Finding {
	for i := range e.d.Findings {
		if e.d.Findings[i].Severity == cases.SeverityBlock {
			return &e.d.Findings[i]
		}
	}
	return nil
}

// targets applies GLOBAL-TARGETS.
func (e *eval) targets() {
	pol := e.p.file.Targets
	var wild []string
	for i, t := range e.req.Targets {
		if strings.ContainsAny(t.Value, e.p.wildcards) {
			wild = append(wild, fmt.Sprintf("targets[%d] %q", i, t.Value))
		}
	}
	switch n := len(wild); {
	case n == 1:
		e.find(RuleTargets, cases.SeverityBlock, "%s contains a wildcard: each target must name one specific account", wild[0])
	case n > 1:
		if n > 3 {
			wild = append(wild[:3], fmt.Sprintf("and %d more", n-3))
		}
		e.find(RuleTargets, cases.SeverityBlock, "%d targets contain wildcards (%s): each target must name one specific account", n, strings.Join(wild, ", "))
	}
	if n := len(e.req.Targets); n > pol.Max {
		e.find(RuleTargets, cases.SeverityBlock, "the request names %d targets: at most %d accounts may be named on one request", n, pol.Max)
	}
}

// processValid applies GLOBAL-PROCESS-VALID.
func (e *eval) processValid(proc *procRule) {
	pr := e.req.Process
	if !proc.exempt {
		var missing []string
		if pr.IssuingAuthority == "" {
			missing = append(missing, "issuing_authority")
		}
		if pr.Reference == "" {
			missing = append(missing, "reference")
		}
		if pr.IssuedAt == nil {
			missing = append(missing, "issued_at")
		}
		if len(missing) > 0 {
			e.find(RuleProcessValid, cases.SeverityBlock, "the %s does not give its %s: legal process must name its issuing authority, its reference and its issue date",
				pr.Type, andList(missing))
		}
	}
	if pr.ExpiresAt != nil && pr.ExpiresAt.Before(e.at) {
		e.find(RuleProcessValid, cases.SeverityBlock, "the %s expired at %s, before the decision time %s", pr.Type, stamp(*pr.ExpiresAt), stamp(e.at))
	}
}

// requester applies GLOBAL-REQUESTER: the email's domain must be one of the
// agency's verified domains or a subdomain of one. A look-alike such as
// fbi.gov.example.com or notfbi.gov is not.
func (e *eval) requester() {
	if m := e.req.Directory; m != nil {
		e.directory(m)
		return
	}
	// No directory was consulted (a check of a request on its own): the
	// domains the request claims are all there is to compare with.
	email := e.req.Requester.Email
	domains := e.req.Agency.VerifiedDomains
	verified := "none"
	if len(domains) > 0 {
		verified = strings.Join(domains, ", ")
	}
	if email == "" || strings.LastIndexByte(email, '@') < 0 {
		e.find(RuleRequester, cases.SeverityReview, "the requester gives no email address, so the request cannot be tied to the agency's verified domains (%s): confirm it through a known channel", verified)
		return
	}
	var norm []string
	for _, v := range domains {
		if d, err := agencymatch.NormalizeDomain(v); err == nil {
			norm = append(norm, d)
		}
	}
	if d, ok := agencymatch.EmailDomain(email); ok && agencymatch.Within(d, norm) {
		return
	}
	e.find(RuleRequester, cases.SeverityReview, "the requester's email %s is not on a verified domain of the agency (%s): confirm the request through a known channel before acting on it", email, verified)
}

// directory applies AGENCY-UNKNOWN, AGENCY-LOOKALIKE and GLOBAL-REQUESTER
// to what the agency directory says of the request's agency (resolved by
// the store). The domains the request claims play no part: a forger claims
// whatever domain it writes from.
func (e *eval) directory(m *cases.AgencyMatch) {
	a, email := e.req.Agency, e.req.Requester.Email
	claimed := ""
	if len(a.VerifiedDomains) > 0 {
		claimed = " (the request claims " + strings.Join(a.VerifiedDomains, ", ") + ", which is not trusted)"
	}
	switch m.Kind {
	case cases.AgencyKnown:
		if d, ok := agencymatch.EmailDomain(email); ok && agencymatch.Within(d, m.Domains) {
			return
		}
		if email == "" {
			e.find(RuleRequester, cases.SeverityReview, "the requester gives no email address, so the request cannot be tied to %s's domains in the directory (%s): confirm it by calling the agency on the directory's number",
				m.Name, strings.Join(m.Domains, ", "))
			return
		}
		e.find(RuleRequester, cases.SeverityReview, "the requester's email %s is not on %s's domains in the directory (%s)%s: confirm the request by calling the agency on the directory's number before acting on it",
			email, m.Name, strings.Join(m.Domains, ", "), claimed)
	case cases.AgencyLookalike:
		e.find(RuleAgencyLookalike, cases.SeverityReview, "the agency %q %s: forged requests use look-alike names; call %s on the directory's number to ask whether it sent this request",
			a.Name, m.Reason, m.Name)
		e.find(RuleRequester, cases.SeverityReview, "the requester's email %s cannot be tied to a directory entry%s: confirm the request through the directory's number", orNone(email), claimed)
	default:
		e.find(RuleAgencyUnknown, cases.SeverityReview, "no entry of the agency directory matches %q (%s): an admin adds an agency only after verifying it independently; until then confirm the request on a number found independently, never one from the request",
			a.Name, a.Country)
		e.find(RuleRequester, cases.SeverityReview, "the requester's email %s cannot be tied to a directory entry%s: confirm the request through a known channel", orNone(email), claimed)
	}
}

func orNone(email string) string {
	if email == "" {
		return "(none given)"
	}
	return email
}

// jurisdiction applies JURIS-PROCESS.
func (e *eval) jurisdiction(proc *procRule) {
	country, pt := e.req.Agency.Country, e.req.Process.Type
	switch {
	case proc.validEU:
		if !e.p.eu.states[country] {
			e.find(RuleJurisdiction, cases.SeverityBlock, "%s is valid only from the Member States bound by Regulation (EU) 2023/1543 (%s), and this agency is in %s",
				pt, strings.Join(e.p.file.EU.MemberStates, " "), country)
		}
	case e.p.inUS(country) && !proc.validUS:
		e.find(RuleJurisdiction, cases.SeverityBlock, "%s is valid only from agencies outside the US, and this agency is in the US: US agencies use US legal process", pt)
	case !e.p.inUS(country) && !proc.validNonUS:
		own := ""
		if l := e.p.file.Jurisdiction.NonUSOnly; len(l) > 0 {
			own = fmt.Sprintf("uses its own process (%s) or ", joinList(l))
		}
		e.find(RuleJurisdiction, cases.SeverityBlock, "%s is US legal process, valid only from agencies in the US, and this agency is in %s: a foreign authority %sobtains US process through a mutual legal assistance treaty (MLAT)",
			pt, country, own)
	}
}

// scope applies the rule of the request's process type (rules 6 and 8-11):
// the grants to consult in order, and the rule that denies what none grants.
// It may add findings, including a block.
func (e *eval) scope(proc *procRule) (grants []*grantSet, deny *grantSet) {
	p := e.p
	switch proc.handler {
	case handledUS:
		if proc.reject != "" {
			e.find(proc.rejectRule, cases.SeverityBlock, "%s", proc.reject)
			return nil, nil
		}
		return []*grantSet{proc.us}, proc.us
	case handledForeign:
		country := e.req.Agency.Country
		cloud := e.req.Process.Via == cases.ViaCloudAct && p.cloudCountries[country]
		if !proc.pmp || (!p.pmpCountries[country] && !cloud) {
			return []*grantSet{p.basic}, p.basic
		}
		switch {
		case cloud && p.pmpCountries[country]:
			return []*grantSet{p.pmp, p.cloud}, p.cloud
		case cloud:
			return []*grantSet{p.cloudFull}, p.cloudFull
		}
		return []*grantSet{p.pmp}, p.pmp
	case handledEmergency:
		if ex := e.req.Emergency; ex == nil || !ex.ImminentHarm {
			e.find(RuleEmergency, cases.SeverityBlock, "the emergency request does not state a danger of death or serious physical injury (emergency.imminent_harm), so it cannot be handled as an emergency disclosure")
			return nil, nil
		}
		e.find(RuleEmergency, cases.SeverityReview, "emergency disclosure request (18 U.S.C. 2702(b)(8)): the categories allowed are a recommendation, and a supervisor must confirm the good-faith belief of imminent danger before anything is disclosed")
		return []*grantSet{p.emergency}, p.emergency
	case handledPreservation:
		return []*grantSet{p.preservation}, p.preservation
	case handledEU:
		return e.scopeEU()
	case handledFISA:
		e.find(RuleFISA, cases.SeverityReview, "FISA order or directive: the restricted national-security team decides it; nothing is allowed or denied automatically")
	}
	return nil, nil
}

// grant allows c under the first grant that covers it, or denies it with
// deny's reason (rule 12). A prospective category is allowed only inside the
// PR-WINDOW.
func (e *eval) grant(c cases.Category, grants []*grantSet, deny *grantSet) {
	for _, g := range grants {
		switch {
		case g.allow.has(c):
			a := cases.Allowed{Category: c, Rule: g.rule}
			if w := e.req.Window; w != nil {
				a.Window = &cases.Window{From: w.From, To: w.To}
			}
			e.d.Allowed = append(e.d.Allowed, a)
			return
		case g.prospective.has(c):
			if w := e.prWindow(); w != nil {
				e.d.Allowed = append(e.d.Allowed, cases.Allowed{Category: c, Rule: g.rule, Window: &cases.Window{From: w.From, To: w.To}, Prospective: true})
			} else {
				e.deny(c, RuleWindow, e.windowWhy)
			}
			return
		}
	}
	if deny == nil { // only if a scope forgot its deny rule; never silently drop a category
		e.deny(c, RuleJurisdiction, "no rule of the policy allows this category for this request")
		return
	}
	e.deny(c, deny.rule, deny.reason)
}

// prWindow works out PR-WINDOW (rule 7): the window asked for, clipped to
// [effective_at, min(effective_at + max_days, expires_at)], effective_at
// defaulting to issued_at. With no window asked for, that whole period.
func (e *eval) prWindow() *cases.Window {
	if e.windowDone {
		return e.window
	}
	e.windowDone = true
	pr, asked := e.req.Process, e.req.Window
	start, startName := pr.EffectiveAt, "effective date"
	if start == nil {
		start, startName = pr.IssuedAt, "issue date" // effective_at defaults to issued_at
	}
	if start == nil {
		e.windowWhy = "prospective collection needs the order's effective or issue date to start from, and the request gives neither"
		return nil
	}
	days := e.p.file.ProspectiveWindow.MaxDays
	end, limit, byExpiry := start.Add(time.Duration(days)*day), fmt.Sprintf("%d days", days), false
	if pr.ExpiresAt != nil && pr.ExpiresAt.Before(end) { // on a tie the statutory limit is the reason
		end, limit, byExpiry = *pr.ExpiresAt, "the order's expiry", true
	}
	if !end.After(*start) {
		e.windowWhy = fmt.Sprintf("the order authorises no collection: it expires (%s) before it takes effect (%s)", stamp(end), stamp(*start))
		return nil
	}
	if asked == nil {
		e.window = &cases.Window{From: *start, To: end}
		e.clip = fmt.Sprintf("no window requested: window set to %d days from the order's %s (%s to %s)", days, startName, stamp(*start), stamp(end))
		if byExpiry {
			e.clip = fmt.Sprintf("no window requested: window set from the order's %s to its expiry (%s to %s)", startName, stamp(*start), stamp(end))
		}
		return e.window
	}
	w := cases.Window{From: asked.From, To: asked.To}
	var clips []string
	if w.From.Before(*start) {
		w.From = *start
		clips = append(clips, fmt.Sprintf("window start moved to the order's %s (%s)", startName, stamp(*start)))
	}
	if w.To.After(end) {
		w.To = end
		clips = append(clips, fmt.Sprintf("window clipped to %s (ends %s)", limit, stamp(end)))
	}
	if !w.To.After(w.From) {
		e.windowWhy = fmt.Sprintf("the window asked for (%s to %s) lies outside the period the order authorises (%s to %s)", stamp(asked.From), stamp(asked.To), stamp(*start), stamp(end))
		return nil
	}
	e.window, e.clip = &w, strings.Join(clips, "; ")
	return e.window
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// andList joins words as English does: "a", "a and b", "a, b and c".
func andList(words []string) string {
	if len(words) <= 1 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}
