package web

import (
	"net/http"
	netmail "net/mail"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/jmoiron/sqlx"

	"envelope/cases"
	"envelope/cases/mail"
	"envelope/exporter/letters"
)

// recordNotice records the user notice and, when an address is given,
// queues the notice e-mail in the same transaction: the user-notice letter
// (exporter/letters) as a PDF and a copy of the case's process document.
// Everything the mail needs is built before the transaction, so a case
// without a document or an organisation without a profile is refused
// before anything is written.
func (s *Server) recordNotice(c *gin.Context, kind, method, note, to string) (*cases.NoticeRecord, error) {
	ctx := c.Request.Context()
	to = strings.TrimSpace(to)
	if to == "" {
		return s.DB.RecordNotice(ctx, currentUser(c), c.Param("id"), kind, method, note)
	}
	switch {
	case kind != cases.NoticeKindSent:
		return nil, cases.Invalid(map[string]string{"email_to": "only a notice sent is e-mailed; leave it empty for an exception"})
	case s.Mail == nil:
		return nil, cases.Errorf(cases.ECONFLICT, "this server sends no mail: send the notice yourself and record how")
	case strings.ContainsAny(to, ",;\r\n"):
		return nil, cases.Invalid(map[string]string{"email_to": "must be one e-mail address"})
	}
	if _, err := netmail.ParseAddress(to); err != nil {
		return nil, cases.Invalid(map[string]string{"email_to": "is not an e-mail address"})
	}
	if strings.TrimSpace(method) == "" {
		method = "e-mail to " + to + " (sent by envelope)"
	}
	kase, err := s.DB.Case(ctx, c.Param("id"))
	if err != nil {
		return nil, err
	}
	org, _, err := s.DB.Org(ctx)
	if err != nil {
		return nil, err
	}
	if !org.Complete() {
		return nil, cases.Errorf(cases.ECONFLICT, "the organisation profile is not set (legal name, custodian of records and title): the notice letter needs it")
	}
	doc, content, err := s.DB.Document(ctx, c.Param("id"))
	if err != nil {
		return nil, cases.Errorf(cases.ECONFLICT, "case %s has no process document to send with the notice: upload it first", kase.Number)
	}
	at := s.DB.Now()
	letter, err := letters.Default().Letter(letters.UserNotice, letters.FromCase(kase, org, at), kase.Agency.Country, at)
	if err != nil {
		return nil, err
	}
	atts := []mail.Attachment{
		{Filename: "notice-" + kase.Number + ".pdf", ContentType: "application/pdf", Content: letter},
		{Filename: doc.Filename, ContentType: http.DetectContentType(content), Content: content, CaseDocument: doc.SHA256},
	}
	return s.DB.RecordNoticeThen(ctx, currentUser(c), c.Param("id"), kind, method, note, func(tx *sqlx.Tx, k *cases.Case) error {
		_, err := s.Mail.Queue(ctx, tx, to, mail.TmplUserNotice, "user_notice", &k.ID, mail.Data{CaseNumber: k.Number, Org: org.LegalName}, atts...)
		return err
	})
}
