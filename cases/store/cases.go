package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
)

// caseRow is a case as stored: indexed columns for filtering, and the
// request, decision and review as JSON documents so that they read back
// exactly as they were written.
type caseRow struct {
	ID           int64          `db:"id"`
	Number       string         `db:"number"`
	Status       string         `db:"status"`
	RequestJSON  string         `db:"request_json"`
	DecisionJSON sql.NullString `db:"decision_json"`
	ReviewJSON   sql.NullString `db:"review_json"`
	Produced     bool           `db:"produced"`
	Assignee     string         `db:"assignee"`
	CreatedBy    string         `db:"created_by"`
	CreatedAt    time.Time      `db:"created_at"`
	UpdatedAt    time.Time      `db:"updated_at"`
	ClosedAt     sql.NullTime   `db:"closed_at"`
	Result       string         `db:"result"`
	ResultReason string         `db:"result_reason"`
	ShapeJSON    sql.NullString `db:"shape_json"`
	// DueAt is the deadline in force: the request's at intake, then as the
	// clock events moved it (due.go); it overrides the request's due_at.
	DueAt sql.NullTime `db:"due_at"`
}

const caseColumns = "id, number, status, request_json, decision_json, review_json, produced, assignee, created_by, created_at, updated_at, closed_at, result, result_reason, shape_json, due_at"

func (r *caseRow) toCase() (*cases.Case, error) {
	c := &cases.Case{
		ID: r.ID, Number: r.Number, Status: cases.Status(r.Status), Produced: r.Produced,
		Assignee: r.Assignee, CreatedBy: r.CreatedBy,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		Result: cases.Result(r.Result), ResultReason: r.ResultReason,
	}
	if r.ShapeJSON.Valid {
		c.Shape = &cases.Shape{}
		if err := json.Unmarshal([]byte(r.ShapeJSON.String), c.Shape); err != nil {
			return nil, fmt.Errorf("case %d: stored shape: %w", r.ID, err)
		}
	}
	if r.ClosedAt.Valid {
		t := r.ClosedAt.Time.UTC()
		c.ClosedAt = &t
	}
	if err := json.Unmarshal([]byte(r.RequestJSON), &c.Request); err != nil {
		return nil, fmt.Errorf("case %d: stored request: %w", r.ID, err)
	}
	c.DueAt = nil
	if r.DueAt.Valid {
		t := r.DueAt.Time.UTC()
		c.DueAt = &t
	}
	if r.DecisionJSON.Valid {
		c.Decision = &cases.Decision{}
		if err := json.Unmarshal([]byte(r.DecisionJSON.String), c.Decision); err != nil {
			return nil, fmt.Errorf("case %d: stored decision: %w", r.ID, err)
		}
	}
	if r.ReviewJSON.Valid {
		c.Review = &cases.Review{}
		if err := json.Unmarshal([]byte(r.ReviewJSON.String), c.Review); err != nil {
			return nil, fmt.Errorf("case %d: stored review: %w", r.ID, err)
		}
	}
	return c, nil
}

// searchTerms are the words free-text search finds a case by, lowercased:
// its number, reference, targets, agency, requester and issuing authority.
// Search matches them by prefix through an index, so it costs the same at a
// million cases as at ten.
func searchTerms(number string, req *cases.Request) []string {
	seen := map[string]bool{}
	var terms []string
	add := func(s string) {
		s = strings.ToLower(strings.TrimSpace(s))
		if len(s) >= 2 && len(s) <= 200 && !seen[s] {
			seen[s] = true
			terms = append(terms, s)
		}
	}
	words := func(s string) {
		for _, w := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '(' || r == ')' || r == '@' }) {
			add(w)
		}
	}
	add(number)
	add(req.Process.Reference)
	for _, t := range req.Targets {
		add(t.Value)
		add(strings.TrimPrefix(t.Value, "+"))
	}
	add(req.Requester.Email)
	words(req.Requester.Email)
	words(req.Requester.Name)
	words(req.Agency.Name)
	words(req.Process.IssuingAuthority)
	for _, t := range extraTerms(req) {
		add(t)
	}
	return terms
}

// NewCase is what CreateCase stores: a validated request, the policy's
// decision on it, and for imported history the state it had reached.
type NewCase struct {
	Request  *cases.Request
	Decision *cases.Decision
	Status   cases.Status // default received
	Produced bool
	ClosedAt *time.Time
}

// CreateCase logs a request with its decision as a new case, in one
// transaction with its audit events, and returns the stored case.
func (db *DB) CreateCase(ctx context.Context, actor string, nc NewCase) (*cases.Case, error) {
	var c *cases.Case
	err := db.Tx(ctx, func(tx *sqlx.Tx) error {
		var err error
		c, err = db.createCase(ctx, tx, actor, nc)
		return err
	})
	return c, err
}

// CreateCases logs many cases in one transaction: all of them, or none.
// Imports use it in batches.
func (db *DB) CreateCases(ctx context.Context, actor string, ncs []NewCase) error {
	return db.Tx(ctx, func(tx *sqlx.Tx) error {
		for _, nc := range ncs {
			if _, err := db.createCase(ctx, tx, actor, nc); err != nil {
				return err
			}
		}
		return nil
	})
}

func (db *DB) createCase(ctx context.Context, tx *sqlx.Tx, actor string, nc NewCase) (*cases.Case, error) {
	req := nc.Request
	now := db.Now()
	if req.ReceivedAt.IsZero() {
		req.ReceivedAt = now
	}
	status := nc.Status
	if status == "" {
		status = cases.StatusReceived
	}
	agencyID, err := db.caseAgency(ctx, tx, req.Agency)
	if err != nil {
		return nil, err
	}
	reqJSON, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var decJSON, outcome, version any = nil, "", ""
	if nc.Decision != nil {
		b, err := json.Marshal(nc.Decision)
		if err != nil {
			return nil, err
		}
		decJSON, outcome, version = string(b), string(nc.Decision.Outcome), nc.Decision.PolicyVersion
	}
	// The number derives from the ID, which exists only after the insert; a
	// unique placeholder holds its place until then.
	placeholder := "pending-" + randomHex(8)
	var id int64
	if err := tx.GetContext(ctx, &id, tx.Rebind(`INSERT INTO cases
		(number, status, agency_id, agency_country, process_type, reference, received_at, due_at,
		 target_count, request_json, decision_json, outcome, policy_version, produced,
		 created_by, created_at, updated_at, closed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		placeholder, status, agencyID, req.Agency.Country, req.Process.Type, req.Process.Reference,
		req.ReceivedAt, req.DueAt, len(req.Targets), string(reqJSON), decJSON, outcome, version,
		nc.Produced || status == cases.StatusProduced, actor, now, now, nc.ClosedAt); err != nil {
		return nil, fmt.Errorf("insert case: %w", err)
	}
	number := cases.CaseNumber(req.ReceivedAt, id)
	if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE cases SET number = ? WHERE id = ?"), number, id); err != nil {
		return nil, fmt.Errorf("number case: %w", err)
	}
	terms := searchTerms(number, req)
	for _, term := range terms {
		if _, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO case_terms (term, case_id) VALUES (?, ?)"), term, id); err != nil {
			return nil, fmt.Errorf("index case: %w", err)
		}
	}
	if err := db.indexText(ctx, tx, id, terms); err != nil {
		return nil, fmt.Errorf("index case text: %w", err)
	}
	for i, t := range req.Targets {
		if _, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO case_targets (case_id, position, kind, value) VALUES (?, ?, ?, ?)"),
			id, i, t.Kind, t.Value); err != nil {
			return nil, fmt.Errorf("insert target: %w", err)
		}
	}
	c, err := db.getCase(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	action := "case.create"
	if nc.Status != "" {
		action = "case.import"
	}
	entity := strconv.FormatInt(id, 10)
	if err := db.Audit(ctx, tx, actor, action, "case", entity, nil, c.Request); err != nil {
		return nil, err
	}
	if nc.Decision != nil {
		if err := db.Audit(ctx, tx, actor, "case.decide", "case", entity, nil, nc.Decision); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Case returns a case with its document summary and notes. ref is the
// numeric ID or the case number (LR-2026-000123).
func (db *DB) Case(ctx context.Context, ref string) (*cases.Case, error) {
	id, err := db.resolveCase(ctx, ref)
	if err != nil {
		return nil, err
	}
	c, err := db.getCase(ctx, db.r, id)
	if err != nil {
		return nil, err
	}
	if c.Document, err = db.documentInfo(ctx, id); err != nil {
		return nil, err
	}
	if err := db.r.SelectContext(ctx, &c.Notes, db.r.Rebind(
		"SELECT id, author, created_at AS at, body FROM case_notes WHERE case_id = ? ORDER BY id"), id); err != nil {
		return nil, err
	}
	for i := range c.Notes {
		c.Notes[i].At = c.Notes[i].At.UTC()
	}
	if c.Verifications, err = db.verifications(ctx, db.r, id); err != nil {
		return nil, err
	}
	if c.AgencyMatch, err = db.ResolveAgency(ctx, c.Agency); err != nil {
		return nil, err
	}
	return c, nil
}

func (db *DB) resolveCase(ctx context.Context, ref string) (int64, error) {
	ref = strings.TrimSpace(ref)
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil && id > 0 {
		return id, nil
	}
	if cases.TextProblem(ref) != "" { // no case number has it; PostgreSQL could not look it up
		return 0, cases.Errorf(cases.ENOTFOUND, "no case %q", ref)
	}
	var id int64
	err := db.r.GetContext(ctx, &id, db.r.Rebind("SELECT id FROM cases WHERE number = ?"), strings.ToUpper(ref))
	if errors.Is(err, sql.ErrNoRows) {
		return 0, cases.Errorf(cases.ENOTFOUND, "no case %q", ref)
	}
	return id, err
}

func (db *DB) getCase(ctx context.Context, q sqlx.QueryerContext, id int64) (*cases.Case, error) {
	var row caseRow
	err := sqlx.GetContext(ctx, q, &row, db.r.Rebind(
		"SELECT "+caseColumns+" FROM cases WHERE id = ?"), id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, cases.Errorf(cases.ENOTFOUND, "no case with id %d", id)
	} else if err != nil {
		return nil, err
	}
	return row.toCase()
}

// ListCases returns one page of cases matching f, newest first. Paging is by
// keyset (id below the cursor), so page 20,000 costs what page 1 does.
func (db *DB) ListCases(ctx context.Context, f cases.CaseFilter) (*cases.Page, error) {
	rows, next, err := db.listRows(ctx, f, "", true, "", caseColumns)
	if err != nil {
		return nil, err
	}
	list, err := fullCases(rows)
	if err != nil {
		return nil, err
	}
	page := &cases.Page{Cases: list}
	if next != "" {
		page.Next = rows[len(rows)-1].ID
	}
	return page, nil
}

// Review records a reviewer's verdict (approved or rejected) on a received
// case. The status change is conditional on the case still being received,
// so of two reviewers racing on one case exactly one wins.
func (db *DB) Review(ctx context.Context, actor *cases.User, ref string, verdict cases.Status, note string) (*cases.Case, error) {
	id, err := db.resolveCase(ctx, ref)
	if err != nil {
		return nil, err
	}
	var c *cases.Case
	err = db.Tx(ctx, func(tx *sqlx.Tx) error {
		if verdict == cases.StatusApproved && len(db.onApprove) > 0 {
			if err := db.lockCollection(ctx, tx); err != nil {
				return err
			}
		}
		before, err := db.getCase(ctx, tx, id)
		if err != nil {
			return err
		}
		if before.Verifications, err = db.verifications(ctx, tx, id); err != nil {
			return err
		}
		var ties cases.Ties
		if actor != nil {
			if ties, err = db.ties(ctx, tx, actor); err != nil {
				return err
			}
		}
		if err := checkFourEyes(actor, before, ties); err != nil {
			return err
		}
		if err := cases.CheckReview(actor, before, verdict, note, ties); err != nil {
			return err
		}
		if verdict == cases.StatusApproved {
			if err := cases.CheckInForce(before, db.Now()); err != nil {
				return err
			}
		}
		review := cases.Review{Verdict: verdict, By: actor.Email, At: db.Now(), Note: strings.TrimSpace(note)}
		b, _ := json.Marshal(review)
		res, err := tx.ExecContext(ctx, tx.Rebind("UPDATE cases SET status = ?, review_json = ?, updated_at = ? WHERE id = ? AND status = ?"),
			verdict, string(b), review.At, id, cases.StatusReceived)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return cases.Errorf(cases.ECONFLICT, "case %s was decided by someone else meanwhile", before.Number)
		}
		action := "case.approve"
		if verdict == cases.StatusRejected {
			action = "case.reject"
		}
		if err := db.Audit(ctx, tx, actor.Email, action, "case", strconv.FormatInt(id, 10),
			map[string]any{"status": before.Status}, map[string]any{"status": verdict, "note": review.Note}); err != nil {
			return err
		}
		if verdict == cases.StatusApproved {
			for _, hook := range db.onApprove {
				if err := hook(ctx, tx, actor.Email, before); err != nil {
					return err
				}
			}
		}
		c, err = db.getCase(ctx, tx, id)
		return err
	})
	return c, err
}

// ApproveHook runs inside the approval's transaction; prospective collection
// uses it to open its windows atomically with the approval.
type ApproveHook func(ctx context.Context, tx *sqlx.Tx, actor string, c *cases.Case) error

// OnApprove registers a hook to run when a case is approved.
func (db *DB) OnApprove(h ApproveHook) { db.onApprove = append(db.onApprove, h) }

// CloseHook runs inside the transaction that closes a case; prospective
// collection uses it to end a withdrawn order's windows atomically with the
// close. c is the case as it was before.
type CloseHook func(ctx context.Context, tx *sqlx.Tx, actor string, c *cases.Case) error

// OnClose registers a hook to run when a case is closed.
func (db *DB) OnClose(h CloseHook) { db.onClose = append(db.onClose, h) }

// OnReopen registers a hook to run inside the transaction that reopens a
// closed or withdrawn case (c as it was before): what the close stopped
// and may resume, resumes with it.
func (db *DB) OnReopen(h CloseHook) { db.onReopen = append(db.onReopen, h) }

// SetStatus moves a case to produced or closed, audited.
func (db *DB) SetStatus(ctx context.Context, tx *sqlx.Tx, actor string, c *cases.Case, status cases.Status) error {
	now := db.Now()
	var closedAt any
	ending := status == cases.StatusClosed || status == cases.StatusWithdrawn
	if ending {
		closedAt = now
		if len(db.onClose) > 0 && c.Status != cases.StatusClosed && c.Status != cases.StatusWithdrawn {
			if err := db.lockCollection(ctx, tx); err != nil {
				return err
			}
		}
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE cases SET status = ?, produced = (produced OR ?), closed_at = COALESCE(closed_at, ?), updated_at = ? WHERE id = ?"),
		status, status == cases.StatusProduced, closedAt, now, c.ID); err != nil {
		return err
	}
	if err := db.Audit(ctx, tx, actor, "case.status", "case", strconv.FormatInt(c.ID, 10),
		map[string]any{"status": c.Status}, map[string]any{"status": status}); err != nil {
		return err
	}
	// Every way to close (or withdraw) a case comes through here, so the
	// close hooks cannot be bypassed.
	if ending && c.Status != cases.StatusClosed && c.Status != cases.StatusWithdrawn {
		for _, hook := range db.onClose {
			if err := hook(ctx, tx, actor, c); err != nil {
				return err
			}
		}
	}
	return nil
}

// CloseCase closes a case (finished, or the order withdrawn), with a reason.
func (db *DB) CloseCase(ctx context.Context, actor *cases.User, ref, reason string) (*cases.Case, error) {
	if !actor.CanLog() {
		return nil, cases.Errorf(cases.EFORBIDDEN, "your role cannot close cases")
	}
	if bad := reasonProblem(reason); bad != nil {
		return nil, cases.Invalid(bad)
	}
	id, err := db.resolveCase(ctx, ref)
	if err != nil {
		return nil, err
	}
	var c *cases.Case
	err = db.Tx(ctx, func(tx *sqlx.Tx) error {
		// The lock order (db.go): the collection state the close hooks
		// need, the case, the note's search text, and only then the audit
		// head that SetStatus takes. Indexing the note after SetStatus
		// held the head while waiting for a note's search text that
		// another note on the case held while waiting for the head.
		if len(db.onClose) > 0 {
			if err := db.lockCollection(ctx, tx); err != nil {
				return err
			}
		}
		if err := db.LockCase(ctx, tx, id); err != nil {
			return err
		}
		before, err := db.getCase(ctx, tx, id)
		if err != nil {
			return err
		}
		if before.Status == cases.StatusClosed {
			return cases.Errorf(cases.ECONFLICT, "case %s is already closed", before.Number)
		}
		note := "Closed: " + strings.TrimSpace(reason)
		noteID, err := db.insertNote(ctx, tx, actor.Email, id, note)
		if err != nil {
			return err
		}
		if err := db.SetStatus(ctx, tx, actor.Email, before, cases.StatusClosed); err != nil {
			return err
		}
		if err := db.auditNote(ctx, tx, actor.Email, id, noteID, note); err != nil {
			return err
		}
		c, err = db.getCase(ctx, tx, id)
		return err
	})
	return c, err
}

// AddNote adds a note to a case.
func (db *DB) AddNote(ctx context.Context, actor *cases.User, ref, body string) error {
	if !actor.CanLog() {
		return cases.Errorf(cases.EFORBIDDEN, "your role cannot add notes")
	}
	body = strings.TrimSpace(body)
	if body == "" {
		return cases.Invalid(map[string]string{"body": "is required"})
	} else if len(body) > 20000 {
		return cases.Invalid(map[string]string{"body": "is longer than 20000 characters"})
	} else if msg := cases.TextProblem(body); msg != "" {
		return cases.Invalid(map[string]string{"body": msg})
	}
	id, err := db.resolveCase(ctx, ref)
	if err != nil {
		return err
	}
	return db.Tx(ctx, func(tx *sqlx.Tx) error { return db.addNote(ctx, tx, actor.Email, id, body) })
}

func (db *DB) addNote(ctx context.Context, tx *sqlx.Tx, actor string, id int64, body string) error {
	noteID, err := db.insertNote(ctx, tx, actor, id, body)
	if err != nil {
		return err
	}
	return db.auditNote(ctx, tx, actor, id, noteID, body)
}

// insertNote stores a note and adds its words to the case's search text
// (a case_search row lock: step 3 of the lock order, so before Audit).
func (db *DB) insertNote(ctx context.Context, tx *sqlx.Tx, actor string, id int64, body string) (int64, error) {
	var noteID int64
	if err := tx.GetContext(ctx, &noteID, tx.Rebind("INSERT INTO case_notes (case_id, author, body, created_at) VALUES (?, ?, ?, ?) RETURNING id"),
		id, actor, body, db.Now()); err != nil {
		return 0, err
	}
	return noteID, db.indexNote(ctx, tx, id, body)
}

func (db *DB) auditNote(ctx context.Context, tx *sqlx.Tx, actor string, id, noteID int64, body string) error {
	return db.Audit(ctx, tx, actor, "case.note", "case", strconv.FormatInt(id, 10), nil, map[string]any{"note": noteID, "body": body})
}

// Assign gives a case to a user (by email; "" unassigns).
func (db *DB) Assign(ctx context.Context, actor *cases.User, ref, assignee string) error {
	if !actor.CanLog() {
		return cases.Errorf(cases.EFORBIDDEN, "your role cannot assign cases")
	}
	assignee = strings.ToLower(strings.TrimSpace(assignee))
	if assignee != "" {
		if u, err := db.UserByEmail(ctx, assignee); err != nil {
			return cases.Invalid(map[string]string{"assignee": "no user " + assignee})
		} else if !u.CanLog() {
			return cases.Invalid(map[string]string{"assignee": assignee + " cannot work cases (disabled, or an auditor or collector)"})
		}
	}
	id, err := db.resolveCase(ctx, ref)
	if err != nil {
		return err
	}
	return db.Tx(ctx, func(tx *sqlx.Tx) error {
		c, err := db.getCase(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE cases SET assignee = ?, updated_at = ? WHERE id = ?"), assignee, db.Now(), id); err != nil {
			return err
		}
		return db.Audit(ctx, tx, actor.Email, "case.assign", "case", strconv.FormatInt(id, 10),
			map[string]any{"assignee": c.Assignee}, map[string]any{"assignee": assignee})
	})
}

// AttachDocument stores the legal-process document of a case (PDF only);
// an earlier one is kept as a superseded attachment (attachments.go), and
// the audit event records both hashes.
func (db *DB) AttachDocument(ctx context.Context, actor *cases.User, ref, filename string, content []byte) (*cases.Document, error) {
	if !actor.CanLog() {
		return nil, cases.Errorf(cases.EFORBIDDEN, "your role cannot upload documents")
	}
	if err := checkPDF(content); err != nil {
		return nil, err
	}
	id, err := db.resolveCase(ctx, ref)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(content)
	doc := &cases.Document{Filename: cleanFilename(filename), Size: int64(len(content)),
		SHA256: hex.EncodeToString(sum[:]), UploadedBy: actor.Email, UploadedAt: db.Now()}
	blob, content, err := db.putRowFile(ctx, "document", id, doc.SHA256, content)
	if err != nil {
		return nil, err
	}
	err = db.Tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := db.getCase(ctx, tx, id); err != nil {
			return err
		}
		old, err := db.documentInfoTx(ctx, tx, id)
		if err != nil {
			return err
		}
		// The document replaced is kept, superseded (nothing produced is
		// ever lost to a later upload).
		if err := db.supersede(ctx, tx, actor.Email, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM case_documents WHERE case_id = ?"), id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO case_documents
			(case_id, filename, size, sha256, content, blob, uploaded_by, uploaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
			id, doc.Filename, doc.Size, doc.SHA256, content, blob, doc.UploadedBy, doc.UploadedAt); err != nil {
			return err
		}
		var before any
		if old != nil {
			before = old
		}
		return db.Audit(ctx, tx, actor.Email, "case.document", "case", strconv.FormatInt(id, 10), before, doc)
	})
	if err != nil {
		db.dropFiles(ctx, blob)
		return nil, err
	}
	return doc, nil
}

// cleanFilename keeps only the base name of an uploaded file, so a name can
// never point outside wherever it is later written.
func cleanFilename(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' {
			return -1
		}
		return r
	}, name)
	if name == "" || name == "." || name == ".." {
		return "document.pdf"
	}
	return name
}

// Document returns the uploaded document of a case and its content.
func (db *DB) Document(ctx context.Context, ref string) (*cases.Document, []byte, error) {
	return readAll(db.OpenDocument(ctx, ref))
}

// OpenDocument returns the uploaded document of a case and a reader of its
// content, streamed from the blob store if it is kept there.
func (db *DB) OpenDocument(ctx context.Context, ref string) (*cases.Document, io.ReadCloser, error) {
	id, err := db.resolveCase(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	var row struct {
		cases.Document
		fileRow
	}
	err = db.r.GetContext(ctx, &row, db.r.Rebind(`SELECT filename, size, sha256, uploaded_by, uploaded_at, content, blob
		FROM case_documents WHERE case_id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, cases.Errorf(cases.ENOTFOUND, "case %s has no document", ref)
	} else if err != nil {
		return nil, nil, err
	}
	row.Document.UploadedAt = row.Document.UploadedAt.UTC()
	r, err := row.open(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	return &row.Document, r, nil
}

func (db *DB) documentInfo(ctx context.Context, id int64) (*cases.Document, error) {
	return db.documentInfoTx(ctx, db.r, id)
}

func (db *DB) documentInfoTx(ctx context.Context, q sqlx.QueryerContext, id int64) (*cases.Document, error) {
	var d cases.Document
	err := sqlx.GetContext(ctx, q, &d, db.r.Rebind(
		"SELECT filename, size, sha256, uploaded_by, uploaded_at FROM case_documents WHERE case_id = ?"), id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	d.UploadedAt = d.UploadedAt.UTC()
	return &d, nil
}

// EachCase calls fn for each case received in [from, to), oldest first, with
// its request and stored decision; policy replay uses it. Each request's
// agency is resolved against the directory as it is now (Request.Directory),
// so that a replay decides on what the directory says, as intake does.
func (db *DB) EachCase(ctx context.Context, from, to *time.Time, fn func(c *cases.Case) error) error {
	dir, err := db.loadDirectory(ctx, db.r)
	if err != nil {
		return err
	}
	query := "SELECT " + caseColumns + " FROM cases WHERE 1=1"
	var args []any
	if from != nil {
		query += " AND received_at >= ?"
		args = append(args, *from)
	}
	if to != nil {
		query += " AND received_at < ?"
		args = append(args, *to)
	}
	rows, err := db.r.QueryxContext(ctx, db.r.Rebind(query+" ORDER BY id"), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var row caseRow
		if err := rows.StructScan(&row); err != nil {
			return err
		}
		c, err := row.toCase()
		if err != nil {
			return err
		}
		c.Request.Directory = dir.match(c.Agency)
		if err := fn(c); err != nil {
			return err
		}
	}
	return rows.Err()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
