package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"io"
	"strings"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
)

// The thread of a case submitted through the agency portal (issue 14):
// messages between the legal team and the agency, with PDF attachments.
// Nothing in it is edited or deleted; every message is in the audit log.

// Poster is who posts a message: a staff user, or an officer of the
// agency that submitted the case. Exactly one is set.
type Poster struct {
	Staff   *cases.User
	Officer *Officer
}

func (p Poster) side() string {
	if p.Officer != nil {
		return cases.SideAgency
	}
	return cases.SideStaff
}

func (p Poster) actor() string {
	if p.Officer != nil {
		return p.Officer.Actor().Email
	}
	return p.Staff.Email
}

// MessageHook runs in the transaction that posts a message, with the case
// as it is after: the web layer queues the mail to the other side there,
// so the mail exists exactly when the message does.
type MessageHook func(tx *sqlx.Tx, c *cases.Case, m *cases.Message) error

// submission is who submitted an agency case.
type submission struct {
	OfficerID int64 `db:"officer_id"`
	AgencyID  int64 `db:"agency_id"`
}

func (db *DB) submission(ctx context.Context, q sqlx.QueryerContext, caseID int64) (*submission, error) {
	var s submission
	err := sqlx.GetContext(ctx, q, &s, db.w.Rebind("SELECT officer_id, agency_id FROM agency_submissions WHERE case_id = ?"), caseID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return &s, err
}

// AgencyCase reports whether case id was submitted through the agency
// portal, and so has a thread with the agency.
func (db *DB) AgencyCase(ctx context.Context, id int64) (bool, error) {
	s, err := db.submission(ctx, db.r, id)
	return s != nil, err
}

// PostMessage posts a message to the thread of case ref. Staff need a role
// that works cases; an officer must see the case (officerSees), or the
// case is not found, as for one that does not exist. A clarification
// request (staff) puts the case on hold for the agency's answer, and the
// answer (agency) returns it to review, in the same transaction. then,
// if not nil, runs in that transaction too.
func (db *DB) PostMessage(ctx context.Context, by Poster, ref, kind, body string, files []cases.Upload, then MessageHook) (*cases.Message, error) {
	if by.Officer == nil && (by.Staff == nil || !by.Staff.CanLog()) {
		return nil, cases.Errorf(cases.EFORBIDDEN, "your role can read the thread with the agency but not write in it")
	}
	if kind == "" {
		kind = cases.MessagePlain
	}
	side := by.side()
	if err := cases.CheckMessage(side, kind, body, files); err != nil {
		return nil, err
	}
	id, err := db.resolveCase(ctx, ref)
	if err != nil {
		return nil, err
	}
	if by.Officer != nil {
		if _, err := db.OfficerCase(ctx, by.Officer, id); err != nil {
			return nil, err
		}
	}
	m := &cases.Message{CaseID: id, Side: side, Author: by.actor(), Kind: kind, Body: strings.TrimSpace(body), CreatedAt: db.Now()}
	stored, err := db.putThreadFiles(ctx, id, files)
	if err != nil {
		return nil, err
	}
	var after *cases.Case
	_, err = db.changeCase(ctx, ref, func(tx *sqlx.Tx, before *cases.Case) error {
		sub, err := db.submission(ctx, tx, id)
		if err != nil {
			return err
		}
		if sub == nil {
			return cases.Errorf(cases.ECONFLICT, "case %s was not submitted through the agency portal: it has no thread with the agency", before.Number)
		}
		switch kind {
		case cases.MessageClarificationRequest:
			err = db.clarifyTx(ctx, tx, m.Author, before, m.Body, cases.StatusReceived, cases.StatusNeedsClarification, "case.clarification_request")
		case cases.MessageClarificationAnswer:
			err = db.clarifyTx(ctx, tx, m.Author, before, m.Body, cases.StatusNeedsClarification, cases.StatusReceived, "case.clarification_answer")
		}
		if err != nil {
			return err
		}
		if err := db.insertMessage(ctx, tx, by, m, stored); err != nil {
			return err
		}
		if err := db.auditCase(ctx, tx, m.Author, "case.message", before, nil, m); err != nil {
			return err
		}
		if then == nil {
			return nil
		}
		if after, err = db.getCase(ctx, tx, id); err != nil {
			return err
		}
		return then(tx, after, m)
	})
	if err != nil {
		for _, f := range stored {
			db.dropFiles(ctx, f.blob)
		}
		return nil, err
	}
	return m, nil
}

// storedFile is a thread file as its row keeps it: content, or the name
// of the blob holding it.
type storedFile struct {
	cases.MessageFile
	content []byte
	blob    string
}

// putThreadFiles hashes the files of a message about to be posted to case
// caseID and puts each in the Files store, if set; on an error those put
// already are deleted.
func (db *DB) putThreadFiles(ctx context.Context, caseID int64, files []cases.Upload) ([]storedFile, error) {
	out := make([]storedFile, 0, len(files))
	for _, u := range files {
		sum := sha256.Sum256(u.Content)
		f := storedFile{MessageFile: cases.MessageFile{Filename: cleanFilename(u.Filename), Size: int64(len(u.Content)), SHA256: hex.EncodeToString(sum[:])}}
		var err error
		if f.blob, f.content, err = db.putRowFile(ctx, "thread", caseID, f.SHA256, u.Content); err != nil {
			for _, done := range out {
				db.dropFiles(ctx, done.blob)
			}
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// insertMessage stores m and its files, filling in their IDs and hashes.
func (db *DB) insertMessage(ctx context.Context, tx *sqlx.Tx, by Poster, m *cases.Message, files []storedFile) error {
	var officerID *int64
	if by.Officer != nil {
		officerID = &by.Officer.ID
	}
	if err := tx.GetContext(ctx, &m.ID, tx.Rebind(`INSERT INTO case_messages (case_id, side, author, officer_id, kind, body, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`), m.CaseID, m.Side, m.Author, officerID, m.Kind, m.Body, m.CreatedAt); err != nil {
		return err
	}
	m.Files = []cases.MessageFile{}
	for _, sf := range files {
		f := sf.MessageFile
		f.MessageID = m.ID
		if err := tx.GetContext(ctx, &f.ID, tx.Rebind(`INSERT INTO case_message_files (message_id, case_id, filename, size, sha256, content, blob)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`), f.MessageID, m.CaseID, f.Filename, f.Size, f.SHA256, sf.content, sf.blob); err != nil {
			return err
		}
		m.Files = append(m.Files, f)
	}
	return nil
}

// Thread returns the messages of case caseID, oldest first, with their
// files.
func (db *DB) Thread(ctx context.Context, caseID int64) ([]*cases.Message, error) {
	out := []*cases.Message{}
	if err := db.r.SelectContext(ctx, &out, db.r.Rebind(`SELECT id, case_id, side, author, kind, body, created_at
		FROM case_messages WHERE case_id = ? ORDER BY id`), caseID); err != nil {
		return nil, err
	}
	var files []cases.MessageFile
	if err := db.r.SelectContext(ctx, &files, db.r.Rebind(`SELECT id, message_id, filename, size, sha256
		FROM case_message_files WHERE case_id = ? ORDER BY id`), caseID); err != nil {
		return nil, err
	}
	byID := map[int64]*cases.Message{}
	for _, m := range out {
		m.CreatedAt = m.CreatedAt.UTC()
		m.Files = []cases.MessageFile{}
		byID[m.ID] = m
	}
	for _, f := range files {
		if m := byID[f.MessageID]; m != nil {
			m.Files = append(m.Files, f)
		}
	}
	return out, nil
}

// MessageFile returns file fileID of case caseID's thread and its content;
// a file of another case is not found.
func (db *DB) MessageFile(ctx context.Context, caseID, fileID int64) (*cases.MessageFile, []byte, error) {
	return readAll(db.OpenMessageFile(ctx, caseID, fileID))
}

// OpenMessageFile is MessageFile with a reader of the content, streamed
// from the blob store if it is kept there.
func (db *DB) OpenMessageFile(ctx context.Context, caseID, fileID int64) (*cases.MessageFile, io.ReadCloser, error) {
	var row struct {
		cases.MessageFile
		fileRow
	}
	err := db.r.GetContext(ctx, &row, db.r.Rebind(`SELECT id, message_id, filename, size, sha256, content, blob
		FROM case_message_files WHERE id = ? AND case_id = ?`), fileID, caseID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, cases.Errorf(cases.ENOTFOUND, "the thread of case %d has no file %d", caseID, fileID)
	} else if err != nil {
		return nil, nil, err
	}
	r, err := row.open(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	return &row.MessageFile, r, nil
}

// AgencyRecipients are the officers told of news on case caseID: its
// submitter and the colleagues following it, if they are active officers
// of an agency that is not suspended. q is the transaction that causes
// the mail, or the reader.
func (db *DB) AgencyRecipients(ctx context.Context, q sqlx.QueryerContext, caseID int64) ([]string, error) {
	out := []string{}
	err := sqlx.SelectContext(ctx, q, &out, db.w.Rebind(`SELECT o.email FROM officers o JOIN agency_submissions s ON s.case_id = ?
		WHERE o.agency_id = s.agency_id AND o.verified_at IS NOT NULL AND NOT o.suspended
		AND (o.id = s.officer_id OR o.id IN (SELECT f.officer_id FROM case_followers f WHERE f.case_id = s.case_id))
		AND NOT EXISTS (SELECT 1 FROM agency_suspensions a WHERE a.agency_id = s.agency_id)
		ORDER BY o.email`), caseID)
	return out, err
}
