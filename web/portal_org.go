package web

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"envelope/cases"
)

// The organisation profile page: who the platform is on its letters
// (legal entity, address, letterhead logo, custodian of records and
// signature, contact, paper sizes). Auditors read it; admins change it;
// the store audits every save (org.update).

// orgRoutes registers the profile page on the portal group.
func (s *Server) orgRoutes(p *gin.RouterGroup) {
	p.GET("/admin/organisation", s.signedIn(auditors), s.orgPage)
	p.POST("/admin/organisation", s.signedIn(admins), s.orgSave)
	p.GET("/admin/organisation/:image", s.signedIn(auditors), s.orgImage)
}

type orgData struct {
	Org       *cases.Org
	Saved     bool // a profile was ever saved
	Countries string
	Fields    map[string]string
	Message   string
}

func (d orgData) ErrorText() string { return d.Message }

func (s *Server) orgPage(c *gin.Context) {
	o, saved, err := s.DB.Org(c.Request.Context())
	if err != nil {
		s.portalFail(c, err)
		return
	}
	s.render(c, http.StatusOK, "organisation", "Organisation profile", orgData{Org: o, Saved: saved, Countries: countriesText(o)})
}

func countriesText(o *cases.Org) string {
	if len(o.LetterCountries) == 0 {
		return strings.Join(cases.DefaultLetterCountries, ", ")
	}
	return strings.Join(o.LetterCountries, ", ")
}

// orgSave saves the form. An image left unchosen keeps the saved one
// unless its "remove" box is ticked.
func (s *Server) orgSave(c *gin.Context) {
	limitUpload(c)
	ctx := c.Request.Context()
	prev, _, err := s.DB.Org(ctx)
	if err != nil {
		s.portalFail(c, err)
		return
	}
	o := &cases.Org{
		LegalName: c.PostForm("legal_name"), Address: c.PostForm("address"),
		ContactEmail: c.PostForm("contact_email"), ContactPhone: c.PostForm("contact_phone"),
		CustodianName: c.PostForm("custodian_name"), CustodianTitle: c.PostForm("custodian_title"),
		TypedSignature: c.PostForm("typed_signature"), Logo: prev.Logo, SignatureImage: prev.SignatureImage,
	}
	for _, cc := range strings.Split(c.PostForm("letter_countries"), ",") {
		o.LetterCountries = append(o.LetterCountries, cc)
	}
	for name, dst := range map[string]*[]byte{"logo": &o.Logo, "signature_image": &o.SignatureImage} {
		if c.PostForm("remove_"+name) != "" {
			*dst = nil
		}
		_, b, ferr := formFile(c, name)
		if ferr != nil {
			err = ferr
		} else if b != nil {
			*dst = b
		}
	}
	if err == nil {
		err = s.DB.SetOrg(ctx, currentUser(c).Email, o)
	}
	if err != nil {
		code := cases.ErrorCode(err)
		if code != cases.EINVALID && code != cases.ETOOLARGE {
			s.portalFail(c, err)
			return
		}
		s.render(c, statusOf(code), "organisation", "Organisation profile", orgData{Org: o, Saved: true,
			Countries: c.PostForm("letter_countries"), Fields: cases.ErrorFields(err), Message: "The profile was not saved."})
		return
	}
	c.Redirect(http.StatusSeeOther, "/admin/organisation?done=org-saved")
}

// orgImage serves the saved logo or signature for the page's preview.
func (s *Server) orgImage(c *gin.Context) {
	o, _, err := s.DB.Org(c.Request.Context())
	if err != nil {
		s.portalFail(c, err)
		return
	}
	b := map[string][]byte{"logo": o.Logo, "signature": o.SignatureImage}[c.Param("image")]
	if len(b) == 0 {
		c.Status(http.StatusNotFound)
		return
	}
	c.Data(http.StatusOK, map[string]string{"PNG": "image/png", "JPG": "image/jpeg"}[cases.ImageType(b)], b)
}

// orgFieldData is one text field of the profile form.
type orgFieldData struct {
	Name, Label, Value, Error, Hint string
	Required, Multi                 bool
}

func orgField(name, label, value string, errs map[string]string, required, multi bool, hint string) orgFieldData {
	return orgFieldData{Name: name, Label: label, Value: value, Error: errs[name], Hint: hint, Required: required, Multi: multi}
}
