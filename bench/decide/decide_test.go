package decide

import "testing"

// TestAgree: the Rego rules decide the benchmark's requests as envelope
// does, or the comparison would measure different work.
func TestAgree(t *testing.T) {
	in, err := LoadInputs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"sample": in.Sample, "25 targets": in.Wide} {
		if err := Agree(data); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
