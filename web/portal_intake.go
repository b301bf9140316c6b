package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"envelope/cases"
	"envelope/cases/store"
)

// intakeForm is the intake form's values as typed, so a form with errors
// comes back exactly as it was sent. Field names follow the intake JSON, so
// cases.ParseRequest's field errors ("targets[0].value") land next to the
// input they are about.
type intakeForm struct {
	AgencyName, AgencyCountry, AgencyDomains             string
	RequesterName, RequesterEmail, RequesterPhone        string
	ProcessType, ProcessVia, IssuingAuthority, Reference string
	IssuedAt, EffectiveAt, ExpiresAt, NondisclosureUntil string
	EmergencyDescription                                 string
	ImminentHarm                                         bool
	Targets                                              []targetRow
	Categories                                           []cases.Category
	WindowFrom, WindowTo, DueAt                          string
	ReceivedAt, DueReason                                string // blank: now
	AuthorityRole, ValidatedBy                           string // EU orders
	EnforcingStateNotified                               bool
}

type targetRow struct {
	Kind, Value string
}

// intakeTargetRows is how many target rows the form offers (more than the
// filled ones, without JavaScript).
const intakeTargetRows = 3

type intakeData struct {
	Form     intakeForm
	Fields   map[string]string
	Message  string
	Decision *cases.Decision
	// Directory is the agency directory, which the agency name is picked
	// from; a name not in it makes an unknown agency (AGENCY-UNKNOWN).
	Directory []*store.AgencyEntry
	// Duplicates are the cases already naming a target or the reference.
	Duplicates []store.Related
}

func (d intakeData) ErrorText() string { return d.Message }

// renderIntake shows the intake form with the agency directory to pick from.
func (s *Server) renderIntake(c *gin.Context, status int, d intakeData) {
	var err error
	if d.Directory, err = s.DB.Agencies(c.Request.Context()); err != nil {
		s.portalFail(c, err)
		return
	}
	s.render(c, status, "intake", "Log a request", d)
}

func (s *Server) intakePage(c *gin.Context) {
	f := intakeForm{ProcessType: string(cases.Subpoena)}
	f.padTargets()
	s.renderIntake(c, http.StatusOK, intakeData{Form: f})
}

func (f *intakeForm) padTargets() {
	for len(f.Targets) < intakeTargetRows || f.Targets[len(f.Targets)-1].Value != "" {
		f.Targets = append(f.Targets, targetRow{Kind: string(cases.TargetPhone)})
	}
}

func readIntakeForm(c *gin.Context) intakeForm {
	f := intakeForm{
		AgencyName: c.PostForm("agency.name"), AgencyCountry: c.PostForm("agency.country"),
		AgencyDomains: c.PostForm("agency.verified_domains"),
		RequesterName: c.PostForm("requester.name"), RequesterEmail: c.PostForm("requester.email"),
		RequesterPhone: c.PostForm("requester.phone"),
		ProcessType:    c.PostForm("process.type"), ProcessVia: c.PostForm("process.via"),
		IssuingAuthority: c.PostForm("process.issuing_authority"), Reference: c.PostForm("process.reference"),
		IssuedAt: c.PostForm("process.issued_at"), EffectiveAt: c.PostForm("process.effective_at"),
		ExpiresAt: c.PostForm("process.expires_at"), NondisclosureUntil: c.PostForm("process.nondisclosure_until"),
		EmergencyDescription: c.PostForm("emergency.description"),
		ImminentHarm:         c.PostForm("emergency.imminent_harm") != "",
		WindowFrom:           c.PostForm("window.from"), WindowTo: c.PostForm("window.to"), DueAt: c.PostForm("due_at"),
		ReceivedAt: c.PostForm("received_at"), DueReason: c.PostForm("due_reason"),
		AuthorityRole: c.PostForm("process.authority_role"), ValidatedBy: c.PostForm("process.validated_by"),
		EnforcingStateNotified: c.PostForm("process.enforcing_state_notified") != "",
	}
	kinds, values := c.PostFormArray("target_kind"), c.PostFormArray("target_value")
	// Blank rows are dropped, so targets[i] in an error is the i-th row shown
	// when the form comes back.
	for i, v := range values {
		if strings.TrimSpace(v) == "" {
			continue
		}
		k := ""
		if i < len(kinds) {
			k = kinds[i]
		}
		f.Targets = append(f.Targets, targetRow{Kind: k, Value: v})
	}
	for _, cat := range c.PostFormArray("categories") {
		f.Categories = append(f.Categories, cases.Category(cat))
	}
	return f
}

// json builds the intake JSON the form stands for; validation is then the
// API's own (cases.ParseRequest), so the form accepts exactly what the API
// accepts.
func (f *intakeForm) json() []byte {
	opt := func(s string) *string {
		if s = strings.TrimSpace(s); s == "" {
			return nil
		}
		return &s
	}
	domains := append([]string{}, strings.FieldsFunc(f.AgencyDomains, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' })...)
	targets := []map[string]string{}
	for _, t := range f.Targets {
		// A person types a phone number as they read it ("(415) 555-0123"):
		// read in the agency's country, it becomes the E.164 the API takes.
		if t.Kind == string(cases.TargetPhone) {
			t.Value = cases.NationalToE164(t.Value, f.AgencyCountry)
		}
		targets = append(targets, map[string]string{"kind": t.Kind, "value": t.Value})
	}
	req := map[string]any{
		"received_at": opt(f.ReceivedAt),
		"agency":      map[string]any{"name": f.AgencyName, "country": f.AgencyCountry, "verified_domains": domains},
		"requester":   map[string]any{"name": f.RequesterName, "email": f.RequesterEmail, "phone": f.RequesterPhone},
		"process": map[string]any{
			"type": f.ProcessType, "via": f.ProcessVia, "issuing_authority": f.IssuingAuthority, "reference": f.Reference,
			"issued_at": opt(f.IssuedAt), "effective_at": opt(f.EffectiveAt), "expires_at": opt(f.ExpiresAt),
			"nondisclosure_until": opt(f.NondisclosureUntil),
			"authority_role":      f.AuthorityRole, "validated_by": f.ValidatedBy,
			"enforcing_state_notified": f.EnforcingStateNotified,
		},
		"targets":    targets,
		"categories": append([]cases.Category{}, f.Categories...),
		"due_at":     opt(f.DueAt),
		"due_reason": f.DueReason,
	}
	if strings.TrimSpace(f.EmergencyDescription) != "" || f.ImminentHarm {
		req["emergency"] = map[string]any{"description": f.EmergencyDescription, "imminent_harm": f.ImminentHarm}
	}
	if opt(f.WindowFrom) != nil || opt(f.WindowTo) != nil {
		req["window"] = map[string]any{"from": opt(f.WindowFrom), "to": opt(f.WindowTo)}
	}
	b, _ := json.Marshal(req)
	return b
}

// intakeSubmit checks ("action=check": decide and show, store nothing) or
// saves the form. A save validates the upload before the case is stored, so
// a bad file never leaves a case behind without its document.
func (s *Server) intakeSubmit(c *gin.Context) {
	limitUpload(c)
	if err := c.Request.ParseMultipartForm(1 << 20); err != nil && err != http.ErrNotMultipart {
		s.portalFail(c, tooLargeOr(err, cases.Invalid(map[string]string{"body": "the form could not be read"})))
		return
	}
	form := readIntakeForm(c)
	d := intakeData{Form: form}
	again := func(status int, err error) {
		d.Fields = cases.ErrorFields(err)
		d.Message = cases.ErrorMessage(err)
		if len(d.Fields) > 0 {
			d.Message = "The request has errors in these fields; nothing was saved:"
		}
		d.Form.padTargets()
		s.renderIntake(c, status, d)
	}
	req, err := cases.ParseRequestIn(form.json(), s.zone(c))
	if err != nil {
		again(statusOf(cases.ErrorCode(err)), err)
		return
	}
	now := s.Now()
	if req.ReceivedAt.IsZero() {
		req.ReceivedAt = now.Truncate(time.Microsecond)
	}
	if err := s.computeDue(c, req); err != nil {
		again(statusOf(cases.ErrorCode(err)), err)
		return
	}
	dec, err := s.decide(c, req, now)
	if err != nil {
		s.portalFail(c, err)
		return
	}
	if err := s.DB.CheckReceipt(c.Request.Context(), req, now); err != nil {
		again(statusOf(cases.ErrorCode(err)), err)
		return
	}
	if c.PostForm("action") != "save" {
		d.Decision = dec
		if d.Duplicates, err = s.intakeDuplicates(c, req); err != nil {
			s.portalFail(c, err)
			return
		}
		d.Form.padTargets()
		s.renderIntake(c, http.StatusOK, d)
		return
	}
	name, content, err := formFile(c, "document")
	if err == nil && content != nil && !strings.HasPrefix(string(content[:min(len(content), 1024)]), "%PDF-") {
		err = cases.Invalid(map[string]string{"document": "must be a PDF file"})
	}
	if err != nil {
		d.Decision = dec
		again(statusOf(cases.ErrorCode(err)), err)
		return
	}
	u := currentUser(c)
	kase, err := s.DB.CreateCase(c.Request.Context(), u.Email, store.NewCase{Request: req, Decision: dec})
	if err != nil {
		again(statusOf(cases.ErrorCode(err)), err)
		return
	}
	if content != nil {
		if _, err := s.DB.AttachDocument(c.Request.Context(), u, itoa(kase.ID), name, content); err != nil {
			// The case is logged; say so on its page rather than lose it.
			s.Logger.Error("attach document after intake", "id", c.GetString("request_id"), "case", kase.Number, "err", err)
			c.Set(userKey, u)
			c.Params = append(c.Params, gin.Param{Key: "id", Value: itoa(kase.ID)})
			s.caseFormError(c, cases.Errorf(cases.ECONFLICT, "case %s was logged, but its document could not be stored: upload it again below", kase.Number), "")
			return
		}
	}
	c.Redirect(http.StatusSeeOther, "/cases/"+itoa(kase.ID)+"?done=created")
}
