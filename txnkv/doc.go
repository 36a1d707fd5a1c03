// Package txnkv owns the transactional API of TiKV: transactions (optimistic
// and pessimistic), snapshot, stale and follower reads, lock resolution, local
// latches and GC safe points as a user sees them.
//
// It does not implement the commit protocol itself (package twopc does) and
// never imports rawkv.
package txnkv
