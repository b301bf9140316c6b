package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"envelope/cases"
	"envelope/cases/metadata"
	"envelope/cases/store/storetest"
)

// FuzzCollect posts arbitrary bodies to the collection endpoint through the
// real router, as the collector. The answer is never a 5xx and never a
// panic: a bad line is counted and named by its number, never fatal; the
// counts add up; and whatever the body, the only pairs stored involve the
// approved order's target inside its collection window.
func FuzzCollect(f *testing.F) {
	fx := newFixture(f, storetest.SQLite(f))
	fixClock(fx, collectNow)
	c := fx.penRegisterCase()
	md := metadata.New(fx.db)
	windows, err := md.Windows(ctx, c.ID)
	if err != nil || len(windows) != 1 {
		f.Fatalf("collection windows: %v %v", windows, err)
	}
	win := windows[0]
	f.Fuzz(func(t *testing.T, body []byte) {
		var ans struct {
			metadata.CollectResult
			Errors []lineError `json:"errors"`
		}
		// Not fx.do: the fixture's helpers report to the F, which a fuzz
		// target may not use.
		req := httptest.NewRequest("POST", "/api/v1/collect/events", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+fx.tokens[cases.RoleCollector])
		w := httptest.NewRecorder()
		fx.srv.ServeHTTP(w, req)
		switch w.Code {
		case http.StatusOK:
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			return
		default:
			t.Fatalf("answer %d: %s\n%q", w.Code, w.Body, body)
		}
		if err := json.Unmarshal(w.Body.Bytes(), &ans); err != nil {
			t.Fatalf("answer is not JSON: %v\n%s", err, w.Body)
		}
		lines := nonBlankLines(body)
		if ans.Received != int64(len(lines)) || ans.Kept+ans.ClockErrors+ans.Rejected > ans.Received {
			t.Fatalf("counts %+v for %d lines\n%q", ans.CollectResult, len(lines), body)
		}
		if int64(len(ans.Errors)) != min(ans.Rejected, maxReportedErrors) {
			t.Fatalf("%d errors listed for %d rejected lines", len(ans.Errors), ans.Rejected)
		}
		for _, e := range ans.Errors {
			if !lines[e.Line] {
				t.Fatalf("error names line %d, which is not a line of the body: %s\n%q", e.Line, e.Error, body)
			}
		}
		var stored int64
		err := md.Pairs(ctx, c.ID, func(p *metadata.Pair) error {
			stored++
			if (p.From != win.Target && p.To != win.Target) || !win.Active(p.At) {
				t.Fatalf("stored a pair outside the order: %+v (window %+v)\n%q", p, win, body)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if stored > ans.Kept {
			t.Fatalf("%d pairs stored, %d kept", stored, ans.Kept)
		}
		if _, err := fx.db.Writer().Exec("DELETE FROM collected_pairs"); err != nil {
			t.Fatal(err)
		}
	})
}

// nonBlankLines numbers the lines of an NDJSON body that hold anything
// but white space, from 1.
func nonBlankLines(body []byte) map[int64]bool {
	out := map[int64]bool{}
	for i, line := range bytes.Split(body, []byte("\n")) {
		if len(bytes.TrimSpace(line)) > 0 {
			out[int64(i+1)] = true
		}
	}
	return out
}
