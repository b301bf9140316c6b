package web

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// fieldProblem is one field's error as the error summary at the top of a
// page lists it and the message under the field says it: with the field's
// name, so "is required" never stands alone, and with the id of the control
// it links to and of the message the control's aria-describedby names.
type fieldProblem struct {
	Key     string // the field as the validation names it: "targets[0].value"
	Control string // the id of the form control to link and focus
	Label   string // the field's name as the form's label says it
	Message string // what is wrong: "is required"
}

// MsgID is the id of the message under the control.
func (p fieldProblem) MsgID() string { return errID(p.Key) }

// Text is the message with the field's name in front.
func (p fieldProblem) Text() string {
	m := strings.TrimSpace(p.Message)
	for _, verb := range []string{"is ", "are ", "must ", "may ", "cannot ", "has ", "needs ", "does "} {
		if strings.HasPrefix(m, verb) {
			return p.Label + " " + m
		}
	}
	return p.Label + ": " + m
}

var notIDChar = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// errID turns a field key into the id of its message.
func errID(key string) string {
	return "err-" + strings.Trim(notIDChar.ReplaceAllString(key, "-"), "-")
}

// formField says where a field is on a form and what it is called.
type formField struct{ control, label string }

// problemList orders a form's field errors as the form lays its fields
// out (order), so the summary reads top to bottom; fields the form does not
// know come last, by name, linked to nothing better than the form's first
// control.
func problemList(fields map[string]string, order []string, lookup func(key string) formField) []fieldProblem {
	rank := map[string]int{}
	for i, k := range order {
		rank[k] = i
	}
	base := func(k string) string {
		if i := strings.IndexByte(k, '['); i >= 0 {
			return k[:i]
		}
		return k
	}
	out := make([]fieldProblem, 0, len(fields))
	for k, msg := range fields {
		f := lookup(k)
		out = append(out, fieldProblem{Key: k, Control: f.control, Label: f.label, Message: msg})
	}
	sort.Slice(out, func(i, j int) bool {
		ri, iok := rank[base(out[i].Key)]
		rj, jok := rank[base(out[j].Key)]
		if iok != jok {
			return iok
		}
		if ri != rj {
			return ri < rj
		}
		return out[i].Key < out[j].Key
	})
	return out
}

// problemFor finds one field's problem in a list, for the message under it.
func problemFor(list []fieldProblem, key string) *fieldProblem {
	for i := range list {
		if list[i].Key == key {
			return &list[i]
		}
	}
	return nil
}

// intakeOrder is the intake form's fields, top to bottom.
var intakeOrder = []string{"agency", "agency.name", "agency.country", "agency.verified_domains", "requester", "requester.name",
	"requester.email", "requester.phone", "process", "process.type", "process.via", "process.issuing_authority", "process.reference",
	"process.issued_at", "process.effective_at", "process.expires_at", "process.nondisclosure_until", "process.authority_role",
	"process.validated_by", "process.enforcing_state_notified", "emergency", "emergency.description", "targets", "categories",
	"window", "window.from", "window.to", "due_at", "due_reason", "received_at", "document"}

var intakeLabels = map[string]formField{
	"agency":                             {"agency.name", "Agency"},
	"agency.name":                        {"agency.name", "Agency name"},
	"agency.country":                     {"agency.country", "Country"},
	"agency.verified_domains":            {"agency.verified_domains", "Domains the request claims"},
	"requester":                          {"requester.name", "Requester"},
	"requester.name":                     {"requester.name", "Requester name"},
	"requester.email":                    {"requester.email", "Requester email"},
	"requester.phone":                    {"requester.phone", "Requester phone"},
	"process":                            {"process.type", "Legal process"},
	"process.type":                       {"process.type", "Process type"},
	"process.via":                        {"process.via", "Received via"},
	"process.issuing_authority":          {"process.issuing_authority", "Issuing authority"},
	"process.reference":                  {"process.reference", "Reference"},
	"process.issued_at":                  {"process.issued_at", "Issued"},
	"process.effective_at":               {"process.effective_at", "Effective"},
	"process.expires_at":                 {"process.expires_at", "Expires"},
	"process.nondisclosure_until":        {"process.nondisclosure_until", "Nondisclosure until"},
	"process.authority_role":             {"process.authority_role", "EU order issued by"},
	"process.validated_by":               {"process.validated_by", "Validated by"},
	"process.enforcing_state_notified":   {"process.enforcing_state_notified", "Enforcing state notified"},
	"emergency":                          {"emergency.description", "Emergency"},
	"emergency.description":              {"emergency.description", "Emergency description"},
	"targets":                            {"target_value_0", "Targets"},
	"categories":                         {"cat_basic_subscriber_info", "Data requested"},
	"window":                             {"window.from", "Window"},
	"window.from":                        {"window.from", "Window from"},
	"window.to":                          {"window.to", "Window to"},
	"due_at":                             {"due_at", "Response due"},
	"due_reason":                         {"due_reason", "Why earlier than the legal deadline"},
	"received_at":                        {"received_at", "Received at"},
	"document":                           {"document", "Legal process document"},
	"body":                               {"agency.name", "The form"},
	"agency.verified_domains[]":          {"agency.verified_domains", "Domain"},
	"targets[].kind":                     {"target_kind_%d", "Target %d kind"},
	"targets[].value":                    {"target_value_%d", "Target %d value"},
	"categories[]":                       {"cat_basic_subscriber_info", "Requested category %d"},
	"process.enforcing_state_notified[]": {"process.enforcing_state_notified", "Enforcing state notified"},
}

var indexed = regexp.MustCompile(`\[(\d+)\]`)

// intakeField names an intake field: "targets[1].value" is "Target 2
// value", linked to target_value_1.
func intakeField(key string) formField {
	n := -1
	generic := indexed.ReplaceAllStringFunc(key, func(m string) string {
		if n < 0 {
			n, _ = strconv.Atoi(m[1 : len(m)-1])
		}
		return "[]"
	})
	f, ok := intakeLabels[generic]
	if !ok {
		return formField{"agency.name", key}
	}
	if n >= 0 {
		if strings.Contains(f.control, "%d") {
			f.control = fmt.Sprintf(f.control, n)
		}
		if strings.Contains(f.label, "%d") {
			f.label = fmt.Sprintf(f.label, n+1)
		}
	}
	return f
}

// Problems lists the intake form's field errors for the summary.
func (d intakeData) Problems() []fieldProblem { return problemList(d.Fields, intakeOrder, intakeField) }

// Problems lists the case page's field errors for the summary.
func (d caseData) Problems() []fieldProblem { return problemList(d.Fields, caseOrder, caseField) }

// caseFields are the case page's forms' fields.
var caseFields = map[string]formField{
	"note":      {"note", "Review note"},
	"phone":     {"phone", "Number called"},
	"outcome":   {"outcome-confirmed", "Outcome of the callback"},
	"reason":    {"hold-reason", "Reason"},
	"body":      {"body", "Note"},
	"kind":      {"letter-kind", "Letter"},
	"questions": {"letter-questions", "Questions"},
	"document":  {"document", "Document"},
}

var caseOrder = []string{"phone", "outcome", "note", "document", "kind", "questions", "reason", "body"}

func caseField(key string) formField {
	if f, ok := caseFields[key]; ok {
		return f
	}
	return formField{"main", key}
}
