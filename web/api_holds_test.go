package web

import (
	"net/http"
	"strconv"
	"testing"

	"envelope/cases"
	"envelope/cases/retention"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// Reviewers, supervisors and admins place and release legal holds with a
// reason; other roles get 403 and change nothing; every reader lists them.
func TestAPIHolds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		c := f.create(cases.RoleIntake, "subpoena.json")
		path := "/api/v1/cases/" + c.Number + "/hold"
		reason := []byte(`{"reason": "litigation: Doe v. Platform"}`)

		for _, role := range []cases.Role{cases.RoleAuditor, cases.RoleIntake, cases.RoleCollector} {
			for _, method := range []string{"POST", "DELETE"} {
				if w := f.do(role, method, path, reason, nil); w.Code != http.StatusForbidden {
					t.Errorf("%s %s by %s: %d, want 403", method, path, role, w.Code)
				}
			}
		}
		for _, body := range []string{"", `{}`, `{"reason": "  "}`} {
			var e struct{ Fields map[string]string }
			if w := f.do(cases.RoleReviewer, "POST", path, []byte(body), &e); w.Code != http.StatusBadRequest || e.Fields["reason"] == "" {
				t.Errorf("POST %q: %d %v", body, w.Code, e.Fields)
			}
		}
		if w := f.do(cases.RoleReviewer, "POST", path, []byte(`{"reason": "x", "why": "y"}`), nil); w.Code != http.StatusBadRequest {
			t.Errorf("unknown member: %d", w.Code)
		}
		if w := f.do(cases.RoleReviewer, "POST", "/api/v1/cases/LR-2026-999999/hold", reason, nil); w.Code != http.StatusNotFound {
			t.Errorf("unknown case: %d", w.Code)
		}
		if w := f.do(cases.RoleReviewer, "DELETE", path, reason, nil); w.Code != http.StatusConflict {
			t.Errorf("release without a hold: %d", w.Code)
		}
		var list struct{ Holds []retention.Hold }
		if w := f.do(cases.RoleAuditor, "GET", "/api/v1/holds?all=true", nil, &list); w.Code != http.StatusOK || len(list.Holds) != 0 {
			t.Fatalf("refused calls left holds: %d %+v", w.Code, list)
		}

		var h retention.Hold
		if w := f.do(cases.RoleSupervisor, "POST", path, reason, &h); w.Code != http.StatusCreated ||
			h.Case != c.Number || h.PlacedBy != f.emails[cases.RoleSupervisor] || h.Reason != "litigation: Doe v. Platform" {
			t.Fatalf("place: %d %+v", w.Code, h)
		}
		if w := f.do(cases.RoleAdmin, "POST", "/api/v1/cases/"+strconv.FormatInt(c.ID, 10)+"/hold", reason, nil); w.Code != http.StatusConflict {
			t.Errorf("second hold: %d", w.Code)
		}
		if w := f.do(cases.RoleAuditor, "GET", "/api/v1/holds", nil, &list); w.Code != http.StatusOK || len(list.Holds) != 1 || list.Holds[0].ID != h.ID {
			t.Errorf("list: %d %+v", w.Code, list)
		}
		if w := f.do(cases.RoleAdmin, "DELETE", path, []byte(`{"reason": "settled"}`), &h); w.Code != http.StatusOK ||
			h.ReleasedAt == nil || h.ReleaseReason != "settled" {
			t.Errorf("release: %d %+v", w.Code, h)
		}
		list.Holds = nil
		if w := f.do(cases.RoleReviewer, "GET", "/api/v1/holds", nil, &list); w.Code != http.StatusOK || len(list.Holds) != 0 {
			t.Errorf("active after release: %+v", list)
		}
		if w := f.do(cases.RoleReviewer, "GET", "/api/v1/holds?all=maybe", nil, nil); w.Code != http.StatusBadRequest {
			t.Errorf("bad all: %d", w.Code)
		}
		var timeline struct{ Events []cases.Event }
		f.do(cases.RoleAuditor, "GET", "/api/v1/cases/"+c.Number+"/events", nil, &timeline)
		actions := map[string]int{}
		for _, e := range timeline.Events {
			actions[e.Action]++
		}
		if actions["hold.place"] != 1 || actions["hold.release"] != 1 {
			t.Errorf("timeline: %v", actions)
		}
	})
}
