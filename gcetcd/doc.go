// Package gcetcd loads the txn safe point from PD's etcd, for clusters whose
// PD predates the GC-state API.
//
// The newest PD answers GetGCState, and tikvgo's GC code reads the txn safe
// point through pdclient. Older PD versions have no such call: there the txn
// safe point lives in PD's embedded etcd, written by TiDB's GC worker as a
// decimal string at [UnifiedKey], or at [KeyspaceKey] for a keyspace that
// runs keyspace-level GC. A reader that must not read below the safe point
// on such a cluster uses a [Loader] as its safe-point source.
//
// This package is a module of its own so that the etcd client is downloaded
// only by those who need it: no core tikvgo module depends on etcd.
//
// Usage:
//
//	cli, err := clientv3.New(clientv3.Config{Endpoints: pdAddrs})
//	if err != nil { ... }
//	defer cli.Close()
//	l, err := gcetcd.New(cli)
//	sp, err := l.TxnSafePoint(ctx) // 0 until the first GC round
//
// A Loader is safe for concurrent use; it starts no goroutines and owns
// nothing to close (the etcd client stays the caller's).
//
// Errors: a value that is not a decimal uint64 matches [ErrMalformedSafePoint];
// failures of the etcd call are returned wrapped, as the etcd client reports
// them.
package gcetcd
