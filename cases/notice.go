package cases

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// User notice and nondisclosure orders (issue 16). The policy's decision
// says whether the account holder is told (UserNotice); nondisclosure
// orders (NDOs), each from its court with its expiry and extensions, bar
// the notice until they lapse. NoticeFor combines them into what the legal
// team must do now; production is held while a required notice is due.

// NDO is a nondisclosure order on a case. ExpiresAt nil means it stands
// until a court lifts it.
type NDO struct {
	ID         int64      `json:"id" db:"id"`
	CaseID     int64      `json:"case_id" db:"case_id"`
	Court      string     `json:"court" db:"court"`
	Reference  string     `json:"reference" db:"reference"`
	ExpiresAt  *time.Time `json:"expires_at" db:"expires_at"`
	Extensions int        `json:"extensions" db:"extensions"`
	CreatedBy  string     `json:"created_by" db:"created_by"`
	CreatedAt  time.Time  `json:"created_at" db:"created_at"`
}

// Active reports whether the order still bars notice at now.
func (n *NDO) Active(now time.Time) bool { return n.ExpiresAt == nil || n.ExpiresAt.After(now) }

// CheckNDO validates a new order's fields.
func CheckNDO(n *NDO) error {
	f := fieldErrors{}
	n.Court, n.Reference = strings.TrimSpace(n.Court), strings.TrimSpace(n.Reference)
	if n.Court == "" {
		f.add("court", "is required: the court that issued the order")
	}
	for name, v := range map[string]string{"court": n.Court, "reference": n.Reference} {
		if msg := TextProblem(v); msg != "" {
			f.add(name, "%s", msg)
		} else if len(v) > maxText {
			f.add(name, "is longer than %d characters", maxText)
		}
	}
	return f.err()
}

// NoticeRecord is the record that the user was notified, or why not (an
// exception: a court's order not entered, a risk to life).
type NoticeRecord struct {
	Kind   string    `json:"kind" db:"kind"` // sent or exception
	Method string    `json:"method" db:"method"`
	Note   string    `json:"note" db:"note"`
	At     time.Time `json:"at" db:"at"`
	By     string    `json:"by" db:"recorded_by"`
}

// Notice kinds a NoticeRecord can have.
const (
	NoticeKindSent      = "sent"
	NoticeKindException = "exception"
)

// NoticeState is where a case's user notice stands.
type NoticeState string

// Notice states.
const (
	NoticeDue         NoticeState = "due"          // required and not sent: production is held
	NoticeBarred      NoticeState = "barred"       // forbidden until Until (nil: until lifted)
	NoticeNotRequired NoticeState = "not_required" // Why says why
	NoticeSent        NoticeState = "sent"
	NoticeExcepted    NoticeState = "exception"
)

// noticeLabels are the words for each notice state. They are the
// state's own (Label), not the vocabulary's: "due" names a different
// thing on a clock.
var noticeLabels = map[NoticeState]string{
	NoticeDue: "Notice due", NoticeBarred: "Notice barred", NoticeNotRequired: "Notice not required",
	NoticeSent: "Notice sent", NoticeExcepted: "Exception recorded",
}

// Label is the state in words.
func (s NoticeState) Label() string {
	if l, ok := noticeLabels[s]; ok {
		return l
	}
	return Label(string(s))
}

// Notice is a case's user-notice state, with the date it is barred until
// and the reason, in words.
type Notice struct {
	State NoticeState `json:"state"`
	Until *time.Time  `json:"until,omitempty"`
	Why   string      `json:"why"`
}

// statutoryDelay are the process types whose notice is delayed by statute
// unless an order says otherwise (domain rule 14).
var statutoryDelay = []ProcessType{PenRegister, NSL, FISA}

// NoticeFor computes case c's user notice at now from its decision, its
// nondisclosure orders and the notice recorded, if any.
func NoticeFor(c *Case, ndos []NDO, rec *NoticeRecord, now time.Time) Notice {
	switch {
	case rec != nil && rec.Kind == NoticeKindException:
		return Notice{State: NoticeExcepted, Why: fmt.Sprintf("exception recorded by %s: %s", rec.By, rec.Note)}
	case rec != nil:
		return Notice{State: NoticeSent, Why: fmt.Sprintf("sent on %s by %s (%s)", rec.At.Format("2006-01-02"), rec.By, rec.Method)}
	case c.Decision == nil:
		return Notice{State: NoticeNotRequired, Why: "the case has no policy decision"}
	case c.Decision.UserNotice == NoticeNone:
		return Notice{State: NoticeNotRequired, Why: fmt.Sprintf("the policy gives no user notice for a %s", strings.ReplaceAll(string(c.Process.Type), "_", " "))}
	case c.Status == StatusRejected || c.Status == StatusWithdrawn || (c.Status == StatusClosed && !c.Produced):
		return Notice{State: NoticeNotRequired, Why: "nothing was disclosed"}
	}
	var until *time.Time
	indefinite := false
	var lapsed *NDO
	for i := range ndos {
		n := &ndos[i]
		switch {
		case !n.Active(now):
			if lapsed == nil || n.ExpiresAt.After(*lapsed.ExpiresAt) {
				lapsed = n
			}
		case n.ExpiresAt == nil:
			indefinite = true
		case until == nil || n.ExpiresAt.After(*until):
			until = n.ExpiresAt
		}
	}
	if nd := c.Process.NondisclosureUntil; nd != nil && nd.After(now) && !indefinite && (until == nil || nd.After(*until)) {
		until = nd
	}
	switch {
	case indefinite:
		return Notice{State: NoticeBarred, Why: "a nondisclosure order stands until a court lifts it"}
	case until != nil:
		return Notice{State: NoticeBarred, Until: until, Why: "a nondisclosure order bars notice until " + until.Format("2006-01-02")}
	case lapsed != nil:
		return Notice{State: NoticeDue, Why: fmt.Sprintf("the nondisclosure order of %s lapsed on %s", lapsed.Court, lapsed.ExpiresAt.Format("2006-01-02"))}
	case c.Decision.UserNotice == NoticeDelayed && c.Process.NondisclosureUntil != nil:
		return Notice{State: NoticeDue, Why: "the nondisclosure date " + c.Process.NondisclosureUntil.Format("2006-01-02") + " has passed"}
	case c.Decision.UserNotice == NoticeDelayed && slices.Contains(statutoryDelay, c.Process.Type):
		return Notice{State: NoticeBarred, Why: fmt.Sprintf("notice of a %s is delayed by statute until a court allows it", strings.ReplaceAll(string(c.Process.Type), "_", " "))}
	case c.Decision.UserNotice == NoticeDelayed:
		return Notice{State: NoticeBarred, Why: "the decision delays notice; record the nondisclosure order and its expiry"}
	}
	return Notice{State: NoticeDue, Why: "the policy requires notifying the user before disclosure"}
}
