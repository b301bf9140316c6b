package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"envelope/cases"
	"envelope/cases/store/storetest"
)

// An admin changes a role, disables and re-enables an account, resets a
// password, and cannot disable the last admin, all from the users page.
func TestPortalUserAdministration(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	intake, err := p.db.UserByEmail(ctx, p.emails[cases.RoleIntake])
	if err != nil {
		t.Fatal(err)
	}
	admin, err := p.db.UserByEmail(ctx, p.emails[cases.RoleAdmin])
	if err != nil {
		t.Fatal(err)
	}
	path := "/admin/users/" + itoa(intake.ID)
	save := func(id int64, role, state string) *http.Response {
		return p.page(cases.RoleAdmin, "POST", "/admin/users/"+itoa(id), url.Values{"role": {role}, "state": {state}}).Result()
	}

	if r := save(intake.ID, "reviewer", "active"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin/users?done=user-saved" {
		t.Fatalf("role change: %d", r.StatusCode)
	}
	// The user's current session carries the new role from the next request.
	if u, err := p.db.SessionUser(ctx, p.sessions[cases.RoleIntake]); err != nil || u.Role != cases.RoleReviewer {
		t.Fatalf("session after the role change: %+v %v", u, err)
	}
	page := p.page(cases.RoleAdmin, "GET", "/admin/users", nil).Body.String()
	if !regexp.MustCompile(`id="role-` + itoa(intake.ID) + `" name="role">.*<option value="reviewer" selected>`).MatchString(page) {
		t.Errorf("users page does not show the new role")
	}

	if r := save(intake.ID, "reviewer", "disabled"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable: %d", r.StatusCode)
	}
	if w := p.page(cases.RoleIntake, "GET", "/dashboard", nil); w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/login") {
		t.Errorf("a disabled user's session still works: %d", w.Code)
	}
	if w := p.do(cases.RoleIntake, "GET", "/api/v1/me", nil, nil); w.Code != http.StatusUnauthorized {
		t.Errorf("a disabled user's token still works: %d", w.Code)
	}
	if _, err := p.db.Authenticate(ctx, intake.Email, portalPassword); err == nil {
		t.Error("a disabled user signed in")
	}
	if r := save(intake.ID, "reviewer", "active"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("enable: %d", r.StatusCode)
	}

	w := p.page(cases.RoleAdmin, "POST", path+"/reset-password", url.Values{})
	m := regexp.MustCompile(`<code id="one-time-password">([^<]+)</code>`).FindStringSubmatch(w.Body.String())
	if w.Code != http.StatusOK || m == nil || !strings.Contains(w.Body.String(), "New one-time password for "+intake.Email) {
		t.Fatalf("reset: %d\n%s", w.Code, w.Body)
	}
	if u, err := p.db.Authenticate(ctx, intake.Email, m[1]); err != nil || !u.MustChangePassword {
		t.Errorf("sign-in with the reset password: %+v %v", u, err)
	}

	// The only admin: refused, on the page, and nothing changes.
	for _, c := range [][2]string{{"auditor", "active"}, {"admin", "disabled"}} {
		w := p.page(cases.RoleAdmin, "POST", "/admin/users/"+itoa(admin.ID), url.Values{"role": {c[0]}, "state": {c[1]}})
		if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "last enabled admin") {
			t.Errorf("last admin to %v: %d", c, w.Code)
		}
	}
	if u, err := p.db.SessionUser(ctx, p.sessions[cases.RoleAdmin]); err != nil || u.Role != cases.RoleAdmin {
		t.Errorf("the admin changed: %+v %v", u, err)
	}
	for _, bad := range []url.Values{{"role": {"root"}, "state": {"active"}}, {"role": {"auditor"}, "state": {"gone"}}} {
		if w := p.page(cases.RoleAdmin, "POST", path, bad); w.Code != http.StatusBadRequest {
			t.Errorf("bad form %v: %d", bad, w.Code)
		}
	}
	if w := p.page(cases.RoleAdmin, "POST", "/admin/users/999", url.Values{"role": {"auditor"}, "state": {"active"}}); w.Code != http.StatusNotFound {
		t.Errorf("unknown user: %d", w.Code)
	}
}
