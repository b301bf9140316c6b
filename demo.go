// Package envelope holds what the binary embeds from the top of the
// repository: the demo data set's seed, kept in testdata/ beside the test
// fixtures it shares its agencies and people with.
package envelope

import "embed"

// Demo holds testdata/demo: the seed the demo data set is generated from.
//
//go:embed testdata/demo
var Demo embed.FS
