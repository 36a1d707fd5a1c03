//go:build race

package memdb_test

// raceEnabled shrinks the long randomized tests under the race detector,
// which slows them tenfold; the plain run keeps the full sizes.
const raceEnabled = true
