package web

import (
	"bytes"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"envelope/cases"
	"envelope/exporter/report"
)

// reportRoutes serves the transparency report. Every signed-in role but the
// collector may read it: the figures are meant for publication, and the
// cases behind a row are readable by the same roles anyway.
func (s *Server) reportRoutes(api *gin.RouterGroup) {
	api.GET("/reports/:period", s.bearer(anyReader), s.getReport)
	api.GET("/reports/:period/countries/:country/cases", s.bearer(anyReader), s.explainReport)
}

// getReport answers the report of a period as JSON, or with ?format=csv or
// pdf as a download; ?table=national_security narrows CSV and JSON to that
// table; ?at= sets the generation time (default now) for the 180-day rule.
func (s *Server) getReport(c *gin.Context) {
	p, err := report.ParsePeriod(c.Param("period"))
	if err != nil {
		s.apiError(c, err)
		return
	}
	format := strings.ToLower(c.DefaultQuery("format", "json"))
	table := c.Query("table")
	bad := map[string]string{}
	switch format {
	case "json", "csv", "pdf":
	default:
		bad["format"] = "must be json, csv or pdf"
	}
	switch {
	case table != "" && table != "national_security":
		bad["table"] = "the only table is national_security"
	case table != "" && format == "pdf":
		bad["table"] = "goes with format csv or json: the PDF always holds every table"
	}
	at := s.Now()
	if v := c.Query("at"); v != "" {
		if at, err = cases.ParseTime(v); err != nil {
			bad["at"] = err.Error()
		}
	}
	if len(bad) > 0 {
		s.apiError(c, cases.Invalid(bad))
		return
	}
	r, err := report.Generate(c.Request.Context(), s.DB, p, at)
	if err != nil {
		s.apiError(c, err)
		return
	}
	var buf bytes.Buffer
	name := "transparency-report-" + p.String()
	if table != "" {
		name += "-" + table
	}
	switch {
	case format == "pdf":
		err = r.WritePDF(&buf)
	case format == "csv" && table != "":
		err = r.WriteNationalSecurityCSV(&buf)
	case format == "csv":
		err = r.WriteCSV(&buf)
	case table != "":
		err = r.WriteNationalSecurityJSON(&buf)
	default:
		err = r.WriteJSON(&buf)
	}
	if err != nil {
		s.apiError(c, err)
		return
	}
	contentType := map[string]string{"json": "application/json; charset=utf-8", "csv": "text/csv; charset=utf-8", "pdf": "application/pdf"}[format]
	if format != "json" {
		c.Header("Content-Disposition", `attachment; filename="`+name+"."+format+`"`)
	}
	c.Data(http.StatusOK, contentType, buf.Bytes())
}

// explainReport lists the cases behind one country's row of a period, with
// the row they add up to: every published figure can be traced to cases.
func (s *Server) explainReport(c *gin.Context) {
	p, err := report.ParsePeriod(c.Param("period"))
	if err != nil {
		s.apiError(c, err)
		return
	}
	country := strings.ToUpper(c.Param("country"))
	list, err := report.Explain(c.Request.Context(), s.DB, p, country)
	if err != nil {
		s.apiError(c, err)
		return
	}
	if list == nil {
		list = []report.ExplainedCase{}
	}
	c.JSON(http.StatusOK, gin.H{"period": p, "country": country, "row": report.ExplainRow(country, list), "cases": list})
}
