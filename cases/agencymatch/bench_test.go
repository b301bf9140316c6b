package agencymatch

import (
	"fmt"
	"testing"
)

// A directory of 1,000 agencies matched against one request name: Match
// folds every entry each time (intake), Index.Match folds them once (a
// replay of every stored case). Compare the two in one run:
//
//	go test ./cases/agencymatch -bench Match -run XXX
func BenchmarkMatch(b *testing.B) {
	entries := make([]Entry, 1000)
	for i := range entries {
		entries[i] = Entry{ID: int64(i), Name: fmt.Sprintf("County Sheriff's Office %04d", i), Country: "US", Aliases: []string{fmt.Sprintf("CSO %04d", i)}}
	}
	name := "County Sheriff\u2019s Off\u0456ce 0999"
	b.Run("Match", func(b *testing.B) {
		for b.Loop() {
			Match(name, "US", entries)
		}
	})
	b.Run("Index", func(b *testing.B) {
		x := NewIndex(entries)
		b.ResetTimer()
		for b.Loop() {
			x.Match(name, "US")
		}
	})
}
