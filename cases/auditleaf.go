package cases

import (
	"encoding/json"
	"time"
)

// LeafData is what the audit log's Merkle tree commits to for this event:
// its sequence number and content as a JSON array, without the hash chain
// fields, which the tree makes redundant. Disclosure packages carry it
// verbatim, so a recipient can hash it (RFC 6962 leaf hash) and check its
// inclusion proof without envelope.
func (e *Event) LeafData() []byte {
	b, _ := json.Marshal([]any{e.Seq, e.At.UTC().Format(time.RFC3339Nano), e.Actor, e.Action, e.Entity, e.EntityID, string(e.Before), string(e.After)})
	return b
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
