// Package tso owns timestamps: a batching client of PD's Tso stream, and an
// oracle on top of it (current, low-resolution and stale timestamps, expiry
// checks, and conversions between timestamps and wall-clock time).
//
// It uses pdclient for member discovery and connections and never the other
// way round; it knows nothing about regions or stores.
package tso
