package web

import (
	"bytes"
	"net/http"
	"strings"
	"time"

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
	shape := report.IsShape(format)
	switch {
	case format == "json", format == "csv", format == "pdf":
	case shape:
		if msg := report.CheckShapeTable(format, table); msg != "" {
			bad["table"] = msg
		}
	default:
		bad["format"] = "must be json, csv, pdf, google, meta, dsa or outcomes"
	}
	band, err := report.ParseBandSize(c.Query("band_size"))
	if err != nil {
		bad["band_size"] = cases.ErrorFields(err)["band_size"]
	}
	switch {
	case shape:
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
	var buf bytes.Buffer
	name := "transparency-report-" + p.String()
	if table != "" {
		name += "-" + table
	}
	if shape {
		s.writeShape(c, p, at, band, format, table, name)
		return
	}
	r, err := report.Generate(c.Request.Context(), s.DB, p, at)
	if err != nil {
		s.apiError(c, err)
		return
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

// writeShape answers a public shape of the report as a CSV download.
func (s *Server) writeShape(c *gin.Context, p report.Period, at time.Time, band int64, format, table, name string) {
	ctx := c.Request.Context()
	org, _, err := s.DB.Org(ctx)
	if err != nil {
		s.apiError(c, err)
		return
	}
	sh, err := report.GenerateShapes(ctx, s.DB, p, at, report.ShapeOptions{BandSize: band, Service: org.LegalName})
	var buf bytes.Buffer
	if err == nil {
		err = sh.Write(&buf, format, table)
	}
	if err != nil {
		s.apiError(c, err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="`+name+"-"+format+`.csv"`)
	c.Data(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}
