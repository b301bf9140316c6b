package cases

import "unicode/utf8"

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
func (raw *rawRequest) decodeFast(data []byte) bool {
	// One copy of the document; every string read is a slice of it, so a
	// request costs one allocation for its strings instead of one each.
	s := scanner{data: data, doc: string(data)}
	ok := s.object(func(key string) bool {
		switch key {
		case "received_at":
			return s.optString(&raw.ReceivedAt)
		case "agency":
			return optObject(&s, &raw.Agency, func(a *Agency, key string) bool {
				switch key {
				case "name":
					return s.str(&a.Name)
				case "country":
					return s.str(&a.Country)
				case "verified_domains":
					return s.strings(&a.VerifiedDomains)
				}
				return false
			})
		case "requester":
			return optObject(&s, &raw.Requester, func(r *Requester, key string) bool {
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
			return optObject(&s, &raw.Process, raw.decodeProcess(&s))
		case "emergency":
			return optObject(&s, &raw.Emergency, func(e *Exigency, key string) bool {
				switch key {
				case "description":
					return s.str(&e.Description)
				case "imminent_harm":
					return s.boolean(&e.ImminentHarm)
				}
				return false
			})
		case "targets":
			return array(&s, &raw.Targets, func(t *Target) bool {
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
			return array(&s, &raw.Categories, func(c *Category) bool { return s.str((*string)(c)) })
		case "window":
			return optObject(&s, &raw.Window, func(w *rawWindow, key string) bool {
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

func (raw *rawRequest) decodeProcess(s *scanner) func(p *rawProcess, key string) bool {
	return func(p *rawProcess, key string) bool {
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
	doc  string // data as a string
	i    int
	// strs holds the strings optString points to, allocated together;
	// it never grows past its first capacity, so the pointers stay valid.
	strs []string
}

func (s *scanner) space() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
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
		switch c := s.data[j]; {
		case c == '"':
			v := s.doc[start:j]
			if !ascii && !utf8.ValidString(v) {
				return "", false
			}
			s.i = j + 1
			return v, true
		case c == '\\' || c < 0x20:
			return "", false
		case c >= 0x80:
			ascii = false
		}
	}
	return "", false
}

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
	if s.strs == nil {
		s.strs = make([]string, 0, 12)
	}
	if len(s.strs) < cap(s.strs) {
		s.strs = append(s.strs, r)
		*v = &s.strs[len(s.strs)-1]
	} else {
		*v = &r
	}
	return ok
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

// optObject reads an object into a new *T; null leaves it nil.
func optObject[T any](s *scanner, v **T, field func(*T, string) bool) bool {
	if s.null() {
		return true
	}
	*v = new(T)
	return s.object(func(key string) bool { return field(*v, key) })
}

// array reads an array into a new slice (empty, not nil, for []) and
// null into nil, as encoding/json does for a slice that starts nil.
func array[T any](s *scanner, v *[]T, elem func(*T) bool) bool {
	if s.null() {
		return true
	}
	if s.peek() != '[' {
		return false
	}
	s.i++
	*v = make([]T, 0, 4)
	if s.peek() == ']' {
		s.i++
		return true
	}
	for {
		var e T
		if !elem(&e) {
			return false
		}
		*v = append(*v, e)
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

func (s *scanner) strings(v *[]string) bool { return array(s, v, s.str) }
