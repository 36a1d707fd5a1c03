// Package e2e owns the end-to-end suite: one set of tests that drives the
// public tikv facade against a cluster chosen by environment variable (an
// in-process tikvsim by default, containers started with testcontainers, or an
// external cluster given by PD_ADDRS).
//
// It holds no library code; nothing imports it.
package e2e
