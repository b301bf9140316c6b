package cases

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Event is one entry of the append-only audit log. Each event's hash covers
// its content and the previous event's hash, so editing or deleting any row
// breaks the chain from that point on.
type Event struct {
	Seq      int64           `json:"seq" db:"seq"`
	At       time.Time       `json:"at" db:"at"`
	Actor    string          `json:"actor" db:"actor"`
	Action   string          `json:"action" db:"action"`
	Entity   string          `json:"entity" db:"entity"`
	EntityID string          `json:"entity_id" db:"entity_id"`
	Before   json.RawMessage `json:"before,omitempty" db:"-"`
	After    json.RawMessage `json:"after,omitempty" db:"-"`
	PrevHash string          `json:"prev_hash" db:"prev_hash"`
	Hash     string          `json:"hash" db:"hash"`
}

// GenesisHash is the previous hash of the first event.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// ComputeHash returns the SHA-256 of the event's content and PrevHash. The
// fields are hashed as a JSON array, which delimits them unambiguously.
func (e *Event) ComputeHash() string { return e.ChainHash(e.LeafData()) }

// ChainHash is ComputeHash from the event's LeafData, which is the same
// JSON array without PrevHash: a verifier that needs both hashes encodes
// the event once. The bytes hashed are those of json.Marshal of the whole
// array, as they always were.
func (e *Event) ChainHash(leaf []byte) string {
	b := make([]byte, 0, len(leaf)+len(e.PrevHash)+4)
	b = append(b, leaf[:len(leaf)-1]...)
	b = append(b, ',')
	b = appendJSONString(b, e.PrevHash)
	sum := sha256.Sum256(append(b, ']'))
	return hex.EncodeToString(sum[:])
}

// TamperError reports an audit log that was edited or cut: Seq is the first
// event found wrong.
type TamperError struct {
	Seq     int64
	Problem string
}

func (e *TamperError) Error() string { return e.Problem }

func tampered(seq int64, format string, args ...any) error {
	return &TamperError{Seq: seq, Problem: fmt.Sprintf(format, args...)}
}

// ChainVerifier checks events one at a time, in sequence order.
type ChainVerifier struct {
	prev string
	seq  int64
}

// Next checks the next event of the chain.
func (v *ChainVerifier) Next(e *Event) error { return v.NextLeaf(e, e.LeafData()) }

// NextLeaf is Next for an event whose LeafData the caller has already.
func (v *ChainVerifier) NextLeaf(e *Event, leaf []byte) error {
	if v.prev == "" {
		v.prev = GenesisHash
	}
	switch {
	case e.Seq != v.seq+1:
		return tampered(v.seq+1, "audit event %d is missing (found %d next): a row was deleted", v.seq+1, e.Seq)
	case e.PrevHash != v.prev:
		return tampered(e.Seq, "audit event %d does not follow event %d: the chain was edited", e.Seq, v.seq)
	case e.ChainHash(leaf) != e.Hash:
		return tampered(e.Seq, "audit event %d (%s %s %s) was altered: its hash does not match its content", e.Seq, e.Action, e.Entity, e.EntityID)
	}
	v.prev, v.seq = e.Hash, e.Seq
	return nil
}

// End checks that the chain ends where the recorded head says it does, which
// catches the deletion of the newest events.
func (v *ChainVerifier) End(headSeq int64, headHash string) error {
	if v.seq != headSeq || (headSeq > 0 && v.prev != headHash) {
		return tampered(v.seq+1, "audit log ends at event %d but %d were written: events were deleted from the end", v.seq, headSeq)
	}
	return nil
}

// Count returns how many events were verified.
func (v *ChainVerifier) Count() int64 { return v.seq }
