package agency

import (
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"envelope/cases"
	"envelope/cases/store"
)

// The officer's side of a case's thread with the legal team: read it, post
// to it (with PDFs), answer a clarification request, download its files.

// ReadUploads reads the files of a multipart form's field (none is no
// error). The staff portal reads its thread form with it too.
func ReadUploads(r *http.Request, field string) ([]cases.Upload, error) {
	if r.MultipartForm == nil {
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			if err == http.ErrNotMultipart {
				return nil, nil
			}
			return nil, &cases.Error{Code: cases.ETOOLARGE, Message: "the form could not be read",
				Fields: map[string]string{field: "could not be read (over 20 MiB?)"}}
		}
	}
	var out []cases.Upload
	for _, fh := range r.MultipartForm.File[field] {
		if fh.Size == 0 && fh.Filename == "" {
			continue // the field left empty
		}
		b, err := readPart(fh)
		if err != nil {
			return nil, cases.Invalid(map[string]string{field: "could not be read"})
		}
		out = append(out, cases.Upload{Filename: fh.Filename, Content: b})
	}
	return out, nil
}

func readPart(fh *multipart.FileHeader) ([]byte, error) {
	f, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, cases.MaxDocumentSize+1))
}

// postMessage posts the officer's message to the case's thread; with kind
// clarification_answer it answers the legal team's question.
func (p *portal) postMessage(c *gin.Context) {
	kase := p.ownCase(c)
	if kase == nil {
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, cases.MaxMessageFiles*cases.MaxDocumentSize+1<<20)
	files, err := ReadUploads(c.Request, "attachment")
	if err == nil {
		p.post(c, kase, c.PostForm("kind"), c.PostForm("body"), files)
		return
	}
	p.failErr(c, err)
}

// post posts one message and returns to the case page, or shows the
// refusal on it.
func (p *portal) post(c *gin.Context, kase *cases.Case, kind, body string, files []cases.Upload) {
	var hook store.MessageHook
	if p.Thread != nil {
		hook = p.Thread(c.Request.Context())
	}
	m, err := p.DB.PostMessage(c.Request.Context(), store.Poster{Officer: officer(c)}, strconv.FormatInt(kase.ID, 10), kind, body, files, hook)
	if err != nil {
		if code := cases.ErrorCode(err); code == cases.EINVALID || code == cases.ETOOLARGE || code == cases.ECONFLICT {
			p.renderCase(c, statusOf(code), kase, view{Error: cases.ErrorMessage(err), Fields: cases.ErrorFields(err)})
			return
		}
		p.failErr(c, err)
		return
	}
	done := "sent"
	if m.Kind == cases.MessageClarificationAnswer {
		done = "answered"
	}
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/agency/cases/%d?done=%s#thread", kase.ID, done))
}

// messageFile serves a PDF of the case's thread.
func (p *portal) messageFile(c *gin.Context) {
	kase := p.ownCase(c)
	if kase == nil {
		return
	}
	id, _ := strconv.ParseInt(c.Param("file"), 10, 64)
	f, r, err := p.DB.OpenMessageFile(c.Request.Context(), kase.ID, id)
	if err != nil {
		p.failErr(c, err)
		return
	}
	defer r.Close()
	c.DataFromReader(http.StatusOK, f.Size, "application/pdf", r, map[string]string{
		"Content-Disposition": fmt.Sprintf("attachment; filename=%q", f.Filename),
		"X-Content-SHA256":    f.SHA256,
	})
}
