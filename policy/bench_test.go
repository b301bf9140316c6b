package policy

import (
	"testing"
)

// BenchmarkDecide decides realistic requests under the default policy:
// the pen register of the interface spec (the docs quote this figure), a
// broad search warrant, a CLOUD Act order and a blocked request.
func BenchmarkDecide(b *testing.B) {
	p := Default()
	for _, name := range []string{"pen_register_spec_example", "search_warrant_partial", "foreign_gb_cloud_act_contacts", "combined_blocks_and_review"} {
		req := readRequest(b, name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Decide(req, goldenAt)
			}
		})
	}
}

// BenchmarkLoad loads the default policy file, as `--policy FILE` does.
func BenchmarkLoad(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(defaultYAML); err != nil {
			b.Fatal(err)
		}
	}
}
