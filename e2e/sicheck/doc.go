// Package sicheck checks histories of list-append transactions for the
// anomalies snapshot isolation forbids, in the style of Jepsen's Elle, and
// drives such a workload against any transactional client.
//
// It lives in the e2e module because e2e may require anything and nothing
// requires e2e: the checker is a test tool, never part of a client's graph.
// The package itself imports only the standard library; the run against
// tikvsim through the facade, under faults, is TestSnapshotIsolationListAppend
// in package e2e. The package's own tests run the workload against an
// in-memory snapshot-isolated store and against two with planted bugs.
//
// Pessimistic transactions fit when every read is a locking read (the
// value at the for-update timestamp, locked until commit). A plain snapshot
// read followed by a write of the locked key is not snapshot isolated in
// TiKV by design (the write conflict is checked against the for-update
// timestamp, not the start timestamp) and shows up here as lost writes.
//
// # Workload
//
// Every key holds a list of integers. A transaction is a short sequence of
// micro-operations: append(k, v) adds v to the end of k's list (v is unique
// per key across the whole run) and read(k) returns the whole list. Because
// values are unique and lists only grow, each read names the exact version of
// the key it saw, and the longest read of a key reveals the order in which
// the versions were installed. [Run] executes generated transactions through
// the small [TxnClient] interface, storing a list as one encoded value and
// appending by read-modify-write (Get, append, Set), and returns the
// [History].
//
// # Outcomes
//
// A transaction is [Committed], [Aborted] (the database said so) or [Unknown]
// (the commit answer was lost: it may or may not have taken effect). An
// unknown transaction is treated as possibly committed: its appends may
// appear in reads without any anomaly, and it is never blamed for a lost
// write. Reads of committed and unknown transactions are observations of the
// database; reads of aborted transactions are ignored.
//
// # Inference
//
// For each key the version order is taken from the longest observed read;
// every other read of the key must be a prefix of it. Within a transaction
// only external reads count: a read of a key the transaction itself already
// appended to is stripped of its own trailing elements first. The checker
// then builds a dependency graph over the committed and unknown
// transactions, where for consecutive elements a, b of a key's order:
//
//   - ww (write-write): the writer of a precedes the writer of b;
//   - wr (write-read): the writer of the last element of a read precedes
//     the reader;
//   - rw (read-write, anti-dependency): a transaction that read the version
//     ending at a (or the empty list, when a would be the first element)
//     precedes the writer of the element that follows it.
//
// # Anomalies
//
// Snapshot isolation forbids every kind below; [Result.Valid] is false when
// any is found. Each [Anomaly] names the transactions involved and, for
// cycles, the cycle with the key and the kind of every edge.
//
//   - [G0] (dirty write): a cycle made only of ww edges.
//   - [G1a] (aborted read): a committed transaction read an element appended
//     by an aborted transaction.
//   - [G1b] (intermediate read): a committed transaction read a list ending
//     in an element after which its writer appended again to the same key,
//     i.e. a state in the middle of another transaction.
//   - [G1c] (circular information flow): a cycle of ww and wr edges with at
//     least one wr edge.
//   - [GSingle] (G-single, read skew): a cycle with exactly one rw edge, the
//     rest ww or wr. SI forbids it because a snapshot either contains a
//     committed writer or does not.
//   - [IncompatibleOrder]: two reads of a key that are not prefixes of one
//     another, so no single version order explains them.
//   - [Duplicate]: a read lists the same element twice.
//   - [Garbage]: a read lists an element that no transaction appended.
//   - [LostWrite]: a committed append is missing from a key's version order
//     although some transaction that started after the append committed
//     read the key (needs start and commit timestamps).
//
// Cycles with two or more rw edges (G2, including write skew) are allowed by
// snapshot isolation and are not reported. Cycles are found per strongly
// connected component (Tarjan), then a breadth-first search gives the
// shortest cycle of the required edge mix; one cycle of each kind is
// reported per component.
package sicheck
