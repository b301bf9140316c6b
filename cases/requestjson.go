package cases

import (
	"sync"
	"unicode/utf8"
	"unsafe"
)

// decodeFast fills raw from data when data is a request document of the
// plain kind clients send: field names spelt as the spec spells them,
// each once, strings without escapes, no numbers. It reports false
// (leaving raw partly filled) for anything else, valid or not, which the
// caller then decodes with encoding/json: that decoder's errors name the
// field at fault, and it alone handles case-insensitive names,
// duplicate keys and escapes. Where it reports true, raw is what
// encoding/json would have produced (FuzzDecodeFast holds it to that).
// encoding/json's reflection was most of the time left in parsing a
// request once phone numbers were fast (issue 18).
//
// raw points into parts, which the caller keeps for as long as raw, and
// its strings point into data itself, not into a copy: the caller
// copies out what it keeps (Request.ownStrings), a few hundred bytes
// instead of the whole document.
func (raw *rawRequest) decodeFast(data []byte, parts *rawParts) bool {
	s := scanner{data: data, doc: unsafe.String(unsafe.SliceData(data), len(data)), parts: parts}
	ok := s.object(func(key string) bool {
		switch key {
		case "received_at":
			return s.optString(&raw.ReceivedAt)
		case "agency":
			a := &parts.agency
			return optObject(&s, &raw.Agency, a, func(key string) bool {
				switch key {
				case "name":
					return s.str(&a.Name)
				case "country":
					return s.str(&a.Country)
				case "verified_domains":
					return s.array(func() { a.VerifiedDomains = parts.domains[:0] }, func() bool {
						a.VerifiedDomains = append(a.VerifiedDomains, "")
						return s.str(&a.VerifiedDomains[len(a.VerifiedDomains)-1])
					})
				}
				return false
			})
		case "requester":
			r := &parts.requester
			return optObject(&s, &raw.Requester, r, func(key string) bool {
				switch key {
				case "name":
					return s.str(&r.Name)
				case "email":
					return s.str(&r.Email)
				case "phone":
					return s.str(&r.Phone)
				}
				return false
			})
		case "process":
			p := &parts.process
			return optObject(&s, &raw.Process, p, func(key string) bool { return s.process(p, key) })
		case "emergency":
			e := &parts.emergency
			return optObject(&s, &raw.Emergency, e, func(key string) bool {
				switch key {
				case "description":
					return s.str(&e.Description)
				case "imminent_harm":
					return s.boolean(&e.ImminentHarm)
				}
				return false
			})
		case "targets":
			return s.array(func() { raw.Targets = parts.targets[:0] }, func() bool {
				raw.Targets = append(raw.Targets, Target{})
				t := &raw.Targets[len(raw.Targets)-1]
				return s.object(func(key string) bool {
					switch key {
					case "kind":
						return s.str((*string)(&t.Kind))
					case "value":
						return s.str(&t.Value)
					}
					return false
				})
			})
		case "categories":
			return s.array(func() { raw.Categories = parts.categories[:0] }, func() bool {
				raw.Categories = append(raw.Categories, "")
				return s.str((*string)(&raw.Categories[len(raw.Categories)-1]))
			})
		case "window":
			w := &parts.window
			return optObject(&s, &raw.Window, w, func(key string) bool {
				switch key {
				case "from":
					return s.optString(&w.From)
				case "to":
					return s.optString(&w.To)
				}
				return false
			})
		case "due_at":
			return s.optString(&raw.DueAt)
		case "due_reason":
			return s.str(&raw.DueReason)
		}
		return false
	})
	s.space()
	return ok && s.i == len(data)
}

// process reads the value of the process object's field key into p.
func (s *scanner) process(p *rawProcess, key string) bool {
	{
		switch key {
		case "type":
			return s.str((*string)(&p.Type))
		case "via":
			return s.str((*string)(&p.Via))
		case "issuing_authority":
			return s.str(&p.IssuingAuthority)
		case "reference":
			return s.str(&p.Reference)
		case "issued_at":
			return s.optString(&p.IssuedAt)
		case "effective_at":
			return s.optString(&p.EffectiveAt)
		case "expires_at":
			return s.optString(&p.ExpiresAt)
		case "nondisclosure_until":
			return s.optString(&p.NondisclosureUntil)
		case "authority_role":
			return s.str((*string)(&p.AuthorityRole))
		case "validated_by":
			return s.str((*string)(&p.ValidatedBy))
		case "enforcing_state_notified":
			return s.boolean(&p.EnforcingStateNotified)
		}
		return false
	}
}

// scanner reads the subset of JSON decodeFast accepts; every method
// reports false where that subset ends.
type scanner struct {
	data []byte
	doc  string // data as a string (the same bytes: see decodeFast)
	i    int
	// parts holds what the document's values point to.
	parts *rawParts
	nstrs int // parts.strs in use
}

// rawParts is what a request's rawRequest points to, kept together
// (instead of about thirty allocations): its objects, the strings its
// optional fields point to, and the first elements of its arrays (an
// array longer than that grows on the heap as append grows it). Each
// slot is used once: a second "agency" ends the fast path before it is
// read. Nothing validate builds points into it, so one is used again
// and again (partsPool).
type rawParts struct {
	agency    Agency
	requester Requester
	process   rawProcess
	emergency Exigency
	window    rawWindow
	strs      [12]string // a request has ten optional strings
	// Room for as many targets as the default policy accepts and for each
	// category once: kept in the pool, this room costs nothing per parse.
	domains    [4]string
	targets    [25]Target
	categories [10]Category
}

// partsPool keeps the rawParts of requests parsed: a request's are
// needed only while it is parsed, and allocating them each time was a
// quarter of the bytes a parse allocated (each byte brings the next
// collection nearer).
var partsPool = sync.Pool{New: func() any { return new(rawParts) }}

// getParts returns zeroed parts; putParts zeroes them (they point into
// the document parsed) and gives them back.
func getParts() *rawParts { return partsPool.Get().(*rawParts) }

func putParts(p *rawParts) {
	*p = rawParts{}
	partsPool.Put(p)
}

func (s *scanner) space() {
	i, data := s.i, s.data // locals, kept in registers
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
			continue
		}
		break
	}
	s.i = i
}

// peek skips white space and returns the next byte (0 at the end).
func (s *scanner) peek() byte {
	s.space()
	if s.i == len(s.data) {
		return 0
	}
	return s.data[s.i]
}

// null consumes a null literal if one comes next.
func (s *scanner) null() bool {
	if s.peek() == 'n' && len(s.data)-s.i >= 4 && string(s.data[s.i:s.i+4]) == "null" {
		s.i += 4
		return true
	}
	return false
}

// raw reads a string without escapes, control characters or invalid
// UTF-8 (encoding/json would rewrite the last).
func (s *scanner) raw() (string, bool) {
	if s.peek() != '"' {
		return "", false
	}
	start := s.i + 1
	ascii := true
	for j := start; j < len(s.data); j++ {
		c := s.data[j]
		if !strSpecial[c] { // one look-up for the plain characters
			continue
		}
		switch {
		case c == '"':
			v := s.doc[start:j]
			if !ascii && !utf8.ValidString(v) {
				return "", false
			}
			s.i = j + 1
			return v, true
		case c >= 0x80:
			ascii = false
		default: // a backslash or a control character
			return "", false
		}
	}
	return "", false
}

// strSpecial marks the bytes raw must look at: the quote, the
// backslash, control characters and non-ASCII.
var strSpecial = func() (set [256]bool) {
	for c := range 256 {
		set[c] = c == '"' || c == '\\' || c < 0x20 || c >= 0x80
	}
	return set
}()

// str reads a string into v; null leaves v as it is, as encoding/json does.
func (s *scanner) str(v *string) bool {
	if s.null() {
		return true
	}
	r, ok := s.raw()
	*v = r
	return ok
}

// optString reads a string into a pointer; null leaves it nil.
func (s *scanner) optString(v **string) bool {
	if s.null() {
		return true
	}
	r, ok := s.raw()
	if !ok {
		return false
	}
	if s.nstrs == len(s.parts.strs) { // only a document with keys repeated in objects that do not read them
		own := r
		*v = &own
		return true
	}
	*v = &s.parts.strs[s.nstrs]
	**v = r
	s.nstrs++
	return true
}

func (s *scanner) boolean(v *bool) bool {
	if s.null() {
		return true
	}
	switch rest := s.data[s.i:]; {
	case len(rest) >= 4 && string(rest[:4]) == "true":
		*v, s.i = true, s.i+4
	case len(rest) >= 5 && string(rest[:5]) == "false":
		*v, s.i = false, s.i+5
	default:
		return false
	}
	return true
}

// object reads an object, handing each key to field, which reads its
// value; a key seen twice ends the subset (encoding/json would merge).
func (s *scanner) object(field func(key string) bool) bool {
	if s.peek() != '{' {
		return false
	}
	s.i++
	var buf [16]string // the keys seen, without a heap allocation
	seen := buf[:0]
	if s.peek() == '}' {
		s.i++
		return true
	}
	for {
		key, ok := s.raw()
		if !ok || s.peek() != ':' {
			return false
		}
		for _, k := range seen {
			if k == key {
				return false
			}
		}
		seen = append(seen, key)
		s.i++
		if !field(key) {
			return false
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return true
		default:
			return false
		}
	}
}

// optObject reads an object into slot (zero, and used for nothing else:
// field fills it) and points v to it; null leaves v nil.
func optObject[T any](s *scanner, v **T, slot *T, field func(key string) bool) bool {
	if s.null() {
		return true
	}
	*v = slot
	return s.object(field)
}

// array reads an array. null leaves the caller's slice nil; '[' calls
// start, which makes it empty but not nil (as encoding/json does for a
// slice that starts nil), and each element calls elem, which appends a
// zero element and reads into it in place (an element read through a
// pointer to a local would be an allocation each; and a generic append
// here would move the caller's room to the heap).
func (s *scanner) array(start func(), elem func() bool) bool {
	if s.null() {
		return true
	}
	if s.peek() != '[' {
		return false
	}
	s.i++
	start()
	if s.peek() == ']' {
		s.i++
		return true
	}
	for {
		if !elem() {
			return false
		}
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return true
		default:
			return false
		}
	}
}
