// Package integration holds the tests of library modules that need a
// simulated cluster (tikvsim), one directory per module under test.
//
// The tests live in this module, which nothing requires, rather than in the
// library modules themselves: a test's requirements are part of its module's
// go.mod, and every go.mod a user's build reaches is part of the user's module
// graph, so tikvsim (and everything it requires) would otherwise be downloaded
// by every user of a library module. Examples that need a cluster are
// twinned: the library package keeps each one compiled but not run, so godoc
// shows it there, and the same body runs here with its output checked.
package integration
