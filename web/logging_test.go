package web

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// A whole session of secrets goes through the server: an admin adds a
// user (a one-time password), the user signs in with it (a session
// cookie), changes it (the new password), signs in again, mistypes it, and
// uses API tokens, a forged one included. No password, token or cookie
// value is anywhere in the log, nor in the database (which keeps hashes
// only); every log line carries the request ID its response was given.
func TestSecretsNeverLogged(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newPortal(t, db)
		var logBuf bytes.Buffer // the handler serialises its writes
		p.srv.Logger = slog.New(slog.NewJSONHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		var secrets []string
		var ids []string
		send := func(req *http.Request) *httptest.ResponseRecorder {
			t.Helper()
			w := httptest.NewRecorder()
			p.srv.ServeHTTP(w, req)
			ids = append(ids, w.Header().Get("X-Request-ID"))
			return w
		}
		form := func(path, cookie string, v url.Values) *httptest.ResponseRecorder {
			t.Helper()
			req := httptest.NewRequest("POST", path, strings.NewReader(v.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if cookie != "" {
				req.AddCookie(&http.Cookie{Name: SessionCookie, Value: cookie})
			}
			return send(req)
		}
		api := func(method, path, token, body string) *httptest.ResponseRecorder {
			t.Helper()
			req := httptest.NewRequest(method, path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			return send(req)
		}
		adminCookie := p.sessions[cases.RoleAdmin]
		secrets = append(secrets, adminCookie, p.tokens[cases.RoleIntake])

		w := form("/admin/users", adminCookie, url.Values{"email": {"newcomer@example.org"}, "role": {"intake"}})
		m := regexp.MustCompile(`<code id="one-time-password">([^<]+)</code>`).FindStringSubmatch(w.Body.String())
		if m == nil {
			t.Fatalf("add user: %d", w.Code)
		}
		oneTime := m[1]
		w = form("/login", "", url.Values{"email": {"newcomer@example.org"}, "password": {oneTime}})
		first := cookieOf(w)
		if first == nil {
			t.Fatalf("sign-in with the one-time password: %d", w.Code)
		}
		const chosen, mistyped = "my own secret passphrase 1", "my own secret passphrase 2"
		if w := form("/password", first.Value, url.Values{"current": {oneTime}, "password": {chosen}, "confirm": {chosen}}); w.Code != http.StatusSeeOther {
			t.Fatalf("password change: %d %s", w.Code, w.Body)
		}
		w = form("/login", "", url.Values{"email": {"newcomer@example.org"}, "password": {chosen}})
		second := cookieOf(w)
		if second == nil {
			t.Fatalf("sign-in with the new password: %d", w.Code)
		}
		form("/login", "", url.Values{"email": {"newcomer@example.org"}, "password": {mistyped}})
		token, err := db.CreateToken(ctx, "test", "newcomer@example.org")
		if err != nil {
			t.Fatal(err)
		}
		const forged = "env_forged-but-secret-looking-token"
		secrets = append(secrets, oneTime, first.Value, chosen, second.Value, mistyped, token, forged)

		for _, call := range [][3]string{
			{"GET", "/api/v1/me", ""}, {"POST", "/api/v1/cases", string(fixtureJSON(t, "subpoena.json"))},
			{"GET", "/api/v1/cases?q=" + url.QueryEscape(token), ""}, {"POST", "/api/v1/cases/1/notes", `{"body":"called the agency"}`},
			{"GET", "/api/v1/cases/1", ""},
		} {
			if w := api(call[0], call[1], token, call[2]); w.Code >= 300 {
				t.Fatalf("%s %s: %d %s", call[0], call[1], w.Code, w.Body)
			}
		}
		api("GET", "/api/v1/me", forged, "")
		api("GET", "/api/v1/cases/1", p.tokens[cases.RoleIntake], "")
		req := httptest.NewRequest("GET", "/dashboard", nil)
		req.AddCookie(&http.Cookie{Name: SessionCookie, Value: second.Value})
		send(req)
		form("/logout", second.Value, url.Values{})

		logs := logBuf.Bytes()
		lines := bytes.Split(bytes.TrimSpace(logs), []byte("\n"))
		if len(lines) < len(ids) {
			t.Fatalf("%d log lines for %d requests: the log was not captured", len(lines), len(ids))
		}
		for _, s := range secrets {
			if bytes.Contains(logs, []byte(s)) {
				t.Errorf("the log holds a secret %.12s…", s)
			}
		}
		logged := map[string]bool{}
		for _, line := range lines {
			var rec map[string]any
			if err := json.Unmarshal(line, &rec); err != nil {
				t.Fatalf("not a JSON log line: %s", line)
			}
			id, _ := rec["id"].(string)
			if len(id) != 16 {
				t.Errorf("log line without a request ID: %s", line)
			}
			logged[id] = true
		}
		for _, id := range ids {
			if !logged[id] {
				t.Errorf("request %s answered but not logged", id)
			}
		}
		// The database keeps hashes: no secret is in any of its text.
		for _, table := range []string{"users", "sessions", "api_tokens", "audit_events", "case_notes"} {
			rows, err := db.Reader().Queryx("SELECT * FROM " + table)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				vals, _ := rows.SliceScan()
				for _, v := range vals {
					b, _ := v.([]byte)
					text, _ := v.(string)
					for _, secret := range secrets {
						if strings.Contains(text+string(b), secret) {
							t.Errorf("%s stores a secret %.12s… in clear", table, secret)
						}
					}
				}
			}
			rows.Close()
		}
	})
}

// Every log call of the web server passes the request ID ("id"), so each
// line can be matched to the answer a user got (X-Request-ID). Checked on
// the source, so a log line added later cannot forget it.
func TestEveryServerLogLineHasTheRequestID(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	n := 0
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		// Attribute lists built ahead (attrs := []any{"id", id, ...}) and
		// passed as attrs... count when they hold "id".
		withID := map[string]bool{}
		ast.Inspect(f, func(node ast.Node) bool {
			if as, ok := node.(*ast.AssignStmt); ok && len(as.Lhs) == 1 && len(as.Rhs) == 1 {
				id, ok1 := as.Lhs[0].(*ast.Ident)
				lit, ok2 := as.Rhs[0].(*ast.CompositeLit)
				if ok1 && ok2 {
					withID[id.Name] = hasIDKey(lit.Elts)
				}
			}
			return true
		})
		ast.Inspect(f, func(node ast.Node) bool {
			call, ok := node.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || !isLoggerMethod(sel) {
				return true
			}
			n++
			if hasIDKey(call.Args[1:]) {
				return true
			}
			if last, ok := call.Args[len(call.Args)-1].(*ast.Ident); ok && call.Ellipsis.IsValid() && withID[last.Name] {
				return true
			}
			t.Errorf("%s: a log call without the request ID", fset.Position(call.Pos()))
			return true
		})
	}
	if n < 4 {
		t.Fatalf("found only %d log calls: the check is not seeing them", n)
	}
}

// hasIDKey reports whether a list of log attributes has the key "id".
func hasIDKey(args []ast.Expr) bool {
	for _, arg := range args {
		if lit, ok := arg.(*ast.BasicLit); ok && lit.Value == `"id"` {
			return true
		}
	}
	return false
}

// isLoggerMethod matches s.Logger.Info(...) and the like.
func isLoggerMethod(sel *ast.SelectorExpr) bool {
	switch sel.Sel.Name {
	case "Debug", "Info", "Warn", "Error", "Log":
	default:
		return false
	}
	inner, ok := sel.X.(*ast.SelectorExpr)
	return ok && inner.Sel.Name == "Logger"
}
