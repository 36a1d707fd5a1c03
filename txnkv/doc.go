// Package txnkv owns the transactional API of TiKV: transactions (optimistic
// and pessimistic), snapshot, stale and follower reads, lock resolution, local
// latches and GC safe points as a user sees them.
//
// It does not implement the commit protocol itself (package twopc does) and
// never imports rawkv.
//
// The transaction write buffer is the public package
// [github.com/tikvgo/tikvgo/txnkv/memdb] rather than an internal one: a
// caller that drives twopc directly (a bulk loader, a tool replaying
// mutations) needs an ordered, staged buffer with flags as much as a
// transaction does, and memdb depends only on the standard library and retry
// (for the shared size-limit sentinels), so making it public costs its users
// nothing: no kvproto, no gRPC.
package txnkv
