package cases

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"
)

// The chain hash derived from the leaf is byte for byte the hash of the
// whole JSON array, as computed before the tree: old logs still verify.
func TestChainHashUnchanged(t *testing.T) {
	evs := []Event{
		{Seq: 1, At: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC), Actor: "a@b", Action: "case.create", Entity: "case", EntityID: "1", PrevHash: GenesisHash},
		{Seq: 2, At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)), Actor: "<script>&\u2028é\x01", Action: "case.note", Entity: "case", EntityID: "1",
			Before: json.RawMessage(`{"a":"<b>"}`), After: json.RawMessage(`{"n": "\u00e9"}`), PrevHash: "ab\"cd"},
	}
	for _, e := range evs {
		b, _ := json.Marshal([]any{e.Seq, e.At.UTC().Format(time.RFC3339Nano), e.Actor, e.Action, e.Entity, e.EntityID, string(e.Before), string(e.After), e.PrevHash})
		sum := sha256.Sum256(b)
		if got := e.ComputeHash(); got != hex.EncodeToString(sum[:]) {
			t.Errorf("event %d: %s, want %x", e.Seq, got, sum)
		}
		back, err := ParseLeafData(e.LeafData())
		if err != nil || back.Actor != e.Actor || !back.At.Equal(e.At) || string(back.After) != string(e.After) || back.Seq != e.Seq {
			t.Errorf("leaf round trip: %+v %v", back, err)
		}
	}
}

// LeafData's hand-written encoding is encoding/json's, for every kind of
// string: quotes, backslashes, HTML characters, control characters,
// non-ASCII and invalid UTF-8.
func TestLeafDataIsJSONMarshal(t *testing.T) {
	strs := []string{"", "plain", `q"uote`, `back\slash`, "<>&", "tab\tnl\nnul\x00", "é ü 漢", "\u2028\u2029", "bad\xffutf8", `{"a":"b\"c"}`, "\x7f del", "~ }"}
	for i, s := range strs {
		e := Event{Seq: int64(i) * 1000003, At: time.Date(2026, 12, 1, 19, 0, 0, i*1000, time.UTC), Actor: s, Action: s + "x", Entity: "case", EntityID: s, Before: json.RawMessage(s), After: json.RawMessage(s + s)}
		want, _ := json.Marshal([]any{e.Seq, e.At.UTC().Format(time.RFC3339Nano), e.Actor, e.Action, e.Entity, e.EntityID, string(e.Before), string(e.After)})
		if got := e.LeafData(); string(got) != string(want) {
			t.Errorf("%q:\n got %s\nwant %s", s, got, want)
		}
	}
}

func FuzzLeafData(f *testing.F) {
	for _, s := range []string{"", `a"b\c`, "<&>", "\x00\x1f\x7f\x80\xff", "é"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, actor, after string) {
		e := Event{Seq: 7, At: time.Unix(1, 5).UTC(), Actor: actor, Action: "a", Entity: "case", EntityID: "1", After: json.RawMessage(after)}
		want, _ := json.Marshal([]any{e.Seq, e.At.Format(time.RFC3339Nano), e.Actor, e.Action, e.Entity, e.EntityID, "", after})
		if got := e.LeafData(); string(got) != string(want) {
			t.Fatalf("got %s want %s", got, want)
		}
	})
}
