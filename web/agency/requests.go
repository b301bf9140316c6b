package agency

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/exporter"
)

func (p *portal) casesPage(c *gin.Context) {
	list, err := p.DB.OfficerCases(c.Request.Context(), officer(c))
	if err != nil {
		p.internal(c, err)
		return
	}
	p.render(c, http.StatusOK, "cases", "Your requests", view{Data: list})
}

// submitForm is the submission form as typed, so a form with errors comes
// back as it was sent. The agency and the requester are not on it: they
// are the officer's verified identity and directory entry.
type submitForm struct {
	ProcessType, IssuingAuthority, Reference string
	IssuedAt, ExpiresAt                      string
	TargetKinds, TargetValues                []string
	Categories                               []string
	WindowFrom, WindowTo                     string
	EmergencyDescription                     string
	ImminentHarm                             bool

	ProcessTypes []cases.ProcessType
	Kinds        []cases.TargetKind
	AllCats      []cases.Category
}

func (f *submitForm) pad() {
	f.ProcessTypes, f.Kinds, f.AllCats = cases.ProcessTypes, cases.TargetKinds, cases.Categories
	for len(f.TargetValues) < 3 {
		f.TargetValues = append(f.TargetValues, "")
		f.TargetKinds = append(f.TargetKinds, string(cases.TargetPhone))
	}
}

func (f submitForm) Checked(cat cases.Category) bool {
	for _, c := range f.Categories {
		if c == string(cat) {
			return true
		}
	}
	return false
}

func (p *portal) submitPage(c *gin.Context) {
	f := submitForm{ProcessType: string(cases.Subpoena)}
	f.pad()
	p.render(c, http.StatusOK, "submit", "Submit a request", view{Data: f})
}

// json is the intake JSON of the form, the officer and the agency, so that
// cases.ParseRequest validates it exactly as it validates staff intake.
func (f *submitForm) json(o *store.Officer, ag *store.AgencyEntry) []byte {
	opt := func(s string) *string {
		if s = strings.TrimSpace(s); s == "" {
			return nil
		}
		return &s
	}
	targets := []map[string]string{}
	for i, v := range f.TargetValues {
		if strings.TrimSpace(v) == "" {
			continue
		}
		k := ""
		if i < len(f.TargetKinds) {
			k = f.TargetKinds[i]
		}
		if k == string(cases.TargetPhone) { // typed as read: in the agency's country
			v = cases.NationalToE164(v, ag.Country)
		}
		targets = append(targets, map[string]string{"kind": k, "value": v})
	}
	req := map[string]any{
		"agency":    map[string]any{"name": ag.Name, "country": ag.Country, "verified_domains": ag.VerifiedDomains},
		"requester": map[string]any{"name": o.Name, "email": o.Email, "phone": o.Phone},
		"process": map[string]any{"type": f.ProcessType, "issuing_authority": f.IssuingAuthority,
			"reference": f.Reference, "issued_at": opt(f.IssuedAt), "expires_at": opt(f.ExpiresAt)},
		"targets":    targets,
		"categories": append([]string{}, f.Categories...),
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

// submit validates the form as staff intake does, decides it with the
// policy in force, and stores the case (source agency) with its PDF.
func (p *portal) submit(c *gin.Context) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, cases.MaxDocumentSize+1<<20)
	if err := c.Request.ParseMultipartForm(1 << 20); err != nil && err != http.ErrNotMultipart {
		p.fail(c, http.StatusBadRequest, "The form could not be read (is the file over 20 MiB?).")
		return
	}
	f := submitForm{
		ProcessType: c.PostForm("process.type"), IssuingAuthority: c.PostForm("process.issuing_authority"),
		Reference: c.PostForm("process.reference"), IssuedAt: c.PostForm("process.issued_at"),
		ExpiresAt: c.PostForm("process.expires_at"), TargetKinds: c.PostFormArray("target_kind"),
		TargetValues: c.PostFormArray("target_value"), Categories: c.PostFormArray("categories"),
		WindowFrom: c.PostForm("window.from"), WindowTo: c.PostForm("window.to"),
		EmergencyDescription: c.PostForm("emergency.description"), ImminentHarm: c.PostForm("emergency.imminent_harm") != "",
	}
	again := func(err error) {
		f.pad()
		msg := cases.ErrorMessage(err)
		if len(cases.ErrorFields(err)) > 0 {
			msg = "The request has errors: see the fields marked below. Nothing was sent."
		}
		p.render(c, statusOf(cases.ErrorCode(err)), "submit", "Submit a request", view{Error: msg, Fields: cases.ErrorFields(err), Data: f})
	}
	ctx := c.Request.Context()
	o := officer(c)
	ag, err := p.DB.AgencyByID(ctx, o.AgencyID)
	if err != nil {
		p.internal(c, err)
		return
	}
	zone := time.UTC
	if p.Zone != nil {
		zone = p.Zone(c)
	}
	req, err := cases.ParseRequestIn(f.json(o, ag), zone)
	if err != nil {
		again(err)
		return
	}
	name, content, err := pdf(c)
	if err != nil {
		again(err)
		return
	}
	now := p.Now()
	req.ReceivedAt = now.Truncate(time.Microsecond)
	if p.Due != nil {
		if err := p.Due(c, req); err != nil {
			again(err)
			return
		}
	}
	if err := p.DB.Resolve(ctx, req); err != nil {
		p.internal(c, err)
		return
	}
	dec := p.Policy().Decide(req, now)
	if err := p.DB.CheckReceipt(ctx, req, now); err != nil {
		again(err)
		return
	}
	kase, err := p.DB.SubmitAgencyCase(ctx, o, store.NewCase{Request: req, Decision: dec}, name, content)
	if err != nil && kase == nil {
		again(err)
		return
	} else if err != nil {
		p.Logger.Error("agency submission: document not stored", "case", kase.Number, "err", err)
	}
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/agency/cases/%d?done=submitted", kase.ID))
}

// pdf reads the required legal process document and checks it is a PDF.
func pdf(c *gin.Context) (string, []byte, error) {
	fh, err := c.FormFile("document")
	if err != nil {
		return "", nil, cases.Invalid(map[string]string{"document": "attach the legal process as a PDF file"})
	}
	if fh.Size > cases.MaxDocumentSize {
		return "", nil, &cases.Error{Code: cases.ETOOLARGE, Message: "document too large", Fields: map[string]string{"document": "is larger than 20 MiB"}}
	}
	f, err := fh.Open()
	if err != nil {
		return "", nil, cases.Invalid(map[string]string{"document": "could not be read"})
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil || !strings.HasPrefix(string(b[:min(len(b), 1024)]), "%PDF-") {
		return "", nil, cases.Invalid(map[string]string{"document": "must be a PDF file"})
	}
	return fh.Filename, b, nil
}

// ownCase reads the :id case if the officer may see it; 404 otherwise,
// whether it exists or not.
func (p *portal) ownCase(c *gin.Context) *cases.Case {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		p.fail(c, http.StatusNotFound, "No such request.")
		return nil
	}
	kase, err := p.DB.OfficerCase(c.Request.Context(), officer(c), id)
	if err != nil {
		if cases.ErrorCode(err) == cases.ENOTFOUND {
			p.fail(c, http.StatusNotFound, "No such request.")
		} else {
			p.internal(c, err)
		}
		return nil
	}
	return kase
}

type packageView struct {
	*exporter.Package
	Link     string
	Delivery *store.Delivery
}

type caseView struct {
	Case     *cases.Case
	Question string
	Packages []packageView
	Thread   []*cases.Message
}

func (p *portal) casePage(c *gin.Context) {
	kase := p.ownCase(c)
	if kase == nil {
		return
	}
	p.renderCase(c, http.StatusOK, kase, view{})
}

// renderCase shows the case page with the page's message or error in pv.
func (p *portal) renderCase(c *gin.Context, status int, kase *cases.Case, pv view) {
	ctx := c.Request.Context()
	v := caseView{Case: kase}
	var err error
	if v.Thread, err = p.DB.Thread(ctx, kase.ID); err != nil {
		p.internal(c, err)
		return
	}
	if kase.Status == cases.StatusNeedsClarification {
		events, err := p.DB.Events(ctx, "case", strconv.FormatInt(kase.ID, 10))
		if err != nil {
			p.internal(c, err)
			return
		}
		for _, e := range events {
			if e.Action == "case.clarification_request" {
				var after struct{ Text string }
				json.Unmarshal(e.After, &after)
				v.Question = after.Text
			}
		}
	}
	pkgs, err := exporter.ListPackages(ctx, p.DB, kase.ID)
	if err != nil {
		p.internal(c, err)
		return
	}
	del, err := p.DB.Deliveries(ctx, kase.ID)
	if err != nil {
		p.internal(c, err)
		return
	}
	for _, pk := range pkgs {
		v.Packages = append(v.Packages, packageView{Package: pk, Delivery: del[pk.ID],
			Link: "/agency/download/" + p.sign(officer(c).ID, kase.ID, pk.ID, p.Now().Add(p.DownloadTTL))})
	}
	pv.Data = v
	p.render(c, status, "case", kase.Number, pv)
}

func (p *portal) withdraw(c *gin.Context) {
	kase := p.ownCase(c)
	if kase == nil {
		return
	}
	if _, err := p.DB.Withdraw(c.Request.Context(), officer(c).Actor(), strconv.FormatInt(kase.ID, 10), c.PostForm("reason")); err != nil {
		p.failErr(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/agency/cases/%d?done=withdrawn", kase.ID))
}

// answer answers the legal team's clarification request: a message of
// the thread that returns the case to review.
func (p *portal) answer(c *gin.Context) {
	kase := p.ownCase(c)
	if kase == nil {
		return
	}
	p.post(c, kase, cases.MessageClarificationAnswer, c.PostForm("answer"), nil)
}

// sign makes a download token: officer, case, package and expiry, with an
// HMAC over them. It is good only for that officer and until it expires.
func (p *portal) sign(officerID, caseID, pkgID int64, until time.Time) string {
	payload := fmt.Sprintf("%d.%d.%d.%d", officerID, caseID, pkgID, until.Unix())
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// open checks a download token and returns its case and package IDs.
func (p *portal) open(token string, officerID int64) (caseID, pkgID int64, ok bool) {
	a, b, found := strings.Cut(token, ".")
	payload, err1 := base64.RawURLEncoding.DecodeString(a)
	mac, err2 := base64.RawURLEncoding.DecodeString(b)
	if !found || err1 != nil || err2 != nil {
		return 0, 0, false
	}
	m := hmac.New(sha256.New, p.key)
	m.Write(payload)
	if !hmac.Equal(mac, m.Sum(nil)) {
		return 0, 0, false
	}
	var oid, until int64
	if n, err := fmt.Sscanf(string(payload), "%d.%d.%d.%d", &oid, &caseID, &pkgID, &until); n != 4 || err != nil {
		return 0, 0, false
	}
	if oid != officerID || !p.Now().Before(time.Unix(until, 0)) {
		return 0, 0, false
	}
	return caseID, pkgID, true
}

// download serves a package over a signed link, after checking the link,
// the officer's access to the case, and recording the download.
func (p *portal) download(c *gin.Context) {
	o := officer(c)
	caseID, pkgID, ok := p.open(c.Param("token"), o.ID)
	if !ok {
		p.fail(c, http.StatusGone, "This download link has expired or is not valid. Open the request again for a new link.")
		return
	}
	ctx := c.Request.Context()
	if _, err := p.DB.OfficerCase(ctx, o, caseID); err != nil {
		p.failErr(c, err)
		return
	}
	if p.Packages == nil {
		p.fail(c, http.StatusServiceUnavailable, "Downloads are not set up on this server.")
		return
	}
	exp, err := p.Packages()
	if err != nil {
		p.internal(c, err)
		return
	}
	pkgs, err := exporter.ListPackages(ctx, p.DB, caseID)
	if err != nil {
		p.internal(c, err)
		return
	}
	var name string
	for _, pk := range pkgs {
		if pk.ID == pkgID {
			name = pk.FileName
		}
	}
	pk, f, err := exp.Open(ctx, strconv.FormatInt(caseID, 10), name)
	if err != nil {
		p.failErr(c, err)
		return
	}
	defer f.Close()
	if err := p.DB.RecordDownload(ctx, o, caseID, pk.ID, pk.SHA256); err != nil {
		p.internal(c, err)
		return
	}
	c.Header("X-Package-SHA256", pk.SHA256)
	c.DataFromReader(http.StatusOK, pk.Size, "application/zip", f, map[string]string{
		"Content-Disposition": fmt.Sprintf(`attachment; filename="%s"`, pk.FileName),
	})
}

func (p *portal) acknowledge(c *gin.Context) {
	kase := p.ownCase(c)
	if kase == nil {
		return
	}
	pkgID, _ := strconv.ParseInt(c.Param("pkg"), 10, 64)
	if err := p.DB.AcknowledgeReceipt(c.Request.Context(), officer(c), kase.ID, pkgID); err != nil {
		p.failErr(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/agency/cases/%d?done=ack", kase.ID))
}

// addFollower lets a colleague of the same agency follow the request.
func (p *portal) addFollower(c *gin.Context) {
	kase := p.ownCase(c)
	if kase == nil {
		return
	}
	if err := p.DB.AddFollower(c.Request.Context(), officer(c), kase.ID, c.PostForm("email")); err != nil {
		p.failErr(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/agency/cases/%d?done=followed", kase.ID))
}
