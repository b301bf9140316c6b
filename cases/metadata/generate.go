package metadata

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"envelope/cases"
)

// GenerateOptions shape a generated data set.
type GenerateOptions struct {
	Accounts int
	Seed     uint64
	// Include names accounts that must be among those generated (the
	// targets of demo cases, say); the rest are drawn at random.
	Include []string
	// End is when the generated history ends (default DefaultGenerateEnd):
	// the same options always give the same bytes.
	End time.Time
}

// DefaultGenerateEnd is the default end of generated history.
var DefaultGenerateEnd = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// GenerateStats counts what Generate wrote.
type GenerateStats struct {
	Lines  int64          `json:"lines"`
	ByKind map[Kind]int64 `json:"by_kind"`
}

// country is a numbering plan to draw plausible mobile numbers from: a
// pattern whose 'N' is a digit 2-9 and 'X' any digit.
type country struct {
	code, cc, lang, tz string // ISO code, calling code, language, time zone
	patterns           []string
	weight             int
	ipFirst            []int
}

var countries = []country{
	{"US", "+1", "en-US", "America/New_York", []string{"+1212NXXXXXX", "+1415NXXXXXX", "+1312NXXXXXX", "+1617NXXXXXX", "+1305NXXXXXX", "+1206NXXXXXX", "+1512NXXXXXX", "+1702NXXXXXX"}, 30, []int{24, 73, 98, 174}},
	{"GB", "+44", "en-GB", "Europe/London", []string{"+4479XXXXXXXX", "+4475XXXXXXXX", "+4477XXXXXXXX"}, 10, []int{81, 86, 92}},
	{"BR", "+55", "pt-BR", "America/Sao_Paulo", []string{"+55119XXXXXXXX", "+55219XXXXXXXX", "+55319XXXXXXXX"}, 14, []int{177, 179, 189}},
	{"IN", "+91", "hi-IN", "Asia/Kolkata", []string{"+919XXXXXXXXX", "+918XXXXXXXXX", "+917XXXXXXXXX"}, 18, []int{49, 103, 117}},
	{"DE", "+49", "de-DE", "Europe/Berlin", []string{"+49151XXXXXXXX", "+49170XXXXXXX", "+49176XXXXXXXX"}, 6, []int{79, 84, 93}},
	{"FR", "+33", "fr-FR", "Europe/Paris", []string{"+336XXXXXXXX", "+337XXXXXXXX"}, 5, []int{82, 90, 176}},
	{"MX", "+52", "es-MX", "America/Mexico_City", []string{"+5255NXXXXXXX", "+5233NXXXXXXX"}, 6, []int{187, 189, 201}},
	{"NG", "+234", "en-NG", "Africa/Lagos", []string{"+234803XXXXXXX", "+234806XXXXXXX", "+234813XXXXXXX"}, 4, []int{102, 105, 197}},
	{"ID", "+62", "id-ID", "Asia/Jakarta", []string{"+62812XXXXXXXX", "+62857XXXXXXX"}, 5, []int{36, 110, 114}},
	{"ES", "+34", "es-ES", "Europe/Madrid", []string{"+346XXXXXXXX"}, 2, []int{79, 83, 88}},
}

var (
	firstNames = []string{"Ana", "Arjun", "Bea", "Carlos", "Chidi", "Dana", "Dewi", "Elena", "Emma", "Felipe", "Hannah", "Ibrahim",
		"Jonas", "Kavya", "Léa", "Liam", "Lucía", "Mateo", "Mei", "Noah", "Olu", "Priya", "Rafael", "Sofia", "Tariq", "Yusuf", "Zoe"}
	lastNames = []string{"Adeyemi", "Almeida", "Becker", "Dubois", "García", "Hernández", "Iyer", "Johnson", "Kumar", "Lee", "Martin",
		"Müller", "Nguyen", "Okafor", "Patel", "Reyes", "Santoso", "Silva", "Smith", "Williams", "Wijaya"}
	abouts     = []string{"Hey there! I am using the app.", "Available", "Busy", "At work", "Only urgent calls", "🌴 on holiday", "Battery about to die", ""}
	groupWords = []string{"Family", "Football", "Book club", "Neighbours", "Class of 2019", "Office", "Hiking", "Parents", "Band", "Trip"}
	models     = map[string][]string{"iOS": {"iPhone 13", "iPhone 14 Pro", "iPhone 15", "iPhone SE"}, "Android": {"Pixel 8", "Galaxy S23", "Galaxy A54", "Redmi Note 12", "Moto G84"}}
	osVersions = map[string][]string{"iOS": {"16.7", "17.4", "17.6", "18.1"}, "Android": {"12", "13", "14"}}
	services   = []string{"instagram", "facebook", "threads"}
	actions    = []string{"report", "report", "temporary_ban", "ban", "appeal"}
	reasons    = []string{"spam", "bulk_messaging", "impersonation", "terms_of_service"}
	msgKinds   = []string{"text", "text", "text", "text", "text", "text", "text", "media", "media", "call", "group"}
)

// Phones returns n distinct, valid E.164 mobile numbers across countries
// (checked with cases.ValidPhone), the same ones for the same seed.
func Phones(n int, seed uint64) []string {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	out, _ := phones(rng, n)
	return out
}

func phones(rng *rand.Rand, n int) ([]string, []*country) {
	total := 0
	for _, c := range countries {
		total += c.weight
	}
	seen := make(map[string]bool, n)
	nums := make([]string, 0, n)
	where := make([]*country, 0, n)
	for len(nums) < n {
		pick := rng.IntN(total)
		c := &countries[0]
		for i := range countries {
			if pick < countries[i].weight {
				c = &countries[i]
				break
			}
			pick -= countries[i].weight
		}
		p := fill(rng, c.patterns[rng.IntN(len(c.patterns))])
		if seen[p] || cases.ValidPhone(p) != "" {
			continue
		}
		seen[p] = true
		nums = append(nums, p)
		where = append(where, c)
	}
	return nums, where
}

func fill(rng *rand.Rand, pattern string) string {
	b := []byte(pattern)
	for i, c := range b {
		switch c {
		case 'X':
			b[i] = byte('0' + rng.IntN(10))
		case 'N':
			b[i] = byte('2' + rng.IntN(8))
		}
	}
	return string(b)
}

// Generate writes a realistic, deterministic metadata data set as NDJSON
// records: subscribers across countries, their profiles, devices, IP
// sessions, groups, linked accounts, enforcement history, address books
// and a message graph in which a few heavy hitters send and receive much
// of the traffic, as real graphs do.
func Generate(w io.Writer, opt GenerateOptions) (GenerateStats, error) {
	if opt.Accounts <= 0 {
		return GenerateStats{}, cases.Invalid(map[string]string{"accounts": "must be at least 1"})
	}
	for i, a := range opt.Include {
		if msg := checkAccount(a); msg != "" {
			return GenerateStats{}, cases.Invalid(map[string]string{fmt.Sprintf("include[%d]", i): msg})
		}
	}
	opt.Accounts = max(opt.Accounts, len(opt.Include))
	if opt.End.IsZero() {
		opt.End = DefaultGenerateEnd
	}
	g := &generator{
		rng:   rand.New(rand.NewPCG(opt.Seed, 0x9e3779b97f4a7c15)),
		end:   opt.End.UTC().Truncate(time.Second),
		out:   bufio.NewWriterSize(w, 64<<10),
		stats: GenerateStats{ByKind: map[Kind]int64{}},
	}
	g.enc = json.NewEncoder(g.out)
	g.enc.SetEscapeHTML(false)
	g.accounts, g.country = phones(g.rng, opt.Accounts)
	g.include(opt.Include)
	g.plan()
	for i := range g.accounts {
		if err := g.account(i); err != nil {
			return g.stats, err
		}
	}
	return g.stats, g.out.Flush()
}

type generator struct {
	rng      *rand.Rand
	end      time.Time
	out      *bufio.Writer
	enc      *json.Encoder
	stats    GenerateStats
	accounts []string
	country  []*country
	hubs     []int   // heavy hitters, by account index
	groups   [][]int // members of each group
	memberOf [][]int // groups of each account
	contacts [][]int // address book of each account
}

// include puts the given accounts first, each once, in place of drawn ones.
// An included phone number gets the country of its calling code, so that
// its language and addresses fit it.
func (g *generator) include(accounts []string) {
	var accts []string
	var where []*country
	for _, a := range accounts {
		if !contains(accts, a) {
			accts = append(accts, a)
			where = append(where, countryOf(a, g.country[len(where)%len(g.country)]))
		}
	}
	for i, a := range g.accounts {
		if len(accts) == len(g.accounts) {
			break
		}
		if !contains(accounts, a) {
			accts = append(accts, a)
			where = append(where, g.country[i])
		}
	}
	g.accounts, g.country = accts, where
}

// countryOf finds the country of a phone number's calling code, or
// returns def.
func countryOf(account string, def *country) *country {
	for i := range countries {
		if strings.HasPrefix(account, countries[i].cc) {
			return &countries[i]
		}
	}
	return def
}

// plan draws the social graph first, so that group sizes and contacts are
// consistent across the records that mention them.
func (g *generator) plan() {
	n := len(g.accounts)
	for i := 0; i < max(1, n/50); i++ {
		g.hubs = append(g.hubs, g.rng.IntN(n))
	}
	g.groups = make([][]int, max(1, n/8))
	g.memberOf = make([][]int, n)
	g.contacts = make([][]int, n)
	for a := 0; a < n; a++ {
		for k := g.rng.IntN(4); k > 0; k-- {
			// Squaring skews membership toward low-numbered groups, so a
			// few are large and most are small.
			u := g.rng.Float64()
			grp := int(u * u * float64(len(g.groups)))
			if !contains(g.memberOf[a], grp) {
				g.memberOf[a] = append(g.memberOf[a], grp)
				g.groups[grp] = append(g.groups[grp], a)
			}
		}
		for k := 3 + g.rng.IntN(20); k > 0 && n > 1; k-- {
			c := g.pickPeer(a)
			if !contains(g.contacts[a], c) {
				g.contacts[a] = append(g.contacts[a], c)
			}
		}
	}
}

// pickPeer picks someone for a to know or message: often a heavy hitter,
// usually someone in a's groups, sometimes anyone.
func (g *generator) pickPeer(a int) int {
	for {
		var p int
		switch r := g.rng.IntN(10); {
		case r < 3:
			p = g.hubs[g.rng.IntN(len(g.hubs))]
		case r < 8 && len(g.memberOf[a]) > 0:
			members := g.groups[g.memberOf[a][g.rng.IntN(len(g.memberOf[a]))]]
			p = members[g.rng.IntN(len(members))]
		default:
			p = g.rng.IntN(len(g.accounts))
		}
		if p != a || len(g.accounts) == 1 {
			return p
		}
	}
}

func (g *generator) emit(r Record) error {
	g.stats.Lines++
	g.stats.ByKind[r.header().Kind]++
	return g.enc.Encode(r)
}

func (g *generator) header(k Kind, a int) Header { return Header{Kind: k, Account: g.accounts[a]} }

func (g *generator) ago(max time.Duration) time.Time {
	return g.end.Add(-time.Duration(g.rng.Int64N(int64(max)))).Truncate(time.Second)
}

func (g *generator) ip(a int) string {
	c := g.country[a]
	if g.rng.IntN(5) == 0 {
		return fmt.Sprintf("2a03:%x:%x::%x", g.rng.IntN(0xffff), g.rng.IntN(0xffff), g.rng.IntN(0xffff))
	}
	return fmt.Sprintf("%d.%d.%d.%d", c.ipFirst[g.rng.IntN(len(c.ipFirst))], g.rng.IntN(256), g.rng.IntN(256), 1+g.rng.IntN(254))
}

func pick[T any](rng *rand.Rand, list []T) T { return list[rng.IntN(len(list))] }

// account writes every record of account a.
func (g *generator) account(a int) error {
	c := g.country[a]
	first, last := pick(g.rng, firstNames), pick(g.rng, lastNames)
	created, seen := g.ago(5*365*24*time.Hour), g.ago(72*time.Hour)
	sub := &Subscriber{Header: g.header(KindSubscriber, a), Name: first + " " + last,
		CreatedAt: &created, LastSeenAt: &seen, RegistrationIP: g.ip(a), LastIP: g.ip(a)}
	if g.rng.IntN(3) == 0 {
		sub.Email = strings.ToLower(asciiOnly(first)+"."+asciiOnly(last)) + strconv.Itoa(g.rng.IntN(100)) + "@example.com"
	}
	recs := []Record{sub, &Profile{Header: g.header(KindProfile, a), About: pick(g.rng, abouts), Language: c.lang, TimeZone: c.tz,
		PhotoSHA256: fmt.Sprintf("%016x%016x%016x%016x", g.rng.Uint64(), g.rng.Uint64(), g.rng.Uint64(), g.rng.Uint64())}}
	for d := 1 + g.rng.IntN(2); d > 0; d-- {
		os := pick(g.rng, []string{"iOS", "Android", "Android"})
		recs = append(recs, &Device{Header: g.header(KindDevice, a), DeviceID: fmt.Sprintf("dev_%016x", g.rng.Uint64()), OS: os,
			OSVersion: pick(g.rng, osVersions[os]), AppVersion: fmt.Sprintf("2.26.%d.%d", 1+g.rng.IntN(30), g.rng.IntN(80)), Model: pick(g.rng, models[os])})
	}
	for s := 2 + g.rng.IntN(8); s > 0; s-- {
		recs = append(recs, &IPSession{Header: g.header(KindIPSession, a), At: g.ago(90 * 24 * time.Hour), IP: g.ip(a), Port: 1024 + g.rng.IntN(64512)})
	}
	for _, grp := range g.memberOf[a] {
		role := "member"
		if g.groups[grp][0] == a {
			role = "admin"
		}
		recs = append(recs, &GroupMembership{Header: g.header(KindGroupMembership, a), GroupID: fmt.Sprintf("grp_%06d", grp),
			GroupName: groupWords[grp%len(groupWords)] + " " + strconv.Itoa(grp), Members: len(g.groups[grp]), Role: role})
	}
	if g.rng.IntN(10) < 3 {
		recs = append(recs, &LinkedAccount{Header: g.header(KindLinkedAccount, a), Service: pick(g.rng, services),
			ServiceAccount: strings.ToLower(asciiOnly(first)) + "_" + strconv.Itoa(g.rng.IntN(10000))})
	}
	if g.rng.IntN(100) < 3 {
		recs = append(recs, &Enforcement{Header: g.header(KindEnforcement, a), At: g.ago(365 * 24 * time.Hour),
			Action: pick(g.rng, actions), Reason: pick(g.rng, reasons)})
	}
	for _, p := range g.contacts[a] {
		recs = append(recs, &Contact{Header: g.header(KindContact, a), Contact: g.accounts[p]})
	}
	recs = append(recs, g.messages(a)...)
	for _, r := range recs {
		if err := g.emit(r); err != nil {
			return err
		}
	}
	return nil
}

// messages draws a's sent messages of the last 30 days: heavy hitters send
// tens to hundreds, everyone else a handful.
func (g *generator) messages(a int) []Record {
	n := g.rng.IntN(8)
	if contains(g.hubs, a) {
		n = 50 + g.rng.IntN(150)
	}
	recs := make([]Record, 0, n)
	for ; n > 0 && len(g.accounts) > 1; n-- {
		to := g.pickPeer(a)
		if len(g.contacts[a]) > 0 && g.rng.IntN(2) == 0 {
			to = g.contacts[a][g.rng.IntN(len(g.contacts[a]))]
		}
		recs = append(recs, &Message{Header: g.header(KindMessage, a), From: g.accounts[a], To: g.accounts[to],
			At: g.ago(30 * 24 * time.Hour), MessageKind: pick(g.rng, msgKinds)})
	}
	return recs
}

// asciiOnly keeps ASCII letters, for email addresses and handles.
func asciiOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			b.WriteRune(r)
		}
	}
	return b.String()
}
