// Package pdclient owns the connection to PD: member discovery and leader
// tracking, region and store queries, GC safe points and GC state, keyspace
// metadata, and region split/scatter requests.
//
// It does not hand out timestamps (package tso does, on top of pdclient's
// discovery) and does not cache regions (package locate does).
package pdclient
