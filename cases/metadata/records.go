package metadata

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"envelope/cases"
)

// Kind is the kind of a platform metadata record (shared/spec/interfaces.md).
type Kind string

// The record kinds.
const (
	KindSubscriber      Kind = "subscriber"
	KindIPSession       Kind = "ip_session"
	KindDevice          Kind = "device"
	KindProfile         Kind = "profile"
	KindGroupMembership Kind = "group_membership"
	KindLinkedAccount   Kind = "linked_account"
	KindEnforcement     Kind = "enforcement"
	KindContact         Kind = "contact"
	KindMessage         Kind = "message"
)

// Kinds lists every record kind, in the order of the data catalogue.
var Kinds = []Kind{
	KindSubscriber, KindIPSession, KindDevice, KindProfile, KindGroupMembership,
	KindLinkedAccount, KindEnforcement, KindContact, KindMessage,
}

var kindCategory = map[Kind]cases.Category{
	KindSubscriber:      cases.BasicSubscriberInfo,
	KindIPSession:       cases.IPLogs,
	KindDevice:          cases.DeviceInfo,
	KindProfile:         cases.Profile,
	KindGroupMembership: cases.GroupInfo,
	KindLinkedAccount:   cases.LinkedAccounts,
	KindEnforcement:     cases.EnforcementHistory,
	KindContact:         cases.Contacts,
	KindMessage:         cases.MessagePairs,
}

// Valid reports whether k is a known record kind.
func (k Kind) Valid() bool { _, ok := kindCategory[k]; return ok }

// Category is the data category records of this kind belong to.
func (k Kind) Category() cases.Category { return kindCategory[k] }

// KindOf returns the record kind holding category c. message_content has
// none, and never will: no record kind has a content field.
func KindOf(c cases.Category) (Kind, bool) {
	for k, cat := range kindCategory {
		if cat == c {
			return k, true
		}
	}
	return "", false
}

// Header is what every record has: its kind, and the account (E.164 phone
// number or account ID) it belongs to.
type Header struct {
	Kind    Kind   `json:"kind"`
	Account string `json:"account"`
}

func (h *Header) header() *Header { return h }

// Record is one platform metadata record: a *Subscriber, *IPSession,
// *Device, *Profile, *GroupMembership, *LinkedAccount, *Enforcement,
// *Contact or *Message. The set is closed (the interface has unexported
// methods), and none of the types has a field that could hold content.
type Record interface {
	header() *Header
	// fields binds the kind's JSON members to Go fields and to columns;
	// decoding, validation, storage and reading all follow this one list,
	// so a member not in it has nowhere to go.
	fields() []field
}

// HeaderOf returns a record's kind and account.
func HeaderOf(r Record) Header { return *r.header() }

// Subscriber is basic subscriber information.
type Subscriber struct {
	Header
	Name           string     `json:"name"`
	Email          string     `json:"email"`
	CreatedAt      *time.Time `json:"created_at"`
	LastSeenAt     *time.Time `json:"last_seen_at"`
	RegistrationIP string     `json:"registration_ip"`
	LastIP         string     `json:"last_ip"`
}

func (r *Subscriber) fields() []field {
	return []field{
		{name: "name", ptr: &r.Name},
		{name: "email", ptr: &r.Email, check: checkEmail},
		{name: "created_at", ptr: &r.CreatedAt},
		{name: "last_seen_at", ptr: &r.LastSeenAt},
		{name: "registration_ip", ptr: &r.RegistrationIP, check: checkIP},
		{name: "last_ip", ptr: &r.LastIP, check: checkIP},
	}
}

// IPSession is one connection of an account: when, from which address.
type IPSession struct {
	Header
	At   time.Time `json:"at"`
	IP   string    `json:"ip"`
	Port int       `json:"port"`
}

func (r *IPSession) fields() []field {
	return []field{
		{name: "at", ptr: &r.At, required: true},
		{name: "ip", ptr: &r.IP, required: true, check: checkIP},
		{name: "port", ptr: &r.Port, max: 65535},
	}
}

// Device is a device registered on an account.
type Device struct {
	Header
	DeviceID   string `json:"device_id"`
	OS         string `json:"os"`
	OSVersion  string `json:"os_version"`
	AppVersion string `json:"app_version"`
	Model      string `json:"model"`
}

func (r *Device) fields() []field {
	return []field{
		{name: "device_id", ptr: &r.DeviceID, required: true, check: checkToken},
		{name: "os", ptr: &r.OS},
		{name: "os_version", ptr: &r.OSVersion},
		{name: "app_version", ptr: &r.AppVersion},
		{name: "model", ptr: &r.Model},
	}
}

// Profile is an account's public profile. The photo is referenced by its
// hash only: envelope never holds the picture.
type Profile struct {
	Header
	About       string `json:"about"`
	Language    string `json:"language"`
	TimeZone    string `json:"time_zone"`
	PhotoSHA256 string `json:"photo_sha256"`
}

func (r *Profile) fields() []field {
	return []field{
		{name: "about", ptr: &r.About, max: 1000},
		{name: "language", ptr: &r.Language, max: 35, check: checkToken},
		{name: "time_zone", ptr: &r.TimeZone, max: 64, check: checkToken},
		{name: "photo_sha256", ptr: &r.PhotoSHA256, check: checkSHA256},
	}
}

// GroupMembership is a group an account belongs to.
type GroupMembership struct {
	Header
	GroupID   string `json:"group_id"`
	GroupName string `json:"group_name"`
	Members   int    `json:"members"`
	Role      string `json:"role"`
}

func (r *GroupMembership) fields() []field {
	return []field{
		{name: "group_id", ptr: &r.GroupID, required: true, check: checkToken},
		{name: "group_name", ptr: &r.GroupName},
		{name: "members", ptr: &r.Members, max: 1 << 30},
		{name: "role", ptr: &r.Role, max: 32},
	}
}

// LinkedAccount is the same person's account on a sister service. The
// spec's "account" of a linked account would collide with the record's own
// account, so the sister service's account is service_account.
type LinkedAccount struct {
	Header
	Service        string `json:"service"`
	ServiceAccount string `json:"service_account"`
}

func (r *LinkedAccount) fields() []field {
	return []field{
		{name: "service", ptr: &r.Service, required: true, max: 64, check: checkToken},
		{name: "service_account", ptr: &r.ServiceAccount, check: checkToken},
	}
}

// Enforcement is one enforcement action on an account: a report, a ban, an
// appeal. The reason is a policy label, never a quote of a message.
type Enforcement struct {
	Header
	At     time.Time `json:"at"`
	Action string    `json:"action"`
	Reason string    `json:"reason"`
}

func (r *Enforcement) fields() []field {
	return []field{
		{name: "at", ptr: &r.At, required: true},
		{name: "action", ptr: &r.Action, required: true, max: 64},
		{name: "reason", ptr: &r.Reason},
	}
}

// Contact is an entry of an account's address book.
type Contact struct {
	Header
	Contact string `json:"contact"`
}

func (r *Contact) fields() []field {
	return []field{{name: "contact", ptr: &r.Contact, required: true, account: true}}
}

// Message is one message pair: who wrote to whom, when, and what kind of
// message it was. There is deliberately no body. The record's own "kind" is
// "message", so the message's kind is message_kind.
type Message struct {
	Header
	From        string    `json:"from"`
	To          string    `json:"to"`
	At          time.Time `json:"at"`
	MessageKind string    `json:"message_kind"`
}

func (r *Message) fields() []field {
	return []field{
		{name: "from", col: "from_account", ptr: &r.From, required: true, account: true},
		{name: "to", col: "to_account", ptr: &r.To, required: true, account: true},
		{name: "at", ptr: &r.At, required: true},
		{name: "message_kind", ptr: &r.MessageKind, check: checkMessageKind},
	}
}

// validate checks what no single field can: a message belongs to one of
// its two parties, and defaults to its sender.
func (r *Message) validate() *FieldError {
	if r.Account == "" {
		r.Account = r.From
	}
	if r.Account != r.From && r.Account != r.To {
		return &FieldError{"account", "must be the message's from or to"}
	}
	if r.MessageKind == "" {
		r.MessageKind = "text"
	}
	return nil
}

// NewRecord returns an empty record of kind k, or nil for an unknown kind.
func NewRecord(k Kind) Record {
	var r Record
	switch k {
	case KindSubscriber:
		r = &Subscriber{}
	case KindIPSession:
		r = &IPSession{}
	case KindDevice:
		r = &Device{}
	case KindProfile:
		r = &Profile{}
	case KindGroupMembership:
		r = &GroupMembership{}
	case KindLinkedAccount:
		r = &LinkedAccount{}
	case KindEnforcement:
		r = &Enforcement{}
	case KindContact:
		r = &Contact{}
	case KindMessage:
		r = &Message{}
	default:
		return nil
	}
	r.header().Kind = k
	return r
}

// field binds a JSON member to a Go field and a column. ptr is a *string,
// *int, *time.Time (a required time) or **time.Time (an optional one).
type field struct {
	name     string
	col      string // the column, when it differs from name (SQL keywords)
	ptr      any
	required bool
	max      int                 // longest string in bytes (default 256), or largest int
	check    func(string) string // why a non-empty string is invalid, or ""
	account  bool                // the string names an account (checkAccount)
}

func (f *field) column() string {
	if f.col != "" {
		return f.col
	}
	return f.name
}

// FieldError says what is wrong with one field of a line.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// LineError is a rejected line of an NDJSON stream, with its line number.
type LineError struct {
	Line int64
	Err  error
}

func (e *LineError) Error() string {
	return "line " + strconv.FormatInt(e.Line, 10) + ": " + e.Err.Error()
}

func (e *LineError) Unwrap() error { return e.Err }

// Decoder decodes record lines. It reuses its buffers, so one Decoder per
// stream decodes without garbage beyond the records themselves.
type Decoder struct {
	sc scanner
	// phones memoizes phone number verdicts: libphonenumber costs tens of
	// microseconds a number, and an export names each account many times.
	phones map[string]string
}

// maxPhoneCache bounds the verdicts a Decoder keeps.
const maxPhoneCache = 1 << 16

// checkAccount is checkAccount, memoized for phone numbers.
func (d *Decoder) checkAccount(s string) string {
	if !strings.HasPrefix(s, "+") {
		return checkAccount(s)
	}
	if msg, ok := d.phones[s]; ok {
		return msg
	}
	msg := checkAccount(s)
	if d.phones == nil || len(d.phones) >= maxPhoneCache {
		d.phones = make(map[string]string, 1024)
	}
	d.phones[s] = msg
	return msg
}

// Decode decodes one record line. Members that are not fields of the line's
// kind (a message "body", say) are skipped without being copied: they never
// reach the record, so they can never reach the database. A malformed line
// is an error naming the field at fault.
func (d *Decoder) Decode(line []byte) (Record, error) {
	kind, err := d.kind(line)
	if err != nil {
		return nil, err
	}
	r := NewRecord(kind)
	fs := r.fields()
	h := r.header()
	sc := &d.sc
	for sc.reset(line); sc.next(); {
		switch key := string(sc.key); key { // no allocation: the compiler converts in place for a switch
		case "kind":
		case "account":
			if sc.typ != typeString || !utf8.Valid(sc.val) {
				return nil, &FieldError{"account", "must be a UTF-8 string"}
			}
			h.Account = strings.TrimSpace(string(sc.str()))
		default:
			for i := range fs {
				if fs[i].name == key {
					if err := fs[i].set(sc, d); err != nil {
						return nil, err
					}
					break
				}
			}
		}
	}
	if sc.err != nil {
		return nil, sc.err
	}
	return r, d.validate(r, fs)
}

// kind finds the line's kind, wherever it is in the object.
func (d *Decoder) kind(line []byte) (Kind, error) {
	sc := &d.sc
	for sc.reset(line); sc.next(); {
		if string(sc.key) != "kind" {
			continue
		}
		if sc.typ != typeString {
			return "", &FieldError{"kind", "must be a string"}
		}
		k := Kind(sc.str())
		if !k.Valid() {
			return "", &FieldError{"kind", fmt.Sprintf("%q is not a record kind (one of %s)", k, kindList())}
		}
		return k, nil
	}
	if sc.err != nil {
		return "", sc.err
	}
	return "", &FieldError{"kind", "is required"}
}

func kindList() string {
	parts := make([]string, len(Kinds))
	for i, k := range Kinds {
		parts[i] = string(k)
	}
	return strings.Join(parts, ", ")
}

// Decode decodes one record line with a throwaway Decoder.
func Decode(line []byte) (Record, error) {
	var d Decoder
	return d.Decode(line)
}

// set assigns the scanner's current value to the field.
func (f *field) set(sc *scanner, d *Decoder) error {
	if sc.typ == typeNull {
		return nil // null is absence; a required field is caught later
	}
	switch p := f.ptr.(type) {
	case *string:
		if sc.typ != typeString {
			return &FieldError{f.name, "must be a string, not " + sc.typ.String()}
		}
		if !utf8.Valid(sc.val) {
			return &FieldError{f.name, "is not valid UTF-8"}
		}
		s := strings.TrimSpace(string(sc.str()))
		if msg := cases.TextProblem(s); msg != "" {
			// PostgreSQL cannot store it: refused here, it is one bad
			// line, not a failed batch.
			return &FieldError{f.name, msg}
		}
		if max := f.maxLen(); len(s) > max {
			return &FieldError{f.name, fmt.Sprintf("is longer than %d bytes", max)}
		}
		if s != "" && f.check != nil {
			if msg := f.check(s); msg != "" {
				return &FieldError{f.name, msg}
			}
		}
		if s != "" && f.account {
			if msg := d.checkAccount(s); msg != "" {
				return &FieldError{f.name, msg}
			}
		}
		*p = s
	case *int:
		n, err := strconv.Atoi(string(sc.val))
		if sc.typ != typeNumber || err != nil || n < 0 || n > f.max {
			return &FieldError{f.name, fmt.Sprintf("must be a whole number from 0 to %d", f.max)}
		}
		*p = n
	case *time.Time, **time.Time:
		if sc.typ != typeString {
			return &FieldError{f.name, "must be an RFC 3339 time string, not " + sc.typ.String()}
		}
		ns, err := parseStamp(sc.str())
		if err != nil {
			return &FieldError{f.name, fmt.Sprintf("%q is not an RFC 3339 time (e.g. 2026-11-20T09:30:00Z)", sc.str())}
		}
		t := stampTime(ns)
		if pt, ok := p.(*time.Time); ok {
			*pt = t
		} else {
			*p.(**time.Time) = &t
		}
	}
	return nil
}

func (f *field) maxLen() int {
	if f.max > 0 {
		return f.max
	}
	return 256
}

// validate checks a decoded record's account, required fields and
// kind-specific rules.
func (d *Decoder) validate(r Record, fs []field) error {
	if v, ok := r.(interface{ validate() *FieldError }); ok {
		if err := v.validate(); err != nil {
			return err
		}
	}
	h := r.header()
	if h.Account == "" {
		return &FieldError{"account", "is required"}
	} else if msg := d.checkAccount(h.Account); msg != "" {
		return &FieldError{"account", msg}
	}
	for i := range fs {
		if !fs[i].required {
			continue
		}
		missing := false
		switch p := fs[i].ptr.(type) {
		case *string:
			missing = *p == ""
		case *time.Time:
			missing = p.IsZero()
		}
		if missing {
			return &FieldError{fs[i].name, "is required for a " + string(h.Kind) + " record"}
		}
	}
	return nil
}

// checkAccount accepts an E.164 phone number, or an account ID or username:
// one specific account, never a pattern.
func checkAccount(s string) string {
	if strings.HasPrefix(s, "+") {
		return cases.ValidPhone(s)
	}
	if len(s) > 128 {
		return "is longer than 128 bytes"
	}
	if msg := checkToken(s); msg != "" {
		return msg
	}
	if cases.HasWildcard(s) {
		return "must name one account, not a pattern"
	}
	return ""
}

// checkToken refuses white space and control characters in identifiers.
func checkToken(s string) string {
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return fmt.Sprintf("%q must not contain spaces or control characters", s)
		}
	}
	return ""
}

func checkIP(s string) string {
	if _, err := netip.ParseAddr(s); err != nil {
		return fmt.Sprintf("%q is not an IP address", s)
	}
	return ""
}

func checkEmail(s string) string {
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at == len(s)-1 || strings.ContainsAny(s, " \t<>") {
		return fmt.Sprintf("%q is not an email address", s)
	}
	return ""
}

func checkSHA256(s string) string {
	if len(s) != 64 {
		return "must be 64 hexadecimal digits"
	}
	for i := 0; i < len(s); i++ {
		if hexVal(s[i]) < 0 {
			return "must be 64 hexadecimal digits"
		}
	}
	return ""
}

// MessageKinds are the kinds of message a pair records.
var MessageKinds = []string{"text", "media", "call", "group"}

func checkMessageKind(s string) string {
	for _, k := range MessageKinds {
		if s == k {
			return ""
		}
	}
	return fmt.Sprintf("%q is not a message kind (one of text, media, call, group)", s)
}
