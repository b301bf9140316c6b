package exporter

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/exporter/letters"
)

// LetterFile is the PDF inside a letter's zip.
const LetterFile = "letter.pdf"

// Letter is a produced letter as the letters table records it: a signed
// zip (letter.pdf, manifest.json, SHA256SUMS and its signature, checked
// by `envelope verify` like a package) in the packages directory.
type Letter struct {
	ID              int64        `json:"id" db:"id"`
	CaseID          int64        `json:"case_id" db:"case_id"`
	Seq             int          `json:"sequence" db:"seq"`
	Kind            letters.Kind `json:"kind" db:"kind"`
	TemplateVersion string       `json:"template_version" db:"template_version"`
	FileName        string       `json:"file" db:"file_name"`
	SHA256          string       `json:"sha256" db:"sha256"`
	Size            int64        `json:"size" db:"size"`
	CreatedBy       string       `json:"created_by" db:"created_by"`
	CreatedAt       time.Time    `json:"created_at" db:"created_at"`
}

// LetterOptions are the parts of a letter only a person can supply.
type LetterOptions struct {
	// Questions are what a clarification request asks.
	Questions []string
}

// letterManifest is a letter zip's manifest.json: the package format's
// fields that Verify checks, and the letter's.
type letterManifest struct {
	Format string    `json:"format"`
	Case   string    `json:"case"`
	Letter letterDoc `json:"letter"`
	Files  []fileSum `json:"files"`
	// SigningKey is the fingerprint of the key that signed SHA256SUMS.
	SigningKey string `json:"signing_key_sha256"`
}

type letterDoc struct {
	Kind            letters.Kind `json:"kind"`
	TemplateVersion string       `json:"template_version"`
	Paper           string       `json:"paper"`
	CreatedAt       time.Time    `json:"created_at"`
	CreatedBy       string       `json:"created_by"`
}

// Letter produces letter kind for the case ref as actor: renders it on
// the organisation's letterhead, signs it like a package, stores it in
// the packages directory and records and audits it (case.letter) in one
// transaction. The organisation profile must be complete: a letter is
// never sent from a placeholder.
func (e *Exporter) Letter(ctx context.Context, actor, ref string, kind letters.Kind, opt LetterOptions) (*Letter, error) {
	if !kind.Valid() {
		return nil, cases.Invalid(map[string]string{"kind": fmt.Sprintf("must be one of %v", letters.Kinds)})
	}
	c, err := e.DB.Case(ctx, ref)
	if err != nil {
		return nil, err
	}
	org, _, err := e.DB.Org(ctx)
	if err != nil {
		return nil, err
	}
	if !org.Complete() {
		return nil, cases.Errorf(cases.ECONFLICT, "the organisation profile is not set (legal name, custodian of records and title): set it on /admin/organisation or with envelope org load")
	}
	if kind == letters.Clarification && len(opt.Questions) == 0 {
		return nil, cases.Invalid(map[string]string{"questions": "a clarification request needs at least one question"})
	}
	set := e.Builder.Letters
	if set == nil {
		set = letters.Default()
	}
	at := e.DB.Now()
	d := letters.FromCase(c, org, at)
	d.Questions = opt.Questions
	pdf, err := set.Letter(kind, d, c.Agency.Country, at)
	if err != nil {
		return nil, err
	}
	l := &Letter{CaseID: c.ID, Kind: kind, TemplateVersion: set.Version(), CreatedBy: actor, CreatedAt: at}
	m := letterManifest{Format: Format, Case: c.Number, SigningKey: e.Builder.Signer.Fingerprint(),
		Letter: letterDoc{Kind: kind, TemplateVersion: l.TemplateVersion, Paper: org.Paper(c.Agency.Country), CreatedAt: at, CreatedBy: actor},
		Files:  []fileSum{sumOf(LetterFile, pdf)}}
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	mj = append(mj, '\n')
	work, err := os.MkdirTemp(e.Dir, ".letter-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	if err := os.WriteFile(filepath.Join(work, LetterFile), pdf, 0o600); err != nil {
		return nil, err
	}
	sums := sumsFile([]fileSum{m.Files[0], sumOf(ManifestFile, mj)})
	var zipBuf bytes.Buffer
	if err := writeZip(&zipBuf, work, at, m.Files, mj, sums, e.Builder.Signer.Sign(sums)); err != nil {
		return nil, err
	}
	h := sha256.Sum256(zipBuf.Bytes())
	l.SHA256, l.Size = hex.EncodeToString(h[:]), int64(zipBuf.Len())
	return l, e.recordLetter(ctx, c, l, zipBuf.Bytes())
}

// recordLetter numbers the letter, stores its file and records it; the
// file is deleted if the transaction fails. The number is read before the
// file is stored (the blob store is not part of the transaction): a
// letter numbered meanwhile by another instance makes the insert fail on
// the unique (case, seq), and the caller is told to try again.
func (e *Exporter) recordLetter(ctx context.Context, c *cases.Case, l *Letter, zipData []byte) error {
	if err := e.DB.Reader().GetContext(ctx, &l.Seq, e.DB.Reader().Rebind("SELECT COALESCE(MAX(seq), 0) + 1 FROM letters WHERE case_id = ?"), c.ID); err != nil {
		return fmt.Errorf("number the letter: %w", err)
	}
	l.FileName = fmt.Sprintf("%s-L%03d-%s-%s.zip", c.Number, l.Seq, strings.ReplaceAll(string(l.Kind), "_", "-"), l.SHA256[:12])
	if err := e.Blobs.Put(ctx, l.FileName, bytes.NewReader(zipData)); err != nil {
		if cases.ErrorCode(err) == cases.ECONFLICT {
			return cases.Errorf(cases.ECONFLICT, "case %s: another letter was produced meanwhile; try again", c.Number)
		}
		return fmt.Errorf("store the letter: %w", err)
	}
	err := e.DB.Tx(ctx, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &l.ID, tx.Rebind(`INSERT INTO letters
			(case_id, seq, kind, template_version, file_name, sha256, size, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			l.CaseID, l.Seq, l.Kind, l.TemplateVersion, l.FileName, l.SHA256, l.Size, l.CreatedBy, l.CreatedAt)
		if err != nil {
			return err
		}
		return e.DB.Audit(ctx, tx, l.CreatedBy, "case.letter", "case", strconv.FormatInt(c.ID, 10), nil, map[string]any{
			"kind": l.Kind, "file": l.FileName, "sha256": l.SHA256, "template_version": l.TemplateVersion})
	})
	if err != nil {
		e.Blobs.Delete(context.WithoutCancel(ctx), l.FileName)
		if isUniqueViolation(err) {
			return cases.Errorf(cases.ECONFLICT, "case %s: another letter was produced meanwhile; try again", c.Number)
		}
		return err
	}
	return nil
}

// Letters lists the letters of the case ref, oldest first.
func (e *Exporter) Letters(ctx context.Context, ref string) ([]*Letter, error) {
	c, err := e.DB.Case(ctx, ref)
	if err != nil {
		return nil, err
	}
	return ListLetters(ctx, e.DB, c.ID)
}

// ListLetters lists the letters of a case, oldest first, without a
// signing key (for the case page).
func ListLetters(ctx context.Context, db *store.DB, caseID int64) ([]*Letter, error) {
	r := db.Reader()
	var out []*Letter
	if err := r.SelectContext(ctx, &out, r.Rebind(`SELECT id, case_id, seq, kind, template_version, file_name, sha256, size,
		created_by, created_at FROM letters WHERE case_id = ? ORDER BY seq`), caseID); err != nil {
		return nil, fmt.Errorf("list letters: %w", err)
	}
	for _, l := range out {
		l.CreatedAt = l.CreatedAt.UTC()
	}
	return out, nil
}

// OpenLetter returns a letter of the case ref by its file name, and its
// content. Only names recorded in the letters table are served.
func (e *Exporter) OpenLetter(ctx context.Context, ref, name string) (*Letter, io.ReadCloser, error) {
	if !validName(name) {
		return nil, nil, cases.Errorf(cases.ENOTFOUND, "no letter %q", name)
	}
	list, err := e.Letters(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	for _, l := range list {
		if l.FileName == name {
			f, _, err := e.Blobs.Open(ctx, l.FileName)
			if err != nil {
				return nil, nil, cases.Errorf(cases.ENOTFOUND, "the file of letter %s is no longer kept", name)
			}
			return l, f, nil
		}
	}
	return nil, nil, cases.Errorf(cases.ENOTFOUND, "case %s has no letter %q", ref, name)
}
