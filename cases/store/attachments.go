package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
)

// The documents of a case besides its current legal-process document
// (issue 16): amendments, extensions, correspondence, and each process
// document an upload superseded. Nothing is deleted or overwritten.

// AttachmentKinds are the kinds of document a case can hold.
var AttachmentKinds = []string{"process", "amendment", "extension", "correspondence"}

// Attachment is one stored document of a case.
type Attachment struct {
	ID           int64      `json:"id" db:"id"`
	CaseID       int64      `json:"case_id" db:"case_id"`
	Kind         string     `json:"kind" db:"kind"`
	Filename     string     `json:"filename" db:"filename"`
	Size         int64      `json:"size" db:"size"`
	SHA256       string     `json:"sha256" db:"sha256"`
	UploadedBy   string     `json:"uploaded_by" db:"uploaded_by"`
	UploadedAt   time.Time  `json:"uploaded_at" db:"uploaded_at"`
	SupersededAt *time.Time `json:"superseded_at,omitempty" db:"superseded_at"`
	SupersededBy string     `json:"superseded_by,omitempty" db:"superseded_by"`
}

const attachmentColumns = "id, case_id, kind, filename, size, sha256, uploaded_by, uploaded_at, superseded_at, superseded_by"

func (a *Attachment) utc() {
	a.UploadedAt = a.UploadedAt.UTC()
	if a.SupersededAt != nil {
		t := a.SupersededAt.UTC()
		a.SupersededAt = &t
	}
}

// checkPDF bounds an upload and checks that it is a PDF.
func checkPDF(content []byte) error {
	if len(content) > cases.MaxDocumentSize {
		return &cases.Error{Code: cases.ETOOLARGE, Message: "document too large",
			Fields: map[string]string{"document": fmt.Sprintf("is larger than %d MiB", cases.MaxDocumentSize>>20)}}
	}
	if !strings.HasPrefix(string(content[:min(len(content), 1024)]), "%PDF-") {
		return cases.Invalid(map[string]string{"document": "must be a PDF file"})
	}
	return nil
}

// AddAttachment stores another document of a case (PDF), of one of
// AttachmentKinds.
func (db *DB) AddAttachment(ctx context.Context, actor *cases.User, ref, kind, filename string, content []byte) (*Attachment, error) {
	if !actor.CanLog() {
		return nil, cases.Errorf(cases.EFORBIDDEN, "your role cannot upload documents")
	}
	if !slices.Contains(AttachmentKinds, kind) {
		return nil, cases.Invalid(map[string]string{"kind": "choose " + strings.Join(AttachmentKinds, ", ")})
	}
	if err := checkPDF(content); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(content)
	a := &Attachment{Kind: kind, Filename: cleanFilename(filename), Size: int64(len(content)), SHA256: hex.EncodeToString(sum[:]),
		UploadedBy: actor.Email, UploadedAt: db.Now()}
	caseID, err := db.resolveCase(ctx, ref)
	if err != nil {
		return nil, err
	}
	blob, content, err := db.putRowFile(ctx, "attachment", caseID, a.SHA256, content)
	if err != nil {
		return nil, err
	}
	_, err = db.changeCase(ctx, ref, func(tx *sqlx.Tx, c *cases.Case) error {
		a.CaseID = c.ID
		if err := tx.GetContext(ctx, &a.ID, tx.Rebind(`INSERT INTO case_attachments
			(case_id, kind, filename, size, sha256, content, blob, uploaded_by, uploaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			a.CaseID, a.Kind, a.Filename, a.Size, a.SHA256, content, blob, a.UploadedBy, a.UploadedAt); err != nil {
			return err
		}
		return db.auditCase(ctx, tx, actor.Email, "case.attachment", c, nil, a)
	})
	if err != nil {
		db.dropFiles(ctx, blob)
		return nil, err
	}
	return a, nil
}

// supersede keeps the case's current process document, about to be
// replaced by a new upload, as a superseded attachment.
func (db *DB) supersede(ctx context.Context, tx *sqlx.Tx, actor string, caseID int64) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO case_attachments
		(case_id, kind, filename, size, sha256, content, blob, uploaded_by, uploaded_at, superseded_at, superseded_by)
		SELECT case_id, 'process', filename, size, sha256, content, blob, uploaded_by, uploaded_at, ?, ? FROM case_documents WHERE case_id = ?`),
		db.Now(), actor, caseID)
	return err
}

// Attachments lists a case's other documents, oldest first.
func (db *DB) Attachments(ctx context.Context, caseID int64) ([]Attachment, error) {
	var out []Attachment
	if err := db.r.SelectContext(ctx, &out, db.r.Rebind("SELECT "+attachmentColumns+" FROM case_attachments WHERE case_id = ? ORDER BY id"), caseID); err != nil {
		return nil, err
	}
	for i := range out {
		out[i].utc()
	}
	return out, nil
}

// AttachmentContent returns one document of the case ref and its content.
func (db *DB) AttachmentContent(ctx context.Context, ref string, id int64) (*Attachment, []byte, error) {
	return readAll(db.OpenAttachment(ctx, ref, id))
}

// OpenAttachment returns one document of the case ref and a reader of its
// content, streamed from the blob store if it is kept there.
func (db *DB) OpenAttachment(ctx context.Context, ref string, id int64) (*Attachment, io.ReadCloser, error) {
	caseID, err := db.resolveCase(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	var row struct {
		Attachment
		fileRow
	}
	err = db.r.GetContext(ctx, &row, db.r.Rebind("SELECT "+attachmentColumns+", content, blob FROM case_attachments WHERE id = ? AND case_id = ?"), id, caseID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, cases.Errorf(cases.ENOTFOUND, "case %s has no document %d", ref, id)
	} else if err != nil {
		return nil, nil, err
	}
	row.Attachment.utc()
	r, err := row.open(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	return &row.Attachment, r, nil
}
