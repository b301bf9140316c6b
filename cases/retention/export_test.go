package retention

// PlaceHoldIn and ReleaseHoldIn are the transactions of PlaceHold and
// ReleaseHold, for the tests that hold one open while something else
// starts.
var (
	PlaceHoldIn   = placeHold
	ReleaseHoldIn = releaseHold
)

// PairsDue lists the cases a pairs purge visits, given the cutoff.
const PairsDue = pairsDue
