package cases

import (
	"strings"
	"testing"
	"time"
)

// The notice queue's states: due, barred until a date or until lifted, not
// required and why, and what a recorded notice or exception makes of them.
func TestNoticeFor(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	past, future, later := now.AddDate(0, 0, -3), now.AddDate(0, 1, 0), now.AddDate(0, 2, 0)
	kase := func(p ProcessType, n UserNotice, nd *time.Time) *Case {
		return &Case{Status: StatusApproved, Request: Request{Process: Process{Type: p, NondisclosureUntil: nd}}, Decision: &Decision{UserNotice: n}}
	}
	for _, tc := range []struct {
		name  string
		c     *Case
		ndos  []NDO
		rec   *NoticeRecord
		state NoticeState
		until *time.Time
		why   string
	}{
		{"notify", kase(Subpoena, NoticeNotify, nil), nil, nil, NoticeDue, nil, "requires notifying"},
		{"emergency", kase(Emergency, NoticeNone, nil), nil, nil, NoticeNotRequired, nil, "no user notice for a emergency"},
		{"rejected", &Case{Status: StatusRejected, Decision: &Decision{UserNotice: NoticeNotify}}, nil, nil, NoticeNotRequired, nil, "nothing was disclosed"},
		{"two orders", kase(Subpoena, NoticeNotify, nil), []NDO{{Court: "A", ExpiresAt: &future}, {Court: "B", ExpiresAt: &later}}, nil, NoticeBarred, &later, "until"},
		{"indefinite", kase(Subpoena, NoticeNotify, nil), []NDO{{Court: "A"}, {Court: "B", ExpiresAt: &later}}, nil, NoticeBarred, nil, "until a court lifts it"},
		{"lapsed", kase(Subpoena, NoticeNotify, nil), []NDO{{Court: "Court A", ExpiresAt: &past}}, nil, NoticeDue, nil, "Court A lapsed"},
		{"process date", kase(Subpoena, NoticeDelayed, &future), nil, nil, NoticeBarred, &future, "until"},
		{"process date passed", kase(Subpoena, NoticeDelayed, &past), nil, nil, NoticeDue, nil, "has passed"},
		{"pen register", kase(PenRegister, NoticeDelayed, nil), nil, nil, NoticeBarred, nil, "by statute"},
		{"sent", kase(Subpoena, NoticeNotify, nil), nil, &NoticeRecord{Kind: NoticeKindSent, At: now, By: "ivy", Method: "e-mail"}, NoticeSent, nil, "e-mail"},
		{"exception", kase(Subpoena, NoticeNotify, nil), nil, &NoticeRecord{Kind: NoticeKindException, By: "ivy", Note: "risk to life"}, NoticeExcepted, nil, "risk to life"},
	} {
		n := NoticeFor(tc.c, tc.ndos, tc.rec, now)
		if n.State != tc.state || !strings.Contains(n.Why, tc.why) || (tc.until == nil) != (n.Until == nil) || (tc.until != nil && !tc.until.Equal(*n.Until)) {
			t.Errorf("%s: %+v, want %s until %v (%q)", tc.name, n, tc.state, tc.until, tc.why)
		}
	}
}
