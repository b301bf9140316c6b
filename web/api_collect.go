package web

import (
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"envelope/cases"
	"envelope/cases/metadata"
)

// maxReportedErrors bounds the malformed lines an answer lists; the count
// in "rejected" is always complete.
const maxReportedErrors = 20

// collectRoutes serves prospective collection. Creating the metadata store
// registers its approval and close hooks on the database, so from here on
// approving a prospective order opens its collection windows and closing a
// case ends them, in the same transaction.
func (s *Server) collectRoutes(api *gin.RouterGroup) {
	md := metadata.New(s.DB)
	api.POST("/collect/events", s.bearer(collectors), s.collectEvents(md))
	api.GET("/cases/:id/collection", s.bearer(anyReader), s.caseCollection(md))
	api.GET("/cases/:id/preservation", s.bearer(anyReader), s.casePreservation(md))
	api.POST("/cases/:id/preservation/extend", s.bearer(caseLogger), s.extendPreservation(md))
}

// collectAnswer is the answer to a stream of events.
type collectAnswer struct {
	metadata.CollectResult
	Errors []lineError `json:"errors,omitempty"`
}

type lineError struct {
	Line  int64  `json:"line"`
	Error string `json:"error"`
}

// collectEvents reads the messaging service's NDJSON stream as it arrives
// (never buffering the body: memory stays flat however long it is) and
// answers what was received and kept. Malformed lines are counted and the
// first few listed, never fatal.
func (s *Server) collectEvents(md *metadata.Store) gin.HandlerFunc {
	return func(c *gin.Context) {
		var ans collectAnswer
		body := &bodyReader{r: c.Request.Body}
		res, err := md.Collect(c.Request.Context(), body, metadata.CollectOptions{OnError: func(e *metadata.LineError) {
			if len(ans.Errors) < maxReportedErrors {
				ans.Errors = append(ans.Errors, lineError{e.Line, e.Err.Error()})
			}
		}})
		s.metrics.countCollected(res) // what was read, stored or not
		if body.err != nil {
			// The client went away or sent a broken body: what was
			// stored stays stored (a re-send is harmless).
			s.apiError(c, cases.Invalid(map[string]string{"body": "could not be read to the end: " + body.err.Error()}))
			return
		}
		if err != nil {
			s.apiError(c, err)
			return
		}
		ans.CollectResult = res
		c.JSON(http.StatusOK, ans)
	}
}

// bodyReader remembers a read error, to tell a broken request from a
// failure of ours.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// caseCollection answers a case's collection windows and how many pairs
// they have collected.
func (s *Server) caseCollection(md *metadata.Store) gin.HandlerFunc {
	return func(c *gin.Context) {
		cs, err := s.DB.Case(c.Request.Context(), c.Param("id"))
		if err != nil {
			s.apiError(c, err)
			return
		}
		ws, err := md.Windows(c.Request.Context(), cs.ID)
		if err != nil {
			s.apiError(c, err)
			return
		}
		n, err := md.PairCount(c.Request.Context(), cs.ID)
		if err != nil {
			s.apiError(c, err)
			return
		}
		if ws == nil {
			ws = []metadata.Window{}
		}
		c.JSON(http.StatusOK, gin.H{"windows": ws, "pairs": n})
	}
}

// casePreservation answers a case's preservation hold.
func (s *Server) casePreservation(md *metadata.Store) gin.HandlerFunc {
	return func(c *gin.Context) {
		cs, err := s.DB.Case(c.Request.Context(), c.Param("id"))
		if err != nil {
			s.apiError(c, err)
			return
		}
		p, err := md.Preservation(c.Request.Context(), cs.ID)
		if err != nil {
			s.apiError(c, err)
			return
		}
		c.JSON(http.StatusOK, p)
	}
}

// extendPreservation grants a hold its one 90-day extension.
func (s *Server) extendPreservation(md *metadata.Store) gin.HandlerFunc {
	return func(c *gin.Context) {
		cs, err := s.DB.Case(c.Request.Context(), c.Param("id"))
		if err != nil {
			s.apiError(c, err)
			return
		}
		p, err := md.Extend(c.Request.Context(), currentUser(c), cs.ID)
		if err != nil {
			s.apiError(c, err)
			return
		}
		c.JSON(http.StatusOK, p)
	}
}
