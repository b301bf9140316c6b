package cases

import (
	"fmt"
	"time"
)

// Case is a logged request and everything that has happened to it since. The
// request's fields are embedded so that a case reads, in JSON, as the request
// that was posted plus its case fields.
type Case struct {
	ID     int64  `json:"id"`
	Number string `json:"number"`
	Status Status `json:"status"`
	Request
	Assignee  string     `json:"assignee"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	ClosedAt  *time.Time `json:"closed_at"`
	// Produced says some data was disclosed. It is set when a package is
	// produced, or imported from a legacy tracker's history.
	Produced bool `json:"produced"`
	// Result is how the case ended (some data, no data, refused,
	// challenged, withdrawn), with its reason code; Shape is the
	// reviewer's narrowing of the decision (cases/casework.go).
	Result       Result    `json:"result,omitempty"`
	ResultReason string    `json:"result_reason,omitempty"`
	Shape        *Shape    `json:"shape,omitempty"`
	Decision     *Decision `json:"decision,omitempty"`
	Review       *Review   `json:"review,omitempty"`
	Document     *Document `json:"document,omitempty"`
	Notes        []Note    `json:"notes,omitempty"`
	// AgencyMatch is the directory's match of the agency, resolved when the
	// case is read; Verifications are the callbacks recorded on it.
	AgencyMatch   *AgencyMatch   `json:"agency_match,omitempty"`
	Verifications []Verification `json:"verifications,omitempty"`
	// Deadline is the due clock the clock rules computed, with its rule;
	// Clocks every clock of the case (policy/clock). Filled when a case is
	// read through the API, from its request and events.
	Deadline *Deadline  `json:"deadline,omitempty"`
	Clocks   []Deadline `json:"clocks,omitempty"`
	// NonExecution is the recorded partial or full non-execution of an EU
	// order (Form 3), if any.
	NonExecution *NonExecution `json:"non_execution,omitempty"`
}

// CaseNumber formats the human-friendly number of a case, e.g. LR-2026-000123:
// the year the request was received and the case's ID.
func CaseNumber(receivedAt time.Time, id int64) string {
	return fmt.Sprintf("LR-%04d-%06d", receivedAt.UTC().Year(), id)
}

// Review is the second person's verdict on a case.
type Review struct {
	Verdict Status    `json:"verdict"` // approved or rejected
	By      string    `json:"by"`
	At      time.Time `json:"at"`
	Note    string    `json:"note"`
}

// Document is the uploaded legal-process document (the warrant, the order).
type Document struct {
	Filename   string    `json:"filename" db:"filename"`
	Size       int64     `json:"size" db:"size"`
	SHA256     string    `json:"sha256" db:"sha256"`
	UploadedBy string    `json:"uploaded_by" db:"uploaded_by"`
	UploadedAt time.Time `json:"uploaded_at" db:"uploaded_at"`
}

// MaxDocumentSize bounds an uploaded legal-process document.
const MaxDocumentSize = 20 << 20

// Note is a free-text note on a case.
type Note struct {
	ID     int64     `json:"id" db:"id"`
	Author string    `json:"author" db:"author"`
	At     time.Time `json:"at" db:"at"`
	Body   string    `json:"body" db:"body"`
}

// Summary is a case as a list shows it: the columns a list row needs, read
// without decoding the stored request and decision, so a page of a busy
// list costs a query and not fifty JSON documents.
type Summary struct {
	ID         int64       `json:"id"`
	Number     string      `json:"number"`
	Status     Status      `json:"status"`
	AgencyName string      `json:"agency_name"`
	Country    string      `json:"country"`
	Process    ProcessType `json:"process_type"`
	ReceivedAt time.Time   `json:"received_at"`
	DueAt      *time.Time  `json:"due_at"`
	Targets    int         `json:"targets"`
	Outcome    Outcome     `json:"outcome"` // "" before a decision
	Assignee   string      `json:"assignee"`
}

// CaseFilter selects cases for a list. Zero fields do not filter.
type CaseFilter struct {
	Status  Status
	Country string
	Process ProcessType
	// NotProcess leaves out one process type.
	NotProcess ProcessType
	DueBefore  *time.Time
	DueAfter   *time.Time
	Assignee   string
	Query      string // free text: case number, reference, target, agency, requester
	// After is the keyset cursor: only cases with a smaller ID are listed.
	After int64
	Limit int // at most MaxPageSize; 0: the default page
}

// MaxPageSize is the most cases one page of a list holds (issue 18: a
// response's size is capped). A larger limit is refused (400), not
// clamped, so a client that asked for more learns to follow next.
const MaxPageSize = 500

// Page is one page of a case list, newest first, with the cursor for the next.
type Page struct {
	Cases []*Case `json:"cases"`
	Next  int64   `json:"next,omitempty"`
}
