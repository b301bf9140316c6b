package web

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"envelope/cases"
	"envelope/cases/metadata"
	"envelope/cases/remind"
	"envelope/cases/retention"
	"envelope/cases/store"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// templateFuncs are the helpers templates may call. Only panelRows,
// caseRows, sortHead, optionTags and mainNav return template.HTML built
// from data, escaping every value themselves (portal_rows.go,
// portal_html.go); everywhere else html/template escapes.
var templateFuncs = template.FuncMap{
	"list":    func(s ...string) []string { return s },
	"iso":     func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"label":   label,
	"rule":    func(id string) string { return ruleText[id] },
	"dueText": dueText,
	"has": func(list []cases.Category, c cases.Category) bool {
		return slices.Contains(list, c)
	},
	"panelRows": panelRowsHTML,
	"deadlines": func(list []metadata.Deadline, unit string) map[string]any {
		return map[string]any{"List": list, "Unit": unit}
	},
	"caseRows": caseRowsHTML,
	"field":    func(f map[string]string, key string) string { return f[key] },
	"problem":  problemFor,
	"errid":    errID,
	"orgField": orgField,
	"join":     func(list []string) string { return strings.Join(list, ", ") },
	"add":      func(a, b int) int { return a + b },
	"canReview": func(u *cases.User) bool {
		return u != nil && (u.Role == cases.RoleReviewer || u.Role == cases.RoleSupervisor)
	},
	"canLog":       func(u *cases.User) bool { return u.CanLog() },
	"canHold":      retention.CanHold,
	"isAdmin":      func(u *cases.User) bool { return u != nil && admins(u) },
	"canAudit":     func(u *cases.User) bool { return u != nil && auditors(u) },
	"processTypes": func() []cases.ProcessType { return cases.ProcessTypes },
	"categories":   func() []cases.Category { return cases.Categories },
	"statuses":     func() []cases.Status { return cases.Statuses },
	"targetKinds":  func() []cases.TargetKind { return cases.TargetKinds },
	"vias":         func() []cases.Via { return cases.Vias },
	"str":          func(v any) string { return fmt.Sprint(v) },
	"chart": func(id string, c *barChart, labelAnchor, valueAnchor, tickAnchor string) map[string]any {
		return map[string]any{"ID": id, "C": c, "Width": c.Width, "Height": c.Height,
			"LabelAnchor": labelAnchor, "ValueAnchor": valueAnchor, "TickAnchor": tickAnchor}
	},
	"seq":        func(n int) []int { return make([]int, n) },
	"roles":      func() []cases.Role { return cases.Roles },
	"sortHead":   sortHead,
	"optionTags": optionTags,
	"mainNav":    mainNav,
	"measure":    measureText,
	"shortHash": func(h string) string {
		if len(h) > 16 {
			return h[:16] + "…"
		}
		return h
	},
}

// auditLabels are the words the portal shows for audit actions; the
// vocabulary's codes are labelled by cases.Label, the one table the PDFs
// use too.
var auditLabels = map[string]string{
	"case.create": "Logged", "case.import": "Imported", "case.decide": "Policy decision",
	"case.approve": "Approved", "case.reject": "Rejected", "case.note": "Note", "case.assign": "Assigned",
	"case.document": "Document uploaded", "case.status": "Status changed",
	"collection.open": "Collection window opened", "collection.close": "Collection window closed",
	"case.export": "Package produced", "preservation.freeze": "Records preserved",
	"preservation.extend": "Preservation extended", "preservation.purge": "Preserved records purged",
	"hold.place": "Legal hold placed", "hold.release": "Legal hold released",
	"retention.purge_pairs": "Collected pairs purged (retention)", "retention.purge_case": "Case data purged (retention)",
}

func label(v any) string {
	if l, ok := v.(interface{ Label() string }); ok {
		return l.Label()
	}
	s := fmt.Sprint(v)
	if l, ok := auditLabels[s]; ok {
		return l
	}
	if s == "" {
		return "Direct"
	}
	return cases.Label(s)
}

// ruleText explains each rule of the default policy (shared/domain.md) in a
// sentence, so a decision reads without the policy file at hand.
var ruleText = map[string]string{
	"GLOBAL-CONTENT":       "Message content is never disclosed: it is end-to-end encrypted and out of scope.",
	"GLOBAL-TARGETS":       "Each target must be one specific account (no wildcards), at most 25 targets.",
	"GLOBAL-PROCESS-VALID": "Legal process needs an issuing authority, a reference and an issue date, and must not have expired.",
	"GLOBAL-REQUESTER":     "The requester's email domain is not one of the agency's verified domains: a person must check the request is genuine.",
	"JURIS-PROCESS":        "US process types are valid only from US agencies; foreign orders only from agencies outside the US.",
	"US-SUBPOENA":          "A subpoena compels basic subscriber records only (18 U.S.C. 2703(c)(2)).",
	"US-NSL":               "A national security letter compels name, address, length of service and toll records only.",
	"US-2703D":             "A 2703(d) order compels subscriber records and other non-content records.",
	"US-WARRANT":           "A search warrant compels the 2703(d) categories plus contacts.",
	"US-PEN-REGISTER":      "A pen register order compels prospective message pairs and IP logs, never content, for at most 60 days.",
	"US-TITLE-III":         "A wiretap order asks for content, which envelope cannot provide.",
	"PR-WINDOW":            "Prospective collection is limited to the order's effective date plus 60 days, and its expiry.",
	"FOREIGN-PMP":          "Court orders from GB, BR and IN may receive subscriber info, message pairs and IP logs.",
	"FOREIGN-CLOUD-ACT":    "UK orders under the US-UK CLOUD Act agreement may also receive the 2703(d) categories.",
	"FOREIGN-BASIC":        "Other foreign requests receive basic subscriber information only.",
	"EMERGENCY":            "Emergency requests may receive limited records once a supervisor signs off; imminent harm must be asserted.",
	"PRESERVATION":         "Nothing is disclosed; the records are preserved for 90 days.",
	"FISA":                 "FISA process is handled by the restricted team; a person decides.",
}

// dueClass grades a deadline for highlighting: overdue, today, soon (within
// three days) or "".
func dueClass(due *time.Time, now time.Time, status cases.Status, loc *time.Location) string {
	if due == nil || (status != cases.StatusReceived && status != cases.StatusApproved) {
		return ""
	}
	switch {
	case due.Before(now):
		return "overdue"
	case due.Before(endOfDay(now, loc)):
		return "today"
	case due.Before(now.Add(72 * time.Hour)):
		return "soon"
	}
	return ""
}

func dueText(class string) string {
	return map[string]string{"overdue": "overdue", "today": "due today", "soon": "due soon"}[class]
}

// endOfDay is the end of t's day in loc, the zone shown.
func endOfDay(t time.Time, loc *time.Location) time.Time { return cases.NextDay(t, loc) }

// dashboardData holds the lists of the dashboard, most urgent first.
type dashboardData struct {
	Emergencies, Overdue, DueToday, Mine, Awaiting []listRow
	// Closing and Expiring are the collection windows ending soon and the
	// preservation holds running out (deadlinePanels).
	Closing, Expiring []metadata.Deadline
	// Lapsing are nondisclosure orders lapsing or lapsed, notice not
	// recorded (web/notices.go).
	Lapsing []store.NoticeItem
	// More says which panels show only the first of their cases.
	More map[string]bool
	// Unverified are the cases waiting for a callback (portal_identity.go).
	Unverified []unverifiedRow
	// Alerts are the deadline alerts on open cases (cases/remind).
	Alerts []*remind.Alert
	// Undelivered are the agency cases' packages not downloaded within
	// UndeliveredDays (agency_delivery.go).
	Undelivered     []store.Undelivered
	UndeliveredDays int
}

// openCases lists at most f.Limit open cases (received or approved, i.e. not
// yet answered) matching f, soonest due first, and whether there are more.
// byDue picks the soonest due of each status (the deadline panels: a range
// scan of the (status, due_at) index); otherwise the newest of each.
func (s *Server) openCases(c *gin.Context, f cases.CaseFilter, byDue bool) ([]*cases.Summary, bool, error) {
	statuses := queueStatuses(f.Assignee != "")
	var out []*cases.Summary
	var err error
	if byDue || f.DueBefore != nil || f.DueAfter != nil {
		out, err = s.openCasesByDue(c, f, statuses, byDue)
	} else {
		// Every status's newest page in one statement: "my queue" is on
		// every dashboard, and on PostgreSQL each statement is a round
		// trip to another process (issue 18).
		f.NotProcess = ""
		out, err = s.DB.NewestByStatus(c.Request.Context(), f, statuses)
	}
	if err != nil {
		return nil, false, err
	}
	slices.SortStableFunc(out, func(a, b *cases.Summary) int {
		switch {
		case a.DueAt == nil && b.DueAt == nil:
			return 0
		case a.DueAt == nil:
			return 1
		case b.DueAt == nil:
			return -1
		}
		return a.DueAt.Compare(*b.DueAt)
	})
	if len(out) > f.Limit {
		return out[:f.Limit], true, nil
	}
	return out, false, nil
}

// openCasesByDue reads openCases's pages one status at a time: the due
// date panels' pages (a range scan of the (status, due_at) index each).
func (s *Server) openCasesByDue(c *gin.Context, f cases.CaseFilter, statuses []cases.Status, byDue bool) ([]*cases.Summary, error) {
	key := ""
	if byDue {
		key = "due"
	}
	var out []*cases.Summary
	for _, st := range statuses {
		f.Status = st
		// An approved preservation request is done once its records are
		// frozen: it has no deadline left to miss.
		f.NotProcess = ""
		if st == cases.StatusApproved && (f.DueBefore != nil || f.DueAfter != nil) {
			f.NotProcess = cases.Preservation
		}
		page, err := s.DB.ListSummaries(c.Request.Context(), f, key, false, "")
		if err != nil {
			return nil, err
		}
		out = append(out, page.Cases...)
	}
	return out, nil
}

// Dashboard panel sizes: the most urgent few, each with a link to the full
// list. A page of a few dozen rows renders in a few milliseconds.
const (
	panelRows   = 10
	panelRowsXL = 15 // due today and my queue
)

func (s *Server) dashboard(c *gin.Context) {
	now := s.Now()
	shared, err := s.sharedPanels(c, now)
	if err != nil {
		s.portalFail(c, err)
		return
	}
	d := *shared
	d.More = maps.Clone(shared.More)
	list, more, err := s.openCases(c, cases.CaseFilter{Assignee: currentUser(c).Email, Limit: panelRowsXL}, false)
	if err != nil {
		s.portalFail(c, err)
		return
	}
	d.Mine, d.More["mine"] = listRows(list, now, s.viewZone(c)), more
	s.render(c, http.StatusOK, "dashboard", "Dashboard", d)
}

// The dashboard's panels other than "my queue" are the same for everyone,
// and were nine of its eleven queries (with the unverified requests and
// the alerts, eleven of thirteen): with 50 people on the dashboard,
// each page read the same rows again (docs/performance.md). They are kept
// for up to panelsMaxAge, and read again sooner after any write this
// server commits, so someone who has just logged or approved a case sees
// it at once; a write by another process (a CLI import, another server on
// PostgreSQL) shows within panelsMaxAge and the time of one reading.
const panelsMaxAge = time.Second

// panelCache is the last reading of the shared panels.
type panelCache struct {
	mu      sync.Mutex
	at      time.Time // the clock when they were read
	commits uint64    // s.DB.Commits() then
	zone    string    // the zone their times are shown in
	panels  *dashboardData
	reading bool // a request is reading an aged copy's successor
}

// sharedPanels returns the shared panels as of at most panelsMaxAge before
// now, reading them if the copy kept is from before a write, from a
// different clock (tests move it) or older. A copy that is only older is
// read again by one request while the others show it meanwhile: read
// under the lock, the eleven queries held every dashboard request of that
// moment (on PostgreSQL, where each query crosses to another process, the
// dashboard's p99 was twice SQLite's; issue 18).
func (s *Server) sharedPanels(c *gin.Context, now time.Time) (*dashboardData, error) {
	pc := &s.panels
	pc.mu.Lock()
	commits := s.DB.Commits()
	zone := s.viewZone(c).String()
	p := pc.panels
	current := p != nil && commits == pc.commits && zone == pc.zone && !now.Before(pc.at)
	switch {
	case current && (now.Sub(pc.at) < panelsMaxAge || pc.reading):
		pc.mu.Unlock()
		return p, nil
	case current:
		pc.reading = true
		pc.mu.Unlock()
		d, err := s.readSharedPanels(c, now)
		pc.mu.Lock()
		defer pc.mu.Unlock()
		pc.reading = false
		if err != nil {
			return nil, err
		}
		// A request that saw a write may have stored a newer reading
		// meanwhile; commits is from before this one, so a write during
		// it makes the next request read again.
		if !now.Before(pc.at) {
			pc.panels, pc.at, pc.commits, pc.zone = d, now, commits, zone
		}
		return d, nil
	}
	defer pc.mu.Unlock()
	d, err := s.readSharedPanels(c, now)
	if err != nil {
		return nil, err
	}
	pc.panels, pc.at, pc.commits, pc.zone = d, now, commits, zone
	return d, nil
}

// readSharedPanels reads the panels everyone sees.
func (s *Server) readSharedPanels(c *gin.Context, now time.Time) (*dashboardData, error) {
	eod := endOfDay(now, s.viewZone(c))
	d := &dashboardData{More: map[string]bool{}}
	for _, p := range []struct {
		name  string
		dst   *[]listRow
		f     cases.CaseFilter
		byDue bool
	}{
		{"emergency", &d.Emergencies, cases.CaseFilter{Process: cases.Emergency, Limit: panelRows}, false},
		{"overdue", &d.Overdue, cases.CaseFilter{DueBefore: &now, Limit: panelRows}, true},
		{"today", &d.DueToday, cases.CaseFilter{DueAfter: &now, DueBefore: &eod, Limit: panelRowsXL}, true},
	} {
		list, more, err := s.openCases(c, p.f, p.byDue)
		if err != nil {
			return nil, err
		}
		*p.dst, d.More[p.name] = listRows(list, now, s.viewZone(c)), more
	}
	page, err := s.DB.ListSummaries(c.Request.Context(), cases.CaseFilter{Status: cases.StatusReceived, Limit: panelRows}, "", true, "")
	if err != nil {
		return nil, err
	}
	d.Awaiting = listRows(page.Cases, now, s.viewZone(c))
	if d.Lapsing, err = s.lapsingPanel(c, now); err != nil {
		return nil, err
	}
	if err := s.deadlinePanels(c, now, d); err != nil {
		return nil, err
	}
	// Unverified requests and deadline alerts are the same for everyone
	// too; read per page, the alerts' join was most of a PostgreSQL
	// dashboard's database time (issue 18).
	if d.Unverified, err = s.unverifiedRows(c); err != nil {
		return nil, err
	}
	if d.Alerts, err = remind.Active(c.Request.Context(), s.DB, panelRows); err != nil {
		return nil, err
	}
	if d.Undelivered, err = s.undeliveredPanel(c.Request.Context(), now); err != nil {
		return nil, err
	}
	d.UndeliveredDays = int(s.Agency.DeliveryOverdue.Hours() / 24)
	return d, nil
}

// listData is the case list page.
type listData struct {
	Status, Country, Process, Q, Due string
	Assignee                         string
	Fields                           map[string]string
	Rows                             []listRow
	NextURL                          string
	FirstURL                         string
	First                            bool
	// Sort is the sorted column ("" for newest first), Desc its direction;
	// SortURLs link each sortable column's header to the list sorted by it
	// (or, when it is the sorted one, the other way).
	Sort     string
	Desc     bool
	SortURLs map[string]string
}

// StatusOptions and ProcessOptions are the filter form's choices.
func (d listData) StatusOptions() []option  { return options(cases.Statuses, d.Status) }
func (d listData) ProcessOptions() []option { return options(cases.ProcessTypes, d.Process) }

// SortName describes the order of the list, for its caption.
func (d listData) SortName() string {
	switch {
	case d.Sort == "":
		return "Newest first"
	case d.Sort == "due" && d.Desc:
		return "Latest due date first (no due date last)"
	case d.Sort == "due":
		return "Soonest due first (no due date last)"
	case d.Sort == "received" && d.Desc:
		return "Most recently received first"
	case d.Sort == "received":
		return "Oldest received first"
	case d.Desc:
		return "By case number, descending"
	}
	return "By case number, ascending"
}

// AriaSort is the aria-sort value of a column header.
func (d listData) AriaSort(key string) string {
	if d.Sort != key {
		return ""
	}
	if d.Desc {
		return "descending"
	}
	return "ascending"
}

func (d listData) ErrorText() string {
	if len(d.Fields) == 0 {
		return ""
	}
	// The filters with an input on the form show their error beside it;
	// the others (sort, dir, cursor, limit, dates from a link) are named here.
	var named []string
	for _, k := range slices.Sorted(maps.Keys(d.Fields)) {
		if k != "status" && k != "country" && k != "process" && k != "due" {
			named = append(named, k+": "+d.Fields[k])
		}
	}
	if len(named) == 0 {
		return "Some filters are not valid."
	}
	return "Some filters are not valid: " + strings.Join(named, "; ") + "."
}

// defaultDesc is the direction a column sorts in when first chosen: the
// newest received and the highest number first, the soonest due first.
var defaultDesc = map[string]bool{"received": true, "number": true, "due": false}

// casesPage lists cases with the API's filters plus a "due" shortcut, newest
// first or sorted by a column (sort=received|due|number, dir=asc|desc), a
// page at a time by keyset cursor: after= (an id) newest first, cursor=
// (the last row's value and id) when sorted.
func (s *Server) casesPage(c *gin.Context) {
	d := listData{Status: c.Query("status"), Country: c.Query("country"), Process: c.Query("process"),
		Q: c.Query("q"), Due: c.Query("due"), First: c.Query("after") == "" && c.Query("cursor") == "",
		Sort: c.Query("sort"), Assignee: c.Query("assignee")}
	f, err := parseFilter(c)
	if err != nil {
		d.Fields = cases.ErrorFields(err)
		s.render(c, http.StatusBadRequest, "cases", "Cases", d)
		return
	}
	// A deadline filter lists by deadline, soonest first, unless another
	// order is asked for: the useful order, and an index range scan where
	// newest first would skip every newer case outside the range.
	if d.Sort == "" && d.Due != "" && c.Query("after") == "" {
		d.Sort = "due"
	}
	if d.Sort != "" && !slices.Contains(store.SortKeys, d.Sort) {
		d.Fields = map[string]string{"sort": "choose received, due or number"}
		d.Sort = ""
		s.render(c, http.StatusBadRequest, "cases", "Cases", d)
		return
	}
	switch c.Query("dir") {
	case "":
		d.Desc = defaultDesc[d.Sort]
	case "asc", "desc":
		d.Desc = c.Query("dir") == "desc"
	default:
		d.Fields = map[string]string{"dir": "choose asc or desc"}
		s.render(c, http.StatusBadRequest, "cases", "Cases", d)
		return
	}
	d.sortLinks(c)
	now := s.Now()
	eod, week := endOfDay(now, s.viewZone(c)), now.Add(7*24*time.Hour)
	switch d.Due {
	case "":
	case "overdue":
		f.DueBefore = &now
	case "today":
		f.DueAfter, f.DueBefore = &now, &eod
	case "week":
		f.DueAfter, f.DueBefore = &now, &week
	default:
		d.Fields = map[string]string{"due": "choose overdue, today or week"}
		s.render(c, http.StatusBadRequest, "cases", "Cases", d)
		return
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	q := c.Request.URL.Query()
	q.Del("after")
	q.Del("cursor")
	d.FirstURL = "/cases?" + q.Encode()
	page, err := s.DB.ListSummaries(c.Request.Context(), f, d.Sort, d.Desc, c.Query("cursor"))
	if err != nil {
		if cases.ErrorCode(err) == cases.EINVALID {
			d.Fields = cases.ErrorFields(err)
			s.render(c, http.StatusBadRequest, "cases", "Cases", d)
			return
		}
		s.portalFail(c, err)
		return
	}
	d.Rows = listRows(page.Cases, now, s.viewZone(c))
	if page.Next != "" {
		// Newest first pages by id (after=), a sorted list by cursor.
		if d.Sort == "" {
			q.Set("after", page.Next)
		} else {
			q.Set("cursor", page.Next)
		}
		d.NextURL = "/cases?" + q.Encode()
	}
	s.render(c, http.StatusOK, "cases", "Cases", d)
}

// sortLinks sets the column headers' links: the current filters, sorted by
// the column, from the first page.
func (d *listData) sortLinks(c *gin.Context) {
	d.SortURLs = map[string]string{}
	for _, key := range store.SortKeys {
		q := c.Request.URL.Query()
		q.Del("after")
		q.Del("cursor")
		q.Set("sort", key)
		desc := defaultDesc[key]
		if d.Sort == key {
			desc = !d.Desc
		}
		q.Set("dir", map[bool]string{true: "desc", false: "asc"}[desc])
		d.SortURLs[key] = "/cases?" + q.Encode()
	}
}

// caseData is the case page.
type caseData struct {
	Case     *cases.Case
	Events   []timelineEntry
	Fields   map[string]string
	Message  string
	Note     string
	Mine     bool
	Document *cases.Document
	Identity *identity
	*disclosure
	*casework
	// Thread is the correspondence with the agency (thread.go).
	Thread *threadData
}

func (d caseData) ErrorText() string { return d.Message }

type timelineEntry struct {
	*cases.Event
	Detail string
}

func (s *Server) loadCase(c *gin.Context) (*caseData, error) {
	kase, err := s.DB.Case(c.Request.Context(), c.Param("id"))
	if err != nil {
		return nil, err
	}
	evs, err := s.DB.Events(c.Request.Context(), "case", itoa(kase.ID))
	if err != nil {
		return nil, err
	}
	s.applyClocks(c, kase, evs)
	disc, err := s.loadDisclosure(c, kase)
	if err != nil {
		return nil, err
	}
	work, err := s.loadCasework(c, kase)
	if err != nil {
		return nil, err
	}
	thread, err := s.loadThread(c.Request.Context(), kase.ID)
	if err != nil {
		return nil, err
	}
	d := &caseData{Case: kase, Mine: strings.EqualFold(kase.CreatedBy, currentUser(c).Email), disclosure: disc, Identity: caseIdentity(kase), casework: work, Thread: thread}
	for _, e := range evs {
		d.Events = append(d.Events, timelineEntry{Event: e, Detail: eventDetail(e)})
	}
	return d, nil
}

// eventDetail summarises an audit event in a line.
func eventDetail(e *cases.Event) string {
	var after map[string]any
	json.Unmarshal(e.After, &after)
	switch e.Action {
	case "case.decide":
		return fmt.Sprintf("outcome %v", label(after["outcome"]))
	case "case.approve", "case.reject", "case.status":
		if n, _ := after["note"].(string); n != "" {
			return fmt.Sprintf("%v: %s", label(after["status"]), n)
		}
		return label(after["status"])
	case "case.note":
		b, _ := after["body"].(string)
		if len(b) > 120 {
			b = b[:120] + "…"
		}
		return b
	case "case.document":
		return fmt.Sprintf("%v (SHA-256 %v)", after["filename"], after["sha256"])
	case "case.export":
		return fmt.Sprintf("%v, %v records (SHA-256 %v)", after["package"], after["records"], after["sha256"])
	case "hold.place", "hold.release":
		r, _ := after["reason"].(string)
		return r
	case "case.assign":
		return fmt.Sprintf("to %v", after["assignee"])
	}
	return ""
}

func (s *Server) casePage(c *gin.Context) {
	d, err := s.loadCase(c)
	if err != nil {
		s.portalFail(c, err)
		return
	}
	s.render(c, http.StatusOK, "case", d.Case.Number, d)
}

// caseFormError re-renders the case page with an error from one of its
// forms, at the error's status: the four-eyes refusal reads as a sentence
// on the page, not as a bare 403.
func (s *Server) caseFormError(c *gin.Context, err error, note string) {
	code := cases.ErrorCode(err)
	if code == cases.EINTERNAL || code == cases.ENOTFOUND {
		s.portalFail(c, err)
		return
	}
	d, lerr := s.loadCase(c)
	if lerr != nil {
		s.portalFail(c, lerr)
		return
	}
	d.Message, d.Fields, d.Note = cases.ErrorMessage(err), cases.ErrorFields(err), note
	if code == cases.EINVALID && len(d.Fields) > 0 {
		d.Message = "Please correct these fields:"
	}
	s.render(c, statusOf(code), "case", d.Case.Number, d)
}

func (s *Server) reviewSubmit(c *gin.Context) {
	note := c.PostForm("note")
	var verdict cases.Status
	switch c.PostForm("verdict") {
	case "approve":
		verdict = cases.StatusApproved
	case "reject":
		verdict = cases.StatusRejected
	default:
		s.caseFormError(c, cases.Invalid(map[string]string{"verdict": "choose approve or reject"}), note)
		return
	}
	kase, err := s.DB.Review(c.Request.Context(), currentUser(c), c.Param("id"), verdict, note)
	if err != nil {
		s.caseFormError(c, err, note)
		return
	}
	c.Redirect(http.StatusSeeOther, "/cases/"+itoa(kase.ID)+"?done="+string(verdict))
}

func (s *Server) noteSubmit(c *gin.Context) {
	body := c.PostForm("body")
	if err := s.DB.AddNote(c.Request.Context(), currentUser(c), c.Param("id"), body); err != nil {
		s.caseFormError(c, err, "")
		return
	}
	c.Redirect(http.StatusSeeOther, "/cases/"+url.PathEscape(c.Param("id"))+"?done=note#notes")
}

// formFile reads an optional uploaded file from a multipart form, bounded.
// It returns nil content when no file was chosen.
func formFile(c *gin.Context, name string) (string, []byte, error) {
	fh, err := c.FormFile(name)
	if err == http.ErrMissingFile {
		return "", nil, nil
	} else if err != nil {
		return "", nil, tooLargeOr(err, cases.Invalid(map[string]string{name: "could not be read"}))
	}
	if fh.Size == 0 && fh.Filename == "" {
		return "", nil, nil
	}
	if fh.Size > cases.MaxDocumentSize {
		return "", nil, &cases.Error{Code: cases.ETOOLARGE, Message: "document too large", Fields: map[string]string{name: "is larger than 20 MiB"}}
	}
	f, err := fh.Open()
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	return fh.Filename, b, err
}

// limitUpload bounds a form post that may carry a document.
func limitUpload(c *gin.Context) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, cases.MaxDocumentSize+1<<20)
}

func (s *Server) documentSubmit(c *gin.Context) {
	limitUpload(c)
	name, content, err := formFile(c, "document")
	if err == nil && content == nil {
		err = cases.Invalid(map[string]string{"document": "choose a PDF file"})
	}
	if err == nil {
		_, err = s.DB.AttachDocument(c.Request.Context(), currentUser(c), c.Param("id"), name, content)
	}
	if err != nil {
		s.caseFormError(c, err, "")
		return
	}
	c.Redirect(http.StatusSeeOther, "/cases/"+url.PathEscape(c.Param("id"))+"?done=document")
}

func (s *Server) documentDownload(c *gin.Context) {
	doc, r, err := s.DB.OpenDocument(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.portalFail(c, err)
		return
	}
	sendDocument(c, doc, r)
}
