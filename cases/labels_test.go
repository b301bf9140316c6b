package cases

import (
	"strings"
	"testing"
)

// Every code of the vocabulary has a label of its own, so no code reaches
// a reader as itself.
func TestEveryCodeHasALabel(t *testing.T) {
	var codes []string
	for _, v := range ProcessTypes {
		codes = append(codes, string(v))
	}
	for _, v := range Categories {
		codes = append(codes, string(v))
	}
	for _, v := range TargetKinds {
		codes = append(codes, string(v))
	}
	for _, v := range Statuses {
		codes = append(codes, string(v))
	}
	for _, v := range Roles {
		codes = append(codes, string(v))
	}
	for _, r := range AuthorityRoles {
		if _, ok := roleLabels[r]; !ok {
			t.Errorf("authority role %s has no label", r)
		}
	}
	for _, s := range []NoticeState{NoticeDue, NoticeBarred, NoticeNotRequired, NoticeSent, NoticeExcepted} {
		if _, ok := noticeLabels[s]; !ok {
			t.Errorf("notice state %s has no label", s)
		}
	}
	for _, r := range Results {
		codes = append(codes, string(r))
	}
	codes = append(codes, RefusalReasons...)
	for _, v := range Vias[1:] {
		codes = append(codes, string(v))
	}
	codes = append(codes, string(OutcomeApprove), string(OutcomePartial), string(OutcomeReject), string(OutcomeNeedsReview),
		string(SeverityInfo), string(SeverityReview), string(SeverityBlock),
		string(NoticeNotify), string(NoticeDelayed), string(NoticeNone))
	for _, c := range codes {
		if _, ok := labels[c]; !ok {
			t.Errorf("%s has no label", c)
		}
		if l := Label(c); strings.Contains(l, "_") || l == c && strings.ToLower(l) == l {
			t.Errorf("%s reads %q", c, l)
		}
	}
	if ViaDirect.Label() != "Direct" || Label("some_new_code") != "Some new code" {
		t.Error("fallbacks")
	}
}
