// Package memdbcmp benchmarks tikvgo's write buffer (txnkv/memdb) against
// client-go's ART memdb with the same keys in the same process.
//
// It is a module of its own, outside go.work, so that client-go's kvproto
// (newer than the workspace's pin) never enters the product build: memdb
// imports no kvproto, so one build list holds both sides. client-go's memdb
// is internal (internal/unionstore); the public way to reach it is a
// KVTxn's MemBuffer, built here without a store, which no MemBuffer method
// touches.
//
// Run (sub-benchmarks of the two clients alternate, so load on a shared
// machine hits both alike):
//
//	cd peer/memdbcmp && GOWORK=off go test -run '^$' -bench . -benchtime 1s -count 3
//
// Compare cpu-ns/key (or cpu-ns/op): process CPU time per unit, GC
// included; wall-clock ns/op on a shared machine mostly measures the
// neighbours. Run of 2026-12-04 (2 cores shared, load 9-14), medians of 3,
// client-go's CPU time over tikvgo's (above 1 means tikvgo is faster):
//
//	keys                      1k     100k   1M
//	Set (record keys)        1.11   0.61   0.69
//	Set (random 16 B)        1.70   0.70   0.87
//	Get (record keys)        1.43   1.78   1.22
//	Get (random 16 B)        1.96   2.38   2.54
//	Get, key absent          0.92   0.99   0.48
//	Iter forward/reverse     1.04/0.87  0.90/1.15  0.93/1.03
//	Staging+16 Set+Cleanup   1.46   2.09   1.70
//	bytes/entry (record)     84/123   99/126   88/134
//	bytes/entry (random)     84/188   98/126   84/201
//
// The absent keys are handles n..2n-1, a range disjoint from the buffer's,
// which an ART rejects at its second level.
package memdbcmp
