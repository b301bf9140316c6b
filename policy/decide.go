package policy

import (
	"fmt"
	"slices"
	"strconv"
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
	var catBuf [8]cases.Category
	cats := requested(catBuf[:0], req.Categories)
	b := new(decisionBlock)
	d := &b.d // filled field by field: a composite literal is built aside and copied in
	d.PolicyVersion = p.version
	d.DecidedAt = at
	d.Allowed = room(b.allowed[:], len(cats))
	d.Denied = room(b.denied[:], len(cats))
	d.Findings = b.findings[:0]
	e := &eval{p: p, req: req, at: at, d: d, own: b}
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
	var grants grantList
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
		e.note(RuleWindow, cases.SeverityInfo, e.clip)
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
	// The lists end where they end: a caller's append copies instead of
	// writing into the block.
	d.Allowed = d.Allowed[:len(d.Allowed):len(d.Allowed)]
	d.Denied = d.Denied[:len(d.Denied):len(d.Denied)]
	d.Findings = d.Findings[:len(d.Findings):len(d.Findings)]
	return d
}

// decisionBlock is a decision and what it points to, allocated together
// (one allocation instead of one each): room for the lists of a common
// decision (a longer list grows on the heap as append grows it) and a
// window. It fits the 512-byte size class; a preservation date, rare,
// has an allocation of its own.
type decisionBlock struct {
	d        cases.Decision
	allowed  [2]cases.Allowed
	denied   [2]cases.Denied
	findings [2]cases.Finding
	windows  [1]cases.Window
	nwindows int // windows in use
}

// window returns a copy of w of the decision's own, from the block
// while it has room.
func (b *decisionBlock) window(w cases.Window) *cases.Window {
	if b.nwindows == len(b.windows) {
		return &cases.Window{From: w.From, To: w.To}
	}
	own := &b.windows[b.nwindows]
	b.nwindows++
	*own = cases.Window{From: w.From, To: w.To}
	return own
}

// room returns block[:0] with capacity n if the block has room for n,
// else a new slice of that capacity.
func room[T any](block []T, n int) []T {
	if n <= len(block) {
		return block[:0:n]
	}
	return make([]T, 0, n)
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

// requested appends to out the categories asked for, each once, in the
// order asked (out is the caller's buffer on the stack).
func requested(out, list []cases.Category) []cases.Category {
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
	// own holds d and what it points to.
	own *decisionBlock

	// The PR-WINDOW, worked out the first time a prospective category is
	// granted.
	windowDone bool
	windowOK   bool         // false: no collection is possible
	window     cases.Window // if windowOK (a value: a pointer into eval would move eval to the heap)
	windowWhy  string       // why window is nil
	clip       string       // the PR-WINDOW finding, if the window was clipped
}

func (e *eval) find(rule string, sev cases.Severity, format string, args ...any) {
	e.note(rule, sev, fmt.Sprintf(format, args...))
}

// note is find with the message already written.
func (e *eval) note(rule string, sev cases.Severity, msg string) {
	e.d.Findings = append(e.d.Findings, cases.Finding{Rule: rule, Severity: sev, Message: msg})
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
	verified := func() string { // only for a finding
		if len(domains) == 0 {
			return "none"
		}
		return strings.Join(domains, ", ")
	}
	if email == "" || strings.LastIndexByte(email, '@') < 0 {
		e.find(RuleRequester, cases.SeverityReview, "the requester gives no email address, so the request cannot be tied to the agency's verified domains (%s): confirm it through a known channel", verified())
		return
	}
	var normBuf [4]string
	norm := normBuf[:0]
	for _, v := range domains {
		if d, err := agencymatch.NormalizeDomain(v); err == nil {
			norm = append(norm, d)
		}
	}
	if d, ok := agencymatch.EmailDomain(email); ok && agencymatch.Within(d, norm) {
		return
	}
	e.find(RuleRequester, cases.SeverityReview, "the requester's email %s is not on a verified domain of the agency (%s): confirm the request through a known channel before acting on it", email, verified())
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
func (e *eval) scope(proc *procRule) (grants grantList, deny *grantSet) {
	p := e.p
	switch proc.handler {
	case handledUS:
		if proc.reject != "" {
			e.note(proc.rejectRule, cases.SeverityBlock, proc.reject)
			return grantList{}, nil
		}
		return grantList{proc.us}, proc.us
	case handledForeign:
		country := e.req.Agency.Country
		cloud := e.req.Process.Via == cases.ViaCloudAct && p.cloudCountries[country]
		if !proc.pmp || (!p.pmpCountries[country] && !cloud) {
			return grantList{p.basic}, p.basic
		}
		switch {
		case cloud && p.pmpCountries[country]:
			return grantList{p.pmp, p.cloud}, p.cloud
		case cloud:
			return grantList{p.cloudFull}, p.cloudFull
		}
		return grantList{p.pmp}, p.pmp
	case handledEmergency:
		if ex := e.req.Emergency; ex == nil || !ex.ImminentHarm {
			e.find(RuleEmergency, cases.SeverityBlock, "the emergency request does not state a danger of death or serious physical injury (emergency.imminent_harm), so it cannot be handled as an emergency disclosure")
			return grantList{}, nil
		}
		e.find(RuleEmergency, cases.SeverityReview, "emergency disclosure request (18 U.S.C. 2702(b)(8)): the categories allowed are a recommendation, and a supervisor must confirm the good-faith belief of imminent danger before anything is disclosed")
		return grantList{p.emergency}, p.emergency
	case handledPreservation:
		return grantList{p.preservation}, p.preservation
	case handledEU:
		return e.scopeEU()
	case handledFISA:
		e.find(RuleFISA, cases.SeverityReview, "FISA order or directive: the restricted national-security team decides it; nothing is allowed or denied automatically")
	}
	return grantList{}, nil
}

// grantList is the grants a scope consults, in order, up to the first
// nil: a value, so that choosing them allocates nothing.
type grantList [2]*grantSet

// grant allows c under the first grant that covers it, or denies it with
// deny's reason (rule 12). A prospective category is allowed only inside the
// PR-WINDOW.
func (e *eval) grant(c cases.Category, grants grantList, deny *grantSet) {
	for _, g := range grants {
		switch {
		case g == nil:
		case g.allow.has(c):
			a := cases.Allowed{Category: c, Rule: g.rule}
			if w := e.req.Window; w != nil {
				a.Window = e.own.window(*w)
			}
			e.d.Allowed = append(e.d.Allowed, a)
			return
		case g.prospective.has(c):
			if w := e.prWindow(); w != nil {
				e.d.Allowed = append(e.d.Allowed, cases.Allowed{Category: c, Rule: g.rule, Window: e.own.window(*w), Prospective: true})
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
		if !e.windowOK {
			return nil
		}
		return &e.window
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
	end, byExpiry := start.Add(time.Duration(days)*day), false
	if pr.ExpiresAt != nil && pr.ExpiresAt.Before(end) { // on a tie the statutory limit is the reason
		end, byExpiry = *pr.ExpiresAt, true
	}
	if !end.After(*start) {
		e.windowWhy = fmt.Sprintf("the order authorises no collection: it expires (%s) before it takes effect (%s)", stamp(end), stamp(*start))
		return nil
	}
	if asked == nil {
		e.window, e.windowOK = cases.Window{From: *start, To: end}, true
		e.clip = fmt.Sprintf("no window requested: window set to %d days from the order's %s (%s to %s)", days, startName, stamp(*start), stamp(end))
		if byExpiry {
			e.clip = fmt.Sprintf("no window requested: window set from the order's %s to its expiry (%s to %s)", startName, stamp(*start), stamp(end))
		}
		return &e.window
	}
	w := cases.Window{From: asked.From, To: asked.To}
	// Built by concatenation (one allocation each; fmt took a tenth of
	// the decision), the stamps formatted on the stack.
	var clipBuf [2]string
	clips := clipBuf[:0]
	var st stampBuf
	if w.From.Before(*start) {
		w.From = *start
		clips = append(clips, "window start moved to the order's "+startName+" ("+string(st.format(*start))+")")
	}
	if w.To.After(end) {
		w.To = end
		limit := strconv.Itoa(days) + " days"
		if byExpiry {
			limit = "the order's expiry"
		}
		clips = append(clips, "window clipped to "+limit+" (ends "+string(st.format(end))+")")
	}
	if !w.To.After(w.From) {
		e.windowWhy = fmt.Sprintf("the window asked for (%s to %s) lies outside the period the order authorises (%s to %s)", stamp(asked.From), stamp(asked.To), stamp(*start), stamp(end))
		return nil
	}
	e.window, e.windowOK, e.clip = w, true, strings.Join(clips, "; ")
	return &e.window
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// stampBuf formats a stamp without an allocation of its own: the bytes
// are good until the next format, which is enough inside a
// concatenation (the compiler does not copy string(bytes) there).
type stampBuf [len("2006-01-02T15:04:05.999999999Z07:00")]byte

func (b *stampBuf) format(t time.Time) []byte { return t.UTC().AppendFormat(b[:0], time.RFC3339) }

// andList joins words as English does: "a", "a and b", "a, b and c".
func andList(words []string) string {
	if len(words) <= 1 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}
