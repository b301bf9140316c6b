package exporter

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
	"envelope/exporter/letters"
)

// A letter is rendered, signed like a package (Verify accepts it; one
// changed byte fails it), stored with the case, listed, numbered and
// audited, on both engines. Without a profile, or a clarification without
// a question, nothing is produced.
func TestLetterIsSignedAndStored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		w := f.warrant()
		if _, err := f.exp.Letter(ctx, f.reviewer.Email, w.Number, letters.Clarification, LetterOptions{}); cases.ErrorCode(err) != cases.EINVALID {
			t.Errorf("clarification without a question: %v", err)
		}
		if _, err := f.exp.Letter(ctx, f.reviewer.Email, w.Number, "memo", LetterOptions{}); cases.ErrorCode(err) != cases.EINVALID {
			t.Errorf("unknown kind: %v", err)
		}
		l, err := f.exp.Letter(ctx, f.reviewer.Email, w.Number, letters.Refusal, LetterOptions{})
		if err != nil {
			t.Fatal(err)
		}
		l2, err := f.exp.Letter(ctx, f.reviewer.Email, w.Number, letters.Clarification, LetterOptions{Questions: []string{"Which period?"}})
		if err != nil {
			t.Fatal(err)
		}
		if l.Seq != 1 || l2.Seq != 2 || l.TemplateVersion != letters.Default().Version() || !strings.Contains(l.FileName, "-L001-refusal-") {
			t.Errorf("letters: %+v %+v", l, l2)
		}
		l2path, err := f.exp.CopyOut(ctx, l2.FileName, "")
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(l2path)
		if err != nil {
			t.Fatal(err)
		}
		pub := f.exp.Builder.Signer.Public()
		if probs := Verify(bytes.NewReader(b), int64(len(b)), pub); len(probs) != 0 {
			t.Fatalf("the letter does not verify: %v", probs)
		}
		files := unzip(t, l2path)
		if text := flat(pdfText(t, files[LetterFile])); !strings.Contains(text, "Which period?") || !strings.Contains(text, "Jordan Lee") {
			t.Errorf("letter text: %s", text)
		}
		bad := bytes.Clone(b)
		bad[len(bad)/3] ^= 1
		if probs := Verify(bytes.NewReader(bad), int64(len(bad)), pub); len(probs) == 0 {
			t.Error("a changed letter verifies")
		}
		list, err := f.exp.Letters(ctx, w.Number)
		if err != nil || len(list) != 2 || list[1].Kind != letters.Clarification {
			t.Errorf("list: %+v %v", list, err)
		}
		evs, _ := db.Events(ctx, "case", strconv.FormatInt(w.ID, 10))
		n := 0
		for _, e := range evs {
			if e.Action == "case.letter" {
				n++
			}
		}
		if n != 2 {
			t.Errorf("%d case.letter events", n)
		}
	})
	// No profile: refused, nothing stored.
	f := newFixture(t, storetest.SQLite(t))
	f.db.Writer().Exec("DELETE FROM org_profile")
	w := f.warrant()
	if _, err := f.exp.Letter(ctx, f.reviewer.Email, w.Number, letters.NoRecords, LetterOptions{}); cases.ErrorCode(err) != cases.ECONFLICT {
		t.Errorf("without a profile: %v", err)
	}
}
