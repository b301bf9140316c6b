package cases

import (
	"regexp/syntax"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/nyaruka/phonenumbers"
)

// validE164Digits answers phonenumbers.Parse("+"+d, "") followed by
// phonenumbers.IsValidNumber for d, the digits of a number already of
// E.164 shape, without the library's general parser: that parser runs
// an extension-matching regular expression over the whole input, and
// the validity check runs each region's patterns through Go's regexp
// backtracker, twice for the region that matches (about 16 µs a
// number, most of parsing a request; issue 18). Here the same metadata
// patterns are compiled into deterministic automata over the ten digits,
// once per calling code, and the library's decision is followed step by
// step. known is false where it is not followed (a national prefix that
// parsing would strip, a pattern with an anchor inside it): the caller
// then asks the library. TestPhoneFastMatchesLibrary compares the two
// over every calling code.
func validE164Digits(d string) (valid, known bool) {
	// extractCountryCode: the first one to three digits that name a calling
	// code; at most two digits in all is too short after the plus.
	if len(d) <= 2 || d[0] == '0' {
		return false, true
	}
	for i := 1; i <= 3 && i <= len(d); i++ {
		cc, _ := strconv.Atoi(d[:i])
		if regions := phonenumbers.GetRegionCodesForCountryCode(cc); len(regions) > 0 {
			return callingCodeFor(cc, regions).valid(d[i:])
		}
	}
	return false, true
}

// callingCode is what validation needs of one calling code: its regions
// in the library's order, and the automata of their patterns.
type callingCode struct {
	unsupported bool
	// prefix is the national prefix the parser would try to strip, of the
	// calling code's main region (nil when it has none).
	prefix  *dfa
	regions []phoneRegion
}

type phoneRegion struct {
	// leading, when set, claims a number for the region by its first
	// digits (metadata's leadingDigits) without checking its patterns.
	leading *dfa
	types   phoneTypes
	// countryOK is false when the region's metadata names another calling
	// code (IsValidNumberForRegion then refuses).
	countryOK bool
}

// phoneTypes is getNumberTypeHelper's question "is it any type at all":
// the general description, then any one of the specific ones.
type phoneTypes struct {
	general phoneDesc
	any     []phoneDesc
}

type phoneDesc struct {
	lengths []int32
	m       *dfa
}

func (p phoneDesc) match(n string) bool {
	if len(p.lengths) > 0 && !slices.Contains(p.lengths, int32(len(n))) {
		return false
	}
	return p.m.full(n)
}

func (t phoneTypes) valid(n string) bool {
	if !t.general.match(n) {
		return false
	}
	for _, d := range t.any {
		if d.match(n) {
			return true
		}
	}
	return false
}

func (c *callingCode) valid(n string) (valid, known bool) {
	if c.unsupported {
		return false, false
	}
	// parseHelper: too short a national number is an error; one the main
	// region's national prefix pattern starts may be rewritten.
	if len(n) < 2 {
		return false, true
	}
	if c.prefix != nil && c.prefix.prefix(n) {
		return false, false
	}
	// GetRegionCodeForNumber, then IsValidNumberForRegion on its answer.
	r := &c.regions[0]
	if len(c.regions) > 1 {
		r = nil
		for i := range c.regions {
			cand := &c.regions[i]
			if cand.leading != nil {
				if cand.leading.prefix(n) {
					r = cand
					break
				}
			} else if cand.types.valid(n) {
				r = cand
				break
			}
		}
		if r == nil {
			return false, true
		}
	}
	return r.countryOK && r.types.valid(n), true
}

var (
	callingCodesMu sync.Mutex // held while one is compiled
	callingCodes   [1000]atomic.Pointer[callingCode]
)

// callingCodeFor compiles a calling code's automata on its first use
// (about 250 codes; a process sees few of them). Once compiled, one is
// read without the lock (which was a tenth of validating a number).
func callingCodeFor(cc int, regions []string) *callingCode {
	if c := callingCodes[cc].Load(); c != nil {
		return c
	}
	callingCodesMu.Lock()
	defer callingCodesMu.Unlock()
	if c := callingCodes[cc].Load(); c != nil {
		return c
	}
	c := compileCallingCode(cc, regions)
	callingCodes[cc].Store(c)
	return c
}

func compileCallingCode(cc int, regions []string) *callingCode {
	c := &callingCode{}
	meta := metadataFor(cc)
	var err error
	ok := func(m *dfa, e error) *dfa {
		if e != nil {
			err = e
		}
		return m
	}
	for i, region := range regions {
		md := meta[region]
		if md == nil {
			return &callingCode{unsupported: true}
		}
		if i == 0 {
			if p := md.GetNationalPrefixForParsing(); p != "" {
				c.prefix = ok(compileDFA(p))
			}
		}
		r := phoneRegion{countryOK: int(md.GetCountryCode()) == cc}
		if l := md.GetLeadingDigits(); l != "" && len(regions) > 1 {
			r.leading = ok(compileDFA(l))
		}
		desc := func(d *phonenumbers.PhoneNumberDesc) phoneDesc {
			if d == nil {
				err = errNoDesc
				return phoneDesc{}
			}
			return phoneDesc{lengths: d.PossibleLength, m: ok(compileDFA(d.GetNationalNumberPattern()))}
		}
		r.types.general = desc(md.GetGeneralDesc())
		// The library tries the types in another order to name the type;
		// validity asks only whether any matches, so the common two come
		// first (a fixed line took nine automata to find).
		kinds := []*phonenumbers.PhoneNumberDesc{md.GetFixedLine()}
		if !md.GetSameMobileAndFixedLinePattern() {
			kinds = append(kinds, md.GetMobile())
		}
		kinds = append(kinds, md.GetPremiumRate(), md.GetTollFree(), md.GetSharedCost(), md.GetVoip(),
			md.GetPersonalNumber(), md.GetPager(), md.GetUan(), md.GetVoicemail())
		for _, d := range kinds {
			r.types.any = append(r.types.any, desc(d))
		}
		c.regions = append(c.regions, r)
	}
	if err != nil {
		return &callingCode{unsupported: true}
	}
	return c
}

// metadataFor returns the metadata the library holds for each region of a
// calling code, by region ("001" for a non-geographical code).
func metadataFor(cc int) map[string]*phonenumbers.PhoneMetadata {
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return nil
	}
	out := map[string]*phonenumbers.PhoneMetadata{}
	for _, md := range coll.GetMetadata() {
		if id := md.GetId(); id != "001" || int(md.GetCountryCode()) == cc {
			out[id] = md
		}
	}
	return out
}

type phoneError string

func (e phoneError) Error() string { return string(e) }

const (
	errNoDesc   = phoneError("phone metadata without a number description")
	errAnchored = phoneError("phone pattern with an anchor or a word boundary")
)

// dfa is a regular expression over the digits 0-9, determinised: state 0
// is the start; next[s][d] is the state after digit d, or -1 when no
// match can follow.
type dfa struct {
	next   [][10]int32
	accept []bool
}

// full reports whether the expression matches all of s (the library's
// "^(?:p)$"); s holds digits only.
func (m *dfa) full(s string) bool {
	st := int32(0)
	for i := 0; i < len(s); i++ {
		if st = m.next[st][s[i]-'0']; st < 0 {
			return false
		}
	}
	return m.accept[st]
}

// prefix reports whether the expression matches some start of s (the
// library's "^(?:p)" with MatchString).
func (m *dfa) prefix(s string) bool {
	st := int32(0)
	for i := 0; ; i++ {
		if m.accept[st] {
			return true
		}
		if i == len(s) {
			return false
		}
		if st = m.next[st][s[i]-'0']; st < 0 {
			return false
		}
	}
}

// compileDFA builds the automaton of a pattern by subset construction
// over its compiled program; every state is reachable by digits, and the
// patterns are bounded (phone numbers are at most 17 digits), so the
// construction ends.
func compileDFA(pattern string) (*dfa, error) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, err
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil, err
	}
	m := &dfa{}
	index := map[string]int32{}
	var queue [][]uint32
	// closure follows the empty moves from pcs and returns the
	// instructions that read a rune or match, sorted, as a state's key.
	closure := func(pcs []uint32) ([]uint32, error) {
		seen := map[uint32]bool{}
		var out []uint32
		var walk func(pc uint32) error
		walk = func(pc uint32) error {
			if seen[pc] {
				return nil
			}
			seen[pc] = true
			in := &prog.Inst[pc]
			switch in.Op {
			case syntax.InstAlt, syntax.InstAltMatch:
				if err := walk(in.Out); err != nil {
					return err
				}
				return walk(in.Arg)
			case syntax.InstCapture, syntax.InstNop:
				return walk(in.Out)
			case syntax.InstEmptyWidth:
				return errAnchored
			case syntax.InstFail:
				return nil
			default: // runes and match
				out = append(out, pc)
			}
			return nil
		}
		for _, pc := range pcs {
			if err := walk(pc); err != nil {
				return nil, err
			}
		}
		slices.Sort(out)
		return out, nil
	}
	key := func(set []uint32) string {
		b := make([]byte, 0, 4*len(set))
		for _, pc := range set {
			b = append(b, byte(pc), byte(pc>>8), byte(pc>>16), byte(pc>>24))
		}
		return string(b)
	}
	state := func(set []uint32) int32 {
		k := key(set)
		if s, ok := index[k]; ok {
			return s
		}
		s := int32(len(m.next))
		index[k] = s
		m.next = append(m.next, [10]int32{})
		acc := false
		for _, pc := range set {
			acc = acc || prog.Inst[pc].Op == syntax.InstMatch
		}
		m.accept = append(m.accept, acc)
		queue = append(queue, set)
		return s
	}
	start, err := closure([]uint32{uint32(prog.Start)})
	if err != nil {
		return nil, err
	}
	state(start)
	for s := int32(0); int(s) < len(queue); s++ {
		set := queue[s]
		for d := range 10 {
			var moved []uint32
			for _, pc := range set {
				if in := &prog.Inst[pc]; readsDigit(in, '0'+rune(d)) {
					moved = append(moved, in.Out)
				}
			}
			if len(moved) == 0 {
				m.next[s][d] = -1
				continue
			}
			next, err := closure(moved)
			if err != nil {
				return nil, err
			}
			if len(next) == 0 {
				m.next[s][d] = -1
				continue
			}
			m.next[s][d] = state(next)
		}
	}
	return m, nil
}

// readsDigit reports whether instruction in moves on digit r.
func readsDigit(in *syntax.Inst, r rune) bool {
	switch in.Op {
	case syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
		return true
	case syntax.InstRune, syntax.InstRune1:
		return in.MatchRune(r)
	}
	return false
}
