package store

// Trigrams is trigrams for the benchmarks' seeding, which writes the
// search index with plain SQL.
var Trigrams = trigrams
