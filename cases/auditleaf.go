package cases

import (
	"encoding/json"
	"strconv"
	"time"
)

// LeafData is what the audit log's Merkle tree commits to for this event:
// its sequence number and content as a JSON array, without the hash chain
// fields, which the tree makes redundant. Disclosure packages carry it
// verbatim, so a recipient can hash it (RFC 6962 leaf hash) and check its
// inclusion proof without envelope.
//
// The bytes are exactly json.Marshal's of the array (the hash chain has
// always hashed that encoding); it is written by hand because verifying a
// log of a million events encodes a million of them.
func (e *Event) LeafData() []byte {
	b := make([]byte, 0, 64+len(e.Actor)+len(e.Action)+len(e.Entity)+len(e.EntityID)+len(e.Before)+len(e.After))
	b = append(b, '[')
	b = strconv.AppendInt(b, e.Seq, 10)
	for _, f := range []string{e.At.UTC().Format(time.RFC3339Nano), e.Actor, e.Action, e.Entity, e.EntityID, string(e.Before), string(e.After)} {
		b = append(b, ',')
		b = appendJSONString(b, f)
	}
	return append(b, ']')
}

// appendJSONString appends s as encoding/json encodes a string. Printable
// ASCII other than the HTML characters it escapes (< > &) is written
// directly, with " and \ escaped as encoding/json does; anything else goes
// through encoding/json itself.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			b = append(b, '\\', c)
		} else {
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// ParseLeafData reads the event a leaf's data describes (the inverse of
// LeafData); the hash chain fields stay empty.
func ParseLeafData(b []byte) (*Event, error) {
	var fields []json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil, Errorf(EINVALID, "an audit leaf is not a JSON array: %v", err)
	}
	var (
		e             Event
		at            time.Time
		before, after string
	)
	into := []any{&e.Seq, &at, &e.Actor, &e.Action, &e.Entity, &e.EntityID, &before, &after}
	if len(fields) != len(into) {
		return nil, Errorf(EINVALID, "an audit leaf has %d fields, not %d", len(fields), len(into))
	}
	for i, f := range fields {
		if err := json.Unmarshal(f, into[i]); err != nil {
			return nil, Errorf(EINVALID, "field %d of an audit leaf: %v", i+1, err)
		}
	}
	e.At = at.UTC()
	if before != "" {
		e.Before = json.RawMessage(before)
	}
	if after != "" {
		e.After = json.RawMessage(after)
	}
	return &e, nil
}
