package metadata

import (
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// A line of NDJSON is one flat JSON object. scanner walks its top-level
// members without building any value: a key the caller does not ask for is
// skipped (whatever it holds, nested or not) and so is never copied anywhere.
// That is what makes "unknown fields are dropped" true by construction, and
// it is also why collection can parse a million events a second: a line is
// read in place, with no allocation unless a string holds escapes.
//
// The scanner validates the whole line as JSON (strings, numbers, nesting,
// nothing after the object), so a line it accepts is one encoding/json
// would accept too. Keys are matched exactly (encoding/json also matches
// keys case-insensitively; records are written by programs, not people).
type scanner struct {
	data []byte
	pos  int
	// After next returns true: the member's key, and its value. For a
	// string, val holds the raw bytes between the quotes and esc says
	// whether they contain escapes (use str to decode them).
	key  []byte
	val  []byte
	typ  valueType
	esc  bool
	err  error
	done bool
	// keyBuf and strBuf hold unescaped keys and strings; reused across
	// lines so escapes cost no allocation in steady state.
	keyBuf []byte
	strBuf []byte
}

type valueType uint8

const (
	typeString valueType = iota + 1
	typeNumber
	typeBool
	typeNull
	typeObject
	typeArray
)

func (t valueType) String() string {
	switch t {
	case typeString:
		return "a string"
	case typeNumber:
		return "a number"
	case typeBool:
		return "true or false"
	case typeNull:
		return "null"
	case typeObject:
		return "an object"
	case typeArray:
		return "an array"
	}
	return "a value"
}

// maxDepth bounds nesting inside a skipped value, so that a hostile line of
// ten thousand '[' cannot exhaust the stack.
const maxDepth = 64

var (
	errNotObject = errors.New("not a JSON object")
	errTrailing  = errors.New("unexpected data after the JSON object")
	errEOF       = errors.New("truncated JSON")
	errDepth     = errors.New("JSON nested too deeply")
)

// syntaxError describes malformed JSON at an offset of the line.
type syntaxError struct {
	msg string
	off int
}

func (e *syntaxError) Error() string {
	return "malformed JSON at byte " + strconv.Itoa(e.off+1) + ": " + e.msg
}

// reset starts scanning line, which must hold one JSON object.
func (s *scanner) reset(line []byte) {
	s.data, s.pos, s.err, s.done = line, 0, nil, false
	s.key, s.val, s.typ, s.esc = nil, nil, 0, false
	s.skipSpace()
	if s.pos >= len(s.data) || s.data[s.pos] != '{' {
		s.err = errNotObject
		return
	}
	s.pos++
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
		s.finish()
	}
}

// next advances to the next member and reports whether there is one. When
// it returns false, s.err says whether the line was well-formed.
func (s *scanner) next() bool {
	if s.err != nil || s.done {
		return false
	}
	s.skipSpace()
	key, esc, ok := s.scanString()
	if !ok {
		return false
	}
	s.key = key
	if esc {
		s.keyBuf = unescape(s.keyBuf[:0], key)
		s.key = s.keyBuf
	}
	s.skipSpace()
	if s.pos >= len(s.data) || s.data[s.pos] != ':' {
		s.fail("expected ':' after a key")
		return false
	}
	s.pos++
	s.skipSpace()
	if !s.scanValue() {
		return false
	}
	s.skipSpace()
	switch {
	case s.pos >= len(s.data):
		s.err = errEOF
		return false
	case s.data[s.pos] == ',':
		s.pos++
	case s.data[s.pos] == '}':
		s.pos++
		s.finish()
		if s.err != nil {
			return false
		}
	default:
		s.fail("expected ',' or '}' after a value")
		return false
	}
	return true
}

// finish checks that nothing but white space follows the object.
func (s *scanner) finish() {
	s.done = true
	s.skipSpace()
	if s.pos != len(s.data) {
		s.err = errTrailing
	}
}

// str returns the current string value, unescaped. The result aliases the
// line or the scanner's buffer: copy it (string(...)) to keep it.
func (s *scanner) str() []byte {
	if !s.esc {
		return s.val
	}
	s.strBuf = unescape(s.strBuf[:0], s.val)
	return s.strBuf
}

func (s *scanner) fail(msg string) {
	if s.err == nil {
		s.err = &syntaxError{msg: msg, off: s.pos}
	}
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\r', '\n':
			s.pos++
		default:
			return
		}
	}
}

// scanValue reads the value at s.pos into s.val and s.typ.
func (s *scanner) scanValue() bool {
	if s.pos >= len(s.data) {
		s.err = errEOF
		return false
	}
	start := s.pos
	s.esc = false
	switch c := s.data[s.pos]; {
	case c == '"':
		v, esc, ok := s.scanString()
		if !ok {
			return false
		}
		s.val, s.typ, s.esc = v, typeString, esc
		return true
	case c == '-' || (c >= '0' && c <= '9'):
		if !s.scanNumber() {
			return false
		}
		s.typ = typeNumber
	case c == 't':
		if !s.literal("true") {
			return false
		}
		s.typ = typeBool
	case c == 'f':
		if !s.literal("false") {
			return false
		}
		s.typ = typeBool
	case c == 'n':
		if !s.literal("null") {
			return false
		}
		s.typ = typeNull
	case c == '{' || c == '[':
		if !s.skipComposite(0) {
			return false
		}
		// Set after the skip, which scans (and so types) the members.
		s.typ, s.esc = typeArray, false
		if c == '{' {
			s.typ = typeObject
		}
	default:
		s.fail("unexpected character " + strconv.QuoteRune(rune(c)))
		return false
	}
	s.val = s.data[start:s.pos]
	return true
}

func (s *scanner) literal(word string) bool {
	if len(s.data)-s.pos < len(word) || string(s.data[s.pos:s.pos+len(word)]) != word {
		s.fail("invalid literal")
		return false
	}
	s.pos += len(word)
	return true
}

// scanString reads a quoted string at s.pos and returns its raw contents and
// whether they hold escapes. It rejects control characters and bad escapes.
// Like encoding/json it lets invalid UTF-8 through: a skipped member may
// hold anything, and the values that are kept are checked (validUTF8).
func (s *scanner) scanString() (raw []byte, esc, ok bool) {
	if s.pos >= len(s.data) {
		s.err = errEOF
		return nil, false, false
	}
	if s.data[s.pos] != '"' {
		s.fail("expected a string")
		return nil, false, false
	}
	s.pos++
	start := s.pos
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			raw = s.data[start:s.pos]
			s.pos++
			return raw, esc, true
		case c == '\\':
			esc = true
			if !s.scanEscape() {
				return nil, false, false
			}
			continue
		case c < 0x20:
			s.fail("control character in a string")
			return nil, false, false
		}
		s.pos++
	}
	s.err = errEOF
	return nil, false, false
}

func (s *scanner) scanEscape() bool {
	s.pos++ // the backslash
	if s.pos >= len(s.data) {
		s.err = errEOF
		return false
	}
	switch s.data[s.pos] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.pos++
		return true
	case 'u':
		if len(s.data)-s.pos < 5 {
			s.err = errEOF
			return false
		}
		for _, h := range s.data[s.pos+1 : s.pos+5] {
			if hexVal(h) < 0 {
				s.fail("bad \\u escape")
				return false
			}
		}
		s.pos += 5
		return true
	}
	s.fail("bad escape")
	return false
}

func (s *scanner) scanNumber() bool {
	d := s.data
	if d[s.pos] == '-' {
		s.pos++
	}
	digits := func() int {
		n := 0
		for s.pos < len(d) && d[s.pos] >= '0' && d[s.pos] <= '9' {
			s.pos++
			n++
		}
		return n
	}
	switch {
	case s.pos < len(d) && d[s.pos] == '0':
		s.pos++
	case digits() == 0:
		s.fail("bad number")
		return false
	}
	if s.pos < len(d) && d[s.pos] == '.' {
		s.pos++
		if digits() == 0 {
			s.fail("bad number")
			return false
		}
	}
	if s.pos < len(d) && (d[s.pos] == 'e' || d[s.pos] == 'E') {
		s.pos++
		if s.pos < len(d) && (d[s.pos] == '+' || d[s.pos] == '-') {
			s.pos++
		}
		if digits() == 0 {
			s.fail("bad number")
			return false
		}
	}
	return true
}

// skipComposite skips the object or array at s.pos, validating it.
func (s *scanner) skipComposite(depth int) bool {
	if depth >= maxDepth {
		s.err = errDepth
		return false
	}
	open := s.data[s.pos]
	s.pos++
	s.skipSpace()
	closer := byte(']')
	if open == '{' {
		closer = '}'
	}
	if s.pos < len(s.data) && s.data[s.pos] == closer {
		s.pos++
		return true
	}
	for {
		s.skipSpace()
		if open == '{' {
			if _, _, ok := s.scanString(); !ok {
				return false
			}
			s.skipSpace()
			if s.pos >= len(s.data) || s.data[s.pos] != ':' {
				s.fail("expected ':' after a key")
				return false
			}
			s.pos++
			s.skipSpace()
		}
		if s.pos >= len(s.data) {
			s.err = errEOF
			return false
		}
		if c := s.data[s.pos]; c == '{' || c == '[' {
			if !s.skipComposite(depth + 1) {
				return false
			}
		} else if !s.scanValue() {
			return false
		}
		s.skipSpace()
		if s.pos >= len(s.data) {
			s.err = errEOF
			return false
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case closer:
			s.pos++
			return true
		default:
			s.fail("expected ',' or a closing bracket")
			return false
		}
	}
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c - 'a' + 10)
	case c >= 'A' && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}

// unescape appends the decoded form of a validated raw JSON string to dst.
// Lone surrogates become U+FFFD, as encoding/json does.
func unescape(dst, raw []byte) []byte {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		i++
		switch raw[i] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(raw[i+1:])
			i += 4
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
					r2 = hex4(raw[i+3:])
				}
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					i += 6
					r = dec
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
		default: // '"', '\\', '/'
			dst = append(dst, raw[i])
		}
	}
	return dst
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		r = r<<4 | rune(hexVal(c))
	}
	return r
}
