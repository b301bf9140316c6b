package web

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/policy"
)

// The admin pages: users and roles, the agency directory and the policy.
// Admins change them; auditors may read the directory and the policy (not
// the user list, which is account administration). Every change is audited
// by the store (user.create, token.revoke, agency.create, agency.update,
// policy.activate).

// adminRoutes registers the admin pages on the portal group.
func (s *Server) adminRoutes(p *gin.RouterGroup) {
	p.GET("/admin/users", s.signedIn(admins), s.usersPage)
	p.POST("/admin/users", s.signedIn(admins), s.userCreate)
	p.POST("/admin/users/:id/revoke-tokens", s.signedIn(admins), s.userRevokeTokens)
	p.POST("/admin/users/:id", s.signedIn(admins), s.userUpdate)
	p.POST("/admin/users/:id/reset-password", s.signedIn(admins), s.userResetPassword)
	p.POST("/admin/users/:id/reset-second-factor", s.signedIn(admins), s.userResetSecondFactor)

	p.GET("/admin/agencies", s.signedIn(auditors), s.agenciesPage)
	p.POST("/admin/agencies", s.signedIn(admins), s.agencyCreate)
	p.GET("/admin/agencies/:id", s.signedIn(admins), s.agencyPage)
	p.POST("/admin/agencies/:id", s.signedIn(admins), s.agencyUpdate)

	p.GET("/admin/policy", s.signedIn(auditors), s.policyPage)
	p.POST("/admin/policy/replay", s.signedIn(admins), s.policyReplay)
	p.POST("/admin/policy/activate", s.signedIn(admins), s.policyActivate)
	s.settingsPortalRoutes(p)
	s.profileRoutes(p)
}

// ---- users

type usersData struct {
	Users           []*cases.User
	Email, Role     string // the add form, kept on an error
	Fields          map[string]string
	Message         string
	Created         *cases.User
	Reset           bool // Created's password was reset, not a new user
	OneTimePassword string
}

func (d usersData) ErrorText() string { return d.Message }

func (s *Server) renderUsers(c *gin.Context, status int, d usersData) {
	var err error
	if d.Users, err = s.DB.Users(c.Request.Context()); err != nil {
		s.portalFail(c, err)
		return
	}
	s.render(c, status, "users", "Users and roles", d)
}

func (s *Server) usersPage(c *gin.Context) { s.renderUsers(c, http.StatusOK, usersData{}) }

// userCreate adds a user and shows the one-time password on the answer to
// this post only: it is not in a URL, not stored (only its hash), and the
// page is not cached.
func (s *Server) userCreate(c *gin.Context) {
	d := usersData{Email: strings.TrimSpace(c.PostForm("email")), Role: c.PostForm("role")}
	u, password, err := s.DB.CreateUser(c.Request.Context(), currentUser(c).Email, d.Email, cases.Role(d.Role))
	if err != nil {
		code := cases.ErrorCode(err)
		if code != cases.EINVALID && code != cases.ECONFLICT {
			s.portalFail(c, err)
			return
		}
		d.Fields, d.Message = cases.ErrorFields(err), "The user was not added."
		s.renderUsers(c, statusOf(code), d)
		return
	}
	d = usersData{Created: u, OneTimePassword: password}
	s.renderUsers(c, http.StatusOK, d)
}

// userOf answers the user the route's :id names, or answers the request
// itself (404 for an id that names no user) and returns nil.
func (s *Server) userOf(c *gin.Context) *cases.User {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		s.portalError(c, http.StatusNotFound, "No such user.")
		return nil
	}
	users, err := s.DB.Users(c.Request.Context())
	if err != nil {
		s.portalFail(c, err)
		return nil
	}
	for _, u := range users {
		if u.ID == id {
			return u
		}
	}
	s.portalError(c, http.StatusNotFound, "No such user.")
	return nil
}

func (s *Server) userRevokeTokens(c *gin.Context) {
	u := s.userOf(c)
	if u == nil {
		return
	}
	if _, err := s.DB.RevokeTokens(c.Request.Context(), currentUser(c).Email, u.Email); err != nil {
		s.portalFail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/admin/users?done=tokens")
}

// userUpdate sets a user's role and whether the account is disabled
// (disabling ends their sessions and tokens at once).
func (s *Server) userUpdate(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		s.portalError(c, http.StatusNotFound, "No such user.")
		return
	}
	disabled := c.PostForm("state") == "disabled"
	if st := c.PostForm("state"); st != "disabled" && st != "active" {
		s.renderUsers(c, http.StatusBadRequest, usersData{Message: "The user was not changed: choose active or disabled."})
		return
	}
	if _, err := s.DB.UpdateUser(c.Request.Context(), currentUser(c).Email, id, cases.Role(c.PostForm("role")), disabled); err != nil {
		s.userChangeFailed(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/admin/users?done=user-saved")
}

// userResetPassword gives the user a new one-time password, shown on the
// answer to this post only, as when the user was added.
func (s *Server) userResetPassword(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		s.portalError(c, http.StatusNotFound, "No such user.")
		return
	}
	u, password, err := s.DB.ResetPassword(c.Request.Context(), currentUser(c).Email, id)
	if err != nil {
		s.userChangeFailed(c, err)
		return
	}
	s.renderUsers(c, http.StatusOK, usersData{Created: u, Reset: true, OneTimePassword: password})
}

// userResetSecondFactor removes every second factor of a user who lost
// them (TOTP, passkeys, recovery codes) and ends their sessions, as
// `envelope user reset-second-factor` does: their role may still require
// one, which they set up at their next sign-in. An admin's own are
// changed on their sign-in security page instead, where the portal asks
// for the factor first.
func (s *Server) userResetSecondFactor(c *gin.Context) {
	u := s.userOf(c)
	if u == nil {
		return
	}
	me := currentUser(c)
	if u.ID == me.ID {
		s.renderUsers(c, http.StatusConflict, usersData{Message: "Your own second factors are changed on your sign-in security page (/account/security), not here."})
		return
	}
	if err := s.DB.ResetSecondFactor(c.Request.Context(), me.Email, u.Email); err != nil {
		s.userChangeFailed(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/admin/users?done=second-factor-reset")
}

// userChangeFailed answers a refused change to a user on the users page,
// or as an error page for an unknown user or an internal error.
func (s *Server) userChangeFailed(c *gin.Context, err error) {
	code := cases.ErrorCode(err)
	if code != cases.EINVALID && code != cases.ECONFLICT {
		s.portalFail(c, err)
		return
	}
	s.renderUsers(c, statusOf(code), usersData{Message: "The user was not changed: " + cases.ErrorMessage(err)})
}

// ---- agencies

type agenciesData struct {
	Agencies []*store.AgencyEntry
	// The add or edit form.
	Edit    *store.AgencyEntry
	Form    agencyForm
	Fields  map[string]string
	Message string
	// Suspension is the edited agency's standing suspension on the agency
	// portal, if any (agency_portal.go).
	Suspension *store.AgencySuspension
}

type agencyForm struct{ Name, Country, Domains, Phone, Aliases string }

func (d agenciesData) ErrorText() string { return d.Message }

// agencyFromForm reads the agency form; domains may be separated by commas,
// spaces or lines, aliases (which may hold spaces) by commas or lines.
func agencyFromForm(c *gin.Context) (store.AgencyEntry, agencyForm) {
	f := agencyForm{Name: c.PostForm("name"), Country: c.PostForm("country"), Domains: c.PostForm("verified_domains"),
		Phone: c.PostForm("phone"), Aliases: c.PostForm("aliases")}
	domains := strings.FieldsFunc(f.Domains, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
	aliases := strings.FieldsFunc(f.Aliases, func(r rune) bool { return r == ',' || r == ';' || r == '\n' || r == '\r' })
	return store.AgencyEntry{Agency: cases.Agency{Name: f.Name, Country: f.Country, VerifiedDomains: domains}, Phone: f.Phone, Aliases: aliases}, f
}

func (s *Server) agenciesPage(c *gin.Context) {
	s.renderAgencies(c, http.StatusOK, agenciesData{})
}

func (s *Server) renderAgencies(c *gin.Context, status int, d agenciesData) {
	var err error
	if d.Agencies, err = s.DB.Agencies(c.Request.Context()); err != nil {
		s.portalFail(c, err)
		return
	}
	s.render(c, status, "agencies", "Agency directory", d)
}

// agencyFormError re-renders the form with the store's field errors.
func (s *Server) agencyFormError(c *gin.Context, err error, d agenciesData, edit bool) {
	code := cases.ErrorCode(err)
	if code != cases.EINVALID && code != cases.ECONFLICT {
		s.portalFail(c, err)
		return
	}
	d.Fields, d.Message = cases.ErrorFields(err), "The agency was not saved."
	if edit {
		s.render(c, statusOf(code), "agencies", "Edit agency", d)
		return
	}
	s.renderAgencies(c, statusOf(code), d)
}

func (s *Server) agencyCreate(c *gin.Context) {
	a, form := agencyFromForm(c)
	if _, err := s.DB.CreateAgency(c.Request.Context(), currentUser(c).Email, a); err != nil {
		s.agencyFormError(c, err, agenciesData{Form: form}, false)
		return
	}
	c.Redirect(http.StatusSeeOther, "/admin/agencies?done=agency-added")
}

func (s *Server) agencyByParam(c *gin.Context) (*store.AgencyEntry, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		s.portalError(c, http.StatusNotFound, "No such agency.")
		return nil, false
	}
	e, err := s.DB.AgencyByID(c.Request.Context(), id)
	if err != nil {
		s.portalFail(c, err)
		return nil, false
	}
	return e, true
}

func (s *Server) agencyPage(c *gin.Context) {
	e, ok := s.agencyByParam(c)
	if !ok {
		return
	}
	s.renderAgencyEdit(c, http.StatusOK, e, nil)
}

// renderAgencyEdit shows agency e's edit page with its portal suspension,
// and the refusal formErr of one of its forms, if any.
func (s *Server) renderAgencyEdit(c *gin.Context, status int, e *store.AgencyEntry, formErr error) {
	d := agenciesData{Edit: e, Form: agencyForm{Name: e.Name, Country: e.Country, Domains: strings.Join(e.VerifiedDomains, ", "),
		Phone: e.Phone, Aliases: strings.Join(e.Aliases, ", ")}}
	if formErr != nil {
		d.Fields, d.Message = cases.ErrorFields(formErr), cases.ErrorMessage(formErr)
	}
	var err error
	if d.Suspension, err = s.DB.AgencySuspended(c.Request.Context(), e.ID); err != nil {
		s.portalFail(c, err)
		return
	}
	s.render(c, status, "agencies", "Edit agency", d)
}

func (s *Server) agencyUpdate(c *gin.Context) {
	e, ok := s.agencyByParam(c)
	if !ok {
		return
	}
	a, form := agencyFromForm(c)
	if _, err := s.DB.UpdateAgency(c.Request.Context(), currentUser(c).Email, e.ID, a); err != nil {
		s.agencyFormError(c, err, agenciesData{Edit: e, Form: form}, true)
		return
	}
	c.Redirect(http.StatusSeeOther, "/admin/agencies?done=agency-saved")
}

// ---- policy

// policyData is the policy page: the policy in force, and after an upload
// either the loader's problems or the replay of the uploaded policy with
// the form that activates it.
type policyData struct {
	Version string
	Source  string
	// After an upload:
	Filename string
	Problems []string // the file did not load; nothing changed
	Replay   *policy.ReplayReport
	New      *policy.Policy
	// NewSource is the uploaded file, carried by the "Activate" form so
	// that exactly the reviewed file is activated (base64: a form
	// submission would rewrite its line ends).
	NewSource string
	Same      bool // the upload is the policy in force
	Message   string
}

func (d policyData) ErrorText() string { return d.Message }

func (s *Server) renderPolicy(c *gin.Context, status int, d policyData) {
	p := s.Policy()
	d.Version, d.Source = p.Version(), string(p.Source())
	title := "Policy"
	if d.Replay != nil {
		title = "Policy: replay of the upload"
	}
	s.render(c, status, "policy", title, d)
}

func (s *Server) policyPage(c *gin.Context) { s.renderPolicy(c, http.StatusOK, policyData{}) }

// problemsOf lists a loader error's problems, one a line.
func problemsOf(err error) []string {
	var le *policy.LoadError
	if errors.As(err, &le) && len(le.Problems) > 0 {
		out := make([]string, len(le.Problems))
		for i, p := range le.Problems {
			out[i] = p.String()
		}
		return out
	}
	return []string{err.Error()}
}

// policyReplay loads an uploaded policy file and shows what it would change
// across every stored case, without changing anything. A file that does not
// load is answered with the loader's problems; the running policy stays.
func (s *Server) policyReplay(c *gin.Context) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, MaxBodySize+64<<10)
	d := policyData{}
	name, content, err := formFile(c, "policy")
	switch {
	case err != nil:
		d.Message = "The file could not be read: upload a YAML file of at most 1 MiB."
	case content == nil:
		d.Message = "Choose a policy file (YAML) to upload."
	case len(content) > MaxBodySize:
		d.Message = "The file is larger than 1 MiB."
	}
	if d.Message != "" {
		s.renderPolicy(c, http.StatusBadRequest, d)
		return
	}
	d.Filename = name
	p, err := policy.Load(content)
	if err != nil {
		d.Problems = problemsOf(err)
		d.Message = "The uploaded policy does not load, so it cannot be activated. The policy in force is unchanged."
		s.renderPolicy(c, http.StatusBadRequest, d)
		return
	}
	r, err := s.replayPolicyOn(c.Request.Context(), p, nil, nil)
	if err != nil {
		s.portalFail(c, err)
		return
	}
	d.Replay, d.New, d.NewSource = r, p, base64.StdEncoding.EncodeToString(content)
	d.Same = p.Version() == s.Policy().Version()
	s.renderPolicy(c, http.StatusOK, d)
}

// policyActivate puts in force the policy the admin replayed: the file the
// replay page carried, checked to be the same version, and only if the
// policy in force is still the one it was compared with.
func (s *Server) policyActivate(c *gin.Context) {
	src, err := base64.StdEncoding.DecodeString(c.PostForm("source"))
	if err != nil || len(src) == 0 || len(src) > MaxBodySize {
		s.renderPolicy(c, http.StatusBadRequest, policyData{Message: "The policy to activate was missing or damaged: upload it again."})
		return
	}
	p, err := policy.Load(src)
	if err != nil || p.Version() != c.PostForm("version") {
		s.renderPolicy(c, http.StatusBadRequest, policyData{Message: "The policy to activate is not the one that was replayed: upload it again."})
		return
	}
	if cur := s.Policy().Version(); cur != c.PostForm("previous") {
		s.renderPolicy(c, http.StatusConflict, policyData{Message: "The policy in force changed since this replay (now " + cur + "): upload the file again to see its effect against the current policy."})
		return
	}
	if _, err := s.putPolicyInForce(c.Request.Context(), currentUser(c).Email, p); err != nil {
		s.portalFail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/admin/policy?done=policy")
}
