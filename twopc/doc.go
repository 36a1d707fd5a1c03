// Package twopc owns the Percolator two-phase commit protocol: prewrite and
// commit of a transaction's mutations grouped by region, async commit, one-phase
// commit, pipelined flushes and the TTL heartbeat of a primary lock.
//
// It does not buffer writes or read snapshots (package txnkv does) and reaches
// timestamps and stores only through the narrow interfaces it declares.
package twopc
