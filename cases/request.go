package cases

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/language"
)

// Request is a lawful request as it arrives: the intake JSON of
// shared/spec/interfaces.md. All times are UTC.
type Request struct {
	ReceivedAt time.Time  `json:"received_at"`
	Agency     Agency     `json:"agency"`
	Requester  Requester  `json:"requester"`
	Process    Process    `json:"process"`
	Emergency  *Exigency  `json:"emergency"`
	Targets    []Target   `json:"targets"`
	Categories []Category `json:"categories"`
	Window     *Window    `json:"window"`
	DueAt      *time.Time `json:"due_at"`
	// Directory is the directory's match of Agency, resolved by the store
	// before the policy decides (never read from or written to the JSON).
	// Without it, as for a check that consults no directory, the policy
	// can only compare the requester with the domains the request claims.
	Directory *AgencyMatch `json:"-"`
	// DueReason says why a typed-in due_at is shorter than the legal
	// deadline the clock rules compute (policy/clock).
	DueReason string `json:"due_reason,omitempty"`
}

// Agency is the authority a request comes from.
type Agency struct {
	Name            string   `json:"name"`
	Country         string   `json:"country"` // ISO 3166-1 alpha-2
	VerifiedDomains []string `json:"verified_domains"`
}

// Requester is the officer who sent a request.
type Requester struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Phone string `json:"phone"`
}

// Process is the legal process a request is made under.
type Process struct {
	Type               ProcessType `json:"type"`
	Via                Via         `json:"via"`
	IssuingAuthority   string      `json:"issuing_authority"`
	Reference          string      `json:"reference"`
	IssuedAt           *time.Time  `json:"issued_at"`
	EffectiveAt        *time.Time  `json:"effective_at"`
	ExpiresAt          *time.Time  `json:"expires_at"`
	NondisclosureUntil *time.Time  `json:"nondisclosure_until"`
	// EU orders only (cases/eu.go).
	AuthorityRole          AuthorityRole `json:"authority_role,omitempty"`
	ValidatedBy            AuthorityRole `json:"validated_by,omitempty"`
	EnforcingStateNotified bool          `json:"enforcing_state_notified,omitempty"`
}

// Exigency holds the details of an emergency disclosure request.
type Exigency struct {
	Description  string `json:"description"`
	ImminentHarm bool   `json:"imminent_harm"`
}

// Target is one account a request names.
type Target struct {
	Kind  TargetKind `json:"kind"`
	Value string     `json:"value"`
}

// Window is a period of time, from inclusive to exclusive.
type Window struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Contains reports whether t falls inside the window.
func (w Window) Contains(t time.Time) bool {
	return !t.Before(w.From) && t.Before(w.To)
}

// Limits on free text, so that one request cannot fill the database.
const (
	maxText      = 2000
	maxTargetLen = 128
	maxTargets   = 10000 // the policy blocks far fewer; this only bounds input size
)

// The raw shapes decode dates as strings so that a bad date is reported with
// its field name instead of as a generic JSON error.
type rawRequest struct {
	ReceivedAt *string     `json:"received_at"`
	Agency     *Agency     `json:"agency"`
	Requester  *Requester  `json:"requester"`
	Process    *rawProcess `json:"process"`
	Emergency  *Exigency   `json:"emergency"`
	Targets    []Target    `json:"targets"`
	Categories []Category  `json:"categories"`
	Window     *rawWindow  `json:"window"`
	DueAt      *string     `json:"due_at"`
	DueReason  string      `json:"due_reason"`
}

type rawProcess struct {
	Type               ProcessType `json:"type"`
	Via                Via         `json:"via"`
	IssuingAuthority   string      `json:"issuing_authority"`
	Reference          string      `json:"reference"`
	IssuedAt           *string     `json:"issued_at"`
	EffectiveAt        *string     `json:"effective_at"`
	ExpiresAt          *string     `json:"expires_at"`
	NondisclosureUntil *string     `json:"nondisclosure_until"`

	AuthorityRole          AuthorityRole `json:"authority_role"`
	ValidatedBy            AuthorityRole `json:"validated_by"`
	EnforcingStateNotified bool          `json:"enforcing_state_notified"`
}

type rawWindow struct {
	From *string `json:"from"`
	To   *string `json:"to"`
}

// ParseRequest decodes and validates one intake JSON document. Unknown fields
// are refused rather than ignored: a misspelt "categories" must not turn into
// a request for nothing. A malformed request is an EINVALID *Error naming
// every bad field.
func ParseRequest(data []byte) (*Request, error) { return ParseRequestIn(data, time.UTC) }

// ParseRequestIn is ParseRequest for an organisation in zone loc: a date
// typed without a time is read as that day in loc, and as the whole day
// where it ends something (window.to, due_at). See ParseTimeIn.
func ParseRequestIn(data []byte, loc *time.Location) (*Request, error) {
	var fast rawRequest
	parts := getParts()
	defer putParts(parts)
	// The fast decoder reads the documents clients send; anything else
	// (an error to report, an escape, a duplicate key) goes through
	// encoding/json, whose errors name the field.
	if fast.decodeFast(data, parts) {
		req, err := fast.validate(loc)
		if err == nil {
			req.ownStrings() // they point into data (an error's messages are copies)
		}
		return req, err
	}
	// A variable of its own: the one encoding/json fills escapes to the
	// heap, and the fast path need not pay for that.
	var raw rawRequest
	if err := DecodeStrict(data, &raw); err != nil {
		return nil, err
	}
	return raw.validate(loc)
}

// DecodeStrict decodes one JSON value into v, refusing unknown fields and
// trailing data, and turns decoding failures into EINVALID errors that name
// the field at fault.
func DecodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Invalid(map[string]string{"body": "unexpected data after the JSON document"})
	}
	return nil
}

// jsonError names the field a JSON decoding error is about.
func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return Invalid(map[string]string{field: fmt.Sprintf("must be %s, not %s", jsonKind(typeErr.Type.Kind().String()), typeErr.Value)})
	case errors.As(err, &syntaxErr):
		return Invalid(map[string]string{"body": fmt.Sprintf("malformed JSON at byte %d: %v", syntaxErr.Offset, syntaxErr)})
	case errors.Is(err, io.EOF):
		return Invalid(map[string]string{"body": "empty body: a JSON document is required"})
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Invalid(map[string]string{"body": "truncated JSON document"})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return Invalid(map[string]string{name: "unknown field"})
	}
	return Invalid(map[string]string{"body": err.Error()})
}

func jsonKind(k string) string {
	switch k {
	case "slice", "array":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	case "bool":
		return "true or false"
	case "string":
		return "a string"
	}
	return "a " + k
}

// ParseTime parses an RFC 3339 timestamp or a plain date (taken as midnight
// UTC) and returns it in UTC, truncated to the microsecond so that it reads
// back identically from every database engine.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, ok := parseUTCFast(s); ok {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		// An offset can carry 9999-12-31 into the year 10000 (or 0000-01-01
		// before year 0) in UTC, which RFC 3339 cannot write back.
		if t = t.UTC(); t.Year() < 0 || t.Year() > 9999 {
			return time.Time{}, fmt.Errorf("%q is outside the years 0000 to 9999 in UTC", s)
		}
		return t.Truncate(time.Microsecond), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("not a date: %q (use RFC 3339, e.g. 2026-11-20T09:30:00Z)", s)
}

// optTimeIn parses an optional date in the organisation's zone; null and
// "" mean absent.
func optTimeIn(f fieldErrors, field string, s *string, loc *time.Location, b Bound) *time.Time {
	return (&timePool{}).opt(f, field, s, loc, b)
}

// timePool hands out a request's dates from one allocation instead of
// one each (a request keeps up to five as pointers): room given by the
// caller (requestBlock's), or one made on first use.
type timePool struct{ times []time.Time }

// opt is optTimeIn with the result kept in the pool.
func (p *timePool) opt(f fieldErrors, field string, s *string, loc *time.Location, b Bound) *time.Time {
	t, ok := optValue(f, field, s, loc, b)
	if !ok {
		return nil
	}
	if p.times == nil {
		p.times = make([]time.Time, 0, 8)
	}
	if len(p.times) == cap(p.times) { // never grown: the pointers given out stay valid
		own := new(time.Time)
		*own = t
		return own
	}
	p.times = append(p.times, t)
	return &p.times[len(p.times)-1]
}

// optValue is optTimeIn for a date copied into the request: ok is false
// for absent and for a date refused (its error added to f).
func optValue(f fieldErrors, field string, s *string, loc *time.Location, b Bound) (time.Time, bool) {
	if s == nil || strings.TrimSpace(*s) == "" {
		return time.Time{}, false
	}
	t, err := ParseTimeIn(*s, loc, b)
	if err != nil {
		f.add(field, "%v", err)
		return time.Time{}, false
	}
	return t, true
}

// TextProblem says why s cannot be stored as text, or "" if it can:
// PostgreSQL refuses a NUL character and bytes that are not UTF-8 (SQLite
// would keep them, and the two engines must agree), so either is an input
// error naming its field, never a failed write.
func TextProblem(s string) string {
	switch {
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	case strings.IndexByte(s, 0) >= 0:
		return "must not contain a NUL character"
	}
	return ""
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// isE164 is e164.MatchString without the regexp engine (a third of
// validating a number once the rest was fast; FuzzValidPhone compares
// the two).
func isE164(s string) bool {
	if len(s) < 3 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ValidPhone reports why s is not a valid E.164 phone number, or "" if it is.
func ValidPhone(s string) string {
	if !isE164(s) {
		return "must be an E.164 phone number such as +14155550123 (a plus sign and digits only)"
	}
	if valid, known := validE164Digits(s[1:]); known {
		if !valid {
			return "is not a valid phone number for any country"
		}
		return ""
	}
	n, err := phonenumbers.Parse(s, "")
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "is not a valid phone number for any country"
	}
	return ""
}

// validAddress reports whether s is one email address and nothing else
// (no display name), as net/mail reads it.
func validAddress(s string) bool {
	if plainAddress(s) {
		return true
	}
	addr, err := mail.ParseAddress(s)
	return err == nil && addr.Address == s
}

// ValidCountry reports why code is not an ISO 3166-1 alpha-2 country code,
// or "" if it is.
func ValidCountry(code string) string {
	if len(code) == 2 && code[0] >= 'A' && code[0] <= 'Z' && code[1] >= 'A' && code[1] <= 'Z' && countries[code[0]-'A'][code[1]-'A'] {
		return ""
	}
	return validCountry(code)
}

// countries marks the two capital letters validCountry accepts, worked
// out by asking it about each pair once (language.ParseRegion was a
// twentieth of parsing a request).
var countries = func() (set [26][26]bool) {
	for a := range 26 {
		for b := range 26 {
			set[a][b] = validCountry(string([]byte{'A' + byte(a), 'A' + byte(b)})) == ""
		}
	}
	return set
}()

// validCountry is ValidCountry by the language tables.
func validCountry(code string) string {
	if code == "" {
		return "is required (ISO 3166-1 alpha-2, e.g. US)"
	}
	if code == "UK" {
		return `is not an ISO 3166-1 code: use "GB" for the United Kingdom`
	}
	r, err := language.ParseRegion(code)
	if len(code) != 2 || err != nil || !r.IsCountry() || r.String() != code {
		return fmt.Sprintf("%q is not an ISO 3166-1 alpha-2 country code", code)
	}
	return ""
}

// HasWildcard reports whether a target value tries to name more than one
// account. Wildcards are a policy matter (GLOBAL-TARGETS blocks them), not an
// input error, so validation lets them through for the engine to explain.
func HasWildcard(v string) bool { return strings.ContainsAny(v, "*%") }

// ownStrings copies every string of r into one allocation of its own:
// the fast decoder leaves them pointing into the caller's bytes, which
// the caller may reuse once ParseRequest returns.
// TestParseRequestOwnsItsStrings finds any string this misses, in a
// request with every field given.
func (r *Request) ownStrings() {
	var buf [96]*string // room for 25 targets
	strs := r.appendStrings(buf[:0])
	n := 0
	for _, s := range strs {
		n += len(*s)
	}
	own := make([]byte, 0, n)
	for _, s := range strs {
		if len(*s) > 0 {
			start := len(own)
			own = append(own, *s...)
			*s = unsafe.String(&own[start], len(*s))
		}
	}
}

// appendStrings appends a pointer to each string of r (the directory
// match aside: the store sets it, never the decoder).
func (r *Request) appendStrings(strs []*string) []*string {
	strs = append(strs, &r.Agency.Name, &r.Agency.Country, &r.Requester.Name, &r.Requester.Email, &r.Requester.Phone,
		(*string)(&r.Process.Type), (*string)(&r.Process.Via), &r.Process.IssuingAuthority, &r.Process.Reference,
		(*string)(&r.Process.AuthorityRole), (*string)(&r.Process.ValidatedBy), &r.DueReason)
	for i := range r.Agency.VerifiedDomains {
		strs = append(strs, &r.Agency.VerifiedDomains[i])
	}
	if r.Emergency != nil {
		strs = append(strs, &r.Emergency.Description)
	}
	for i := range r.Targets {
		strs = append(strs, (*string)(&r.Targets[i].Kind), &r.Targets[i].Value)
	}
	for i := range r.Categories {
		strs = append(strs, (*string)(&r.Categories[i]))
	}
	return strs
}

// requestBlock is a parsed request and what it points to, allocated
// together: its dates, window, emergency and the first elements of its
// lists (a longer list has an allocation of its own). The slices handed
// out have their capacity cut to their length, so a caller's append
// copies instead of writing over a neighbour.
type requestBlock struct {
	req       Request
	times     [5]time.Time // the dates kept as pointers
	window    Window
	emergency Exigency
	// Room for the spec's sample (one domain, one target, two
	// categories): the block fits the 640-byte size class.
	domains    [1]string
	targets    [1]Target
	categories [2]Category
}

// room returns block[:0] with capacity n if the block has room for n,
// else a new slice of that capacity.
func room[T any](block []T, n int) []T {
	if n <= len(block) {
		return block[:0:n]
	}
	return make([]T, 0, n)
}

func (raw *rawRequest) validate(loc *time.Location) (*Request, error) {
	f := fieldErrors{}
	block := new(requestBlock)
	req := &block.req
	// A date without a time starts its day, unless it ends something.
	times := timePool{times: block.times[:0]}
	optTime := func(f fieldErrors, field string, s *string) *time.Time {
		return times.opt(f, field, s, loc, StartOfDay)
	}

	if raw.ReceivedAt != nil && strings.TrimSpace(*raw.ReceivedAt) != "" {
		if t, ok := optValue(f, "received_at", raw.ReceivedAt, loc, StartOfDay); ok {
			req.ReceivedAt = t
		}
	}

	if raw.Agency == nil {
		f.add("agency", "is required")
	} else {
		a := *raw.Agency
		a.Name = strings.TrimSpace(a.Name)
		a.Country = strings.ToUpper(strings.TrimSpace(a.Country))
		if a.Name == "" {
			f.add("agency.name", "is required")
		}
		if msg := ValidCountry(a.Country); msg != "" {
			f.add("agency.country", "%s", msg)
		}
		domains := room(block.domains[:], len(a.VerifiedDomains))
		for i, d := range a.VerifiedDomains {
			d = strings.ToLower(strings.TrimSpace(d))
			if d == "" || strings.ContainsAny(d, "@ /") || !strings.Contains(d, ".") {
				f.add(fmt.Sprintf("agency.verified_domains[%d]", i), "%q is not a domain name", d)
			}
			domains = append(domains, d)
		}
		a.VerifiedDomains = domains
		req.Agency = a
	}

	if raw.Requester != nil {
		r := *raw.Requester
		r.Name = strings.TrimSpace(r.Name)
		r.Email = strings.TrimSpace(r.Email)
		r.Phone = strings.TrimSpace(r.Phone)
		if r.Email != "" {
			if !validAddress(r.Email) {
				f.add("requester.email", "%q is not an email address", r.Email)
			} else if at := strings.LastIndex(r.Email, "@"); strings.ToLower(r.Email[at:]) != r.Email[at:] {
				// Only a domain in capitals makes a new string.
				r.Email = r.Email[:at] + strings.ToLower(r.Email[at:])
			}
		}
		if r.Phone != "" {
			if msg := ValidPhone(r.Phone); msg != "" {
				f.add("requester.phone", "%s", msg)
			}
		}
		req.Requester = r
	}

	if raw.Process == nil {
		f.add("process", "is required")
	} else {
		p := raw.Process
		if p.Type == "" {
			f.add("process.type", "is required")
		} else if !p.Type.Valid() {
			f.add("process.type", "%q is not a process type (one of %s)", p.Type, join(ProcessTypes))
		}
		if !p.Via.Valid() {
			f.add("process.via", `%q is not a channel (one of "", "mlat", "cloud_act")`, p.Via)
		}
		req.Process = Process{
			Type:               p.Type,
			Via:                p.Via,
			IssuingAuthority:   strings.TrimSpace(p.IssuingAuthority),
			Reference:          strings.TrimSpace(p.Reference),
			IssuedAt:           optTime(f, "process.issued_at", p.IssuedAt),
			EffectiveAt:        optTime(f, "process.effective_at", p.EffectiveAt),
			ExpiresAt:          optTime(f, "process.expires_at", p.ExpiresAt),
			NondisclosureUntil: optTime(f, "process.nondisclosure_until", p.NondisclosureUntil),

			AuthorityRole:          AuthorityRole(strings.TrimSpace(string(p.AuthorityRole))),
			ValidatedBy:            AuthorityRole(strings.TrimSpace(string(p.ValidatedBy))),
			EnforcingStateNotified: p.EnforcingStateNotified,
		}
		if p.Type.Valid() {
			validateEU(f, &req.Process)
		}
	}

	if raw.Emergency != nil {
		block.emergency = *raw.Emergency
		block.emergency.Description = strings.TrimSpace(block.emergency.Description)
		req.Emergency = &block.emergency
	}

	if len(raw.Targets) > maxTargets {
		f.add("targets", "at most %d targets can be logged on one request", maxTargets)
	}
	req.Targets = room(block.targets[:], len(raw.Targets))
	for i, t := range raw.Targets {
		// The field's name is made only for an error: a Sprintf per
		// target was a tenth of parsing 25 of them.
		field := func(sub string) string { return "targets[" + strconv.Itoa(i) + "]." + sub }
		t.Value = strings.TrimSpace(t.Value)
		switch {
		case !t.Kind.Valid():
			f.add(field("kind"), "%q is not a target kind (one of %s)", t.Kind, join(TargetKinds))
		case t.Value == "":
			f.add(field("value"), "is required")
		case len(t.Value) > maxTargetLen:
			f.add(field("value"), "is longer than %d characters", maxTargetLen)
		case strings.ContainsAny(t.Value, " \t\r\n"):
			f.add(field("value"), "must not contain white space")
		case TextProblem(t.Value) != "":
			f.add(field("value"), "%s", TextProblem(t.Value))
		case t.Kind == TargetPhone && !HasWildcard(t.Value):
			if msg := ValidPhone(t.Value); msg != "" {
				f.add(field("value"), "%s", msg)
			}
		}
		req.Targets = append(req.Targets, t)
	}
	if len(raw.Targets) == 0 {
		req.Targets = nil
	}

	// Appended into the block; nil if none, as before.
	categories := block.categories[:0]
	for i, c := range raw.Categories {
		if !c.Valid() {
			f.add(fmt.Sprintf("categories[%d]", i), "%q is not a data category (one of %s)", c, join(Categories))
			continue
		}
		// A scan, not a set: there are a handful of categories.
		if !slices.Contains(categories, c) {
			categories = append(categories, c)
		}
	}
	if len(categories) > 0 {
		req.Categories = categories[:len(categories):len(categories)]
	}

	if raw.Window != nil {
		// Values: the request keeps a copy of the window, not these.
		from, fromOK := optValue(f, "window.from", raw.Window.From, loc, StartOfDay)
		to, toOK := optValue(f, "window.to", raw.Window.To, loc, EndOfDayExclusive)
		switch {
		case !fromOK && f["window.from"] == "":
			f.add("window.from", "is required when a window is given")
		case !toOK && f["window.to"] == "":
			f.add("window.to", "is required when a window is given")
		case fromOK && toOK && !to.After(from):
			f.add("window.to", "must be after window.from")
		case fromOK && toOK:
			block.window = Window{From: from, To: to}
			req.Window = &block.window
		}
	}

	req.DueAt = times.opt(f, "due_at", raw.DueAt, loc, EndOfDayInclusive)
	if req.DueReason = strings.TrimSpace(raw.DueReason); len(req.DueReason) > maxText {
		f.add("due_reason", "is longer than %d characters", maxText)
	} else if msg := TextProblem(req.DueReason); msg != "" {
		f.add("due_reason", "%s", msg)
	}

	for _, t := range [...]struct{ field, s string }{
		{"agency.name", req.Agency.Name}, {"requester.name", req.Requester.Name},
		{"process.issuing_authority", req.Process.IssuingAuthority}, {"process.reference", req.Process.Reference},
	} {
		field, s := t.field, t.s
		if len(s) > maxText {
			f.add(field, "is longer than %d characters", maxText)
		} else if msg := TextProblem(s); msg != "" {
			f.add(field, "%s", msg)
		}
	}
	if req.Emergency != nil && len(req.Emergency.Description) > 10*maxText {
		f.add("emergency.description", "is longer than %d characters", 10*maxText)
	}

	if err := f.err(); err != nil {
		return nil, err
	}
	return req, nil
}

func join[T ~string](list []T) string {
	parts := make([]string, len(list))
	for i, v := range list {
		parts[i] = string(v)
	}
	return strings.Join(parts, ", ")
}
