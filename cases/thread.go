package cases

import (
	"fmt"
	"strings"
	"time"
)

// The correspondence of a case submitted through the agency portal (issue
// 14): one thread between the legal team and the agency, with PDF
// attachments, kept after the case is closed.

// Sides of a thread.
const (
	SideStaff  = "staff"
	SideAgency = "agency"
)

// Kinds of message. A clarification request is the legal team's question
// that puts the case on hold (needs_clarification); the agency's answer
// returns it to review. Any other message changes nothing but the thread.
const (
	MessagePlain                = "message"
	MessageClarificationRequest = "clarification_request"
	MessageClarificationAnswer  = "clarification_answer"
)

// Limits of a message.
const (
	MaxMessageLength = 20000
	MaxMessageFiles  = 5
)

// Message is one message of a case's thread.
type Message struct {
	ID        int64         `json:"id" db:"id"`
	CaseID    int64         `json:"case_id" db:"case_id"`
	Side      string        `json:"side" db:"side"`
	Author    string        `json:"author" db:"author"`
	Kind      string        `json:"kind" db:"kind"`
	Body      string        `json:"body" db:"body"`
	CreatedAt time.Time     `json:"created_at" db:"created_at"`
	Files     []MessageFile `json:"files" db:"-"`
}

// MessageFile is a PDF attached to a message.
type MessageFile struct {
	ID        int64  `json:"id" db:"id"`
	MessageID int64  `json:"message_id" db:"message_id"`
	Filename  string `json:"filename" db:"filename"`
	Size      int64  `json:"size" db:"size"`
	SHA256    string `json:"sha256" db:"sha256"`
}

// Upload is a file as sent, before it is checked and stored.
type Upload struct {
	Filename string
	Content  []byte
}

// CheckMessage says what is wrong with a message's body, kind and files,
// naming each field (body, kind, attachment); nil if it can be posted.
// Every file must be a PDF of at most MaxDocumentSize.
func CheckMessage(side, kind, body string, files []Upload) error {
	f := map[string]string{}
	body = strings.TrimSpace(body)
	switch {
	case body == "":
		f["body"] = "is required"
	case len(body) > MaxMessageLength:
		f["body"] = fmt.Sprintf("is longer than %d characters", MaxMessageLength)
	case TextProblem(body) != "":
		f["body"] = TextProblem(body)
	}
	switch {
	case kind == MessagePlain:
	case kind == MessageClarificationRequest && side == SideStaff:
	case kind == MessageClarificationAnswer && side == SideAgency:
	default:
		f["kind"] = "is not a kind of message this side can post"
	}
	if len(files) > MaxMessageFiles {
		f["attachment"] = fmt.Sprintf("at most %d files a message", MaxMessageFiles)
	}
	for _, u := range files {
		if len(u.Content) > MaxDocumentSize {
			return &Error{Code: ETOOLARGE, Message: "attachment too large",
				Fields: map[string]string{"attachment": fmt.Sprintf("%s is larger than %d MiB", u.Filename, MaxDocumentSize>>20)}}
		}
		if !strings.HasPrefix(string(u.Content[:min(len(u.Content), 1024)]), "%PDF-") {
			f["attachment"] = "must be PDF files (" + u.Filename + " is not)"
		}
	}
	if len(f) > 0 {
		return Invalid(f)
	}
	return nil
}
