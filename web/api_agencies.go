package web

import (
	"errors"
	"maps"
	"net/http"

	"github.com/gin-gonic/gin"

	"envelope/cases"
	"envelope/cases/store"
)

// agencyRoutes registers the agency directory and the requester
// verifications recorded on cases (docs/security.md).
func (s *Server) agencyRoutes(api *gin.RouterGroup) {
	api.GET("/agencies", s.bearer(anyReader), s.listAgencies)
	api.POST("/agencies", s.bearer(admins), s.createAgency)
	api.POST("/cases/:id/verifications", s.bearer(caseLogger), s.recordVerification)
	api.GET("/cases/:id/verifications", s.bearer(anyReader), s.listVerifications)
}

func (s *Server) listAgencies(c *gin.Context) {
	list, err := s.DB.Agencies(c.Request.Context())
	if err != nil {
		s.apiError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"agencies": list})
}

// agencyBody is a directory entry as posted: "domains" is accepted as
// another name for "verified_domains", the flag the CLI has.
type agencyBody struct {
	Name            string   `json:"name"`
	Country         string   `json:"country"`
	VerifiedDomains []string `json:"verified_domains"`
	Domains         []string `json:"domains"`
	Phone           string   `json:"phone"`
	Aliases         []string `json:"aliases"`
}

func (s *Server) createAgency(c *gin.Context) {
	var b agencyBody
	if err := bindJSON(c, &b); err != nil {
		s.apiError(c, err)
		return
	}
	e, err := s.DB.CreateAgency(c.Request.Context(), currentUser(c).Email, store.AgencyEntry{
		Agency: cases.Agency{Name: b.Name, Country: b.Country, VerifiedDomains: append(b.VerifiedDomains, b.Domains...)},
		Phone:  b.Phone, Aliases: b.Aliases,
	})
	if err != nil {
		s.apiError(c, renameField(err, "verified_domains", "domains", len(b.VerifiedDomains) == 0))
		return
	}
	c.JSON(http.StatusCreated, e)
}

func (s *Server) recordVerification(c *gin.Context) {
	var body struct {
		Method  string `json:"method"`
		Phone   string `json:"phone"`
		Outcome string `json:"outcome"`
		Note    string `json:"note"`
	}
	if err := bindJSON(c, &body); err != nil {
		s.apiError(c, err)
		return
	}
	v := cases.Verification{Method: body.Method, Phone: body.Phone, Outcome: body.Outcome, Note: body.Note}
	out, err := s.DB.RecordVerification(c.Request.Context(), currentUser(c), c.Param("id"), v)
	if err != nil {
		s.apiError(c, err)
		return
	}
	c.JSON(http.StatusCreated, out)
}

func (s *Server) listVerifications(c *gin.Context) {
	kase, err := s.DB.Case(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.apiError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"verifications": nonNilList(kase.Verifications), "agency_match": kase.AgencyMatch,
		"needs": cases.NeedsCallback(kase)})
}

// renameField names a bad field as the body spelled it (when is true):
// an error about verified_domains is about "domains" to a client that
// sent that.
func renameField(err error, from, to string, when bool) error {
	var e *cases.Error
	if !when || !errors.As(err, &e) {
		return err
	}
	if msg, ok := e.Fields[from]; ok {
		fields := maps.Clone(e.Fields)
		delete(fields, from)
		fields[to] = msg
		return &cases.Error{Code: e.Code, Message: e.Message, Fields: fields}
	}
	return err
}

func nonNilList[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
