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
// Run (per size, the two clients run back to back, so load on a shared
// machine hits both much alike; -count repeats each one in a row):
//
//	cd peer/memdbcmp && GOWORK=off go test -run '^$' -bench . -benchmem -count 5 .
//
// Compare cpu-ns/key (or cpu-ns/op): process CPU time per unit, GC
// included; wall-clock ns/op on a shared machine mostly measures the
// neighbours. Run of 2026-12-04 16:48 (2 cores shared, load average
// 5-6), medians of 5, client-go's CPU time over tikvgo's (above 1 means
// tikvgo is faster). Rows that read a filled buffer read one key before
// the timer (see filled), so tikvgo's lazy hash build is in none of them.
// Between runs on this machine a row moves by up to about 0.3 (Set at 100k
// read 0.79 in the run before, with no change to Set since):
//
//	keys                      1k         100k       1M
//	Set (record keys)        1.10       1.25       1.04
//	Set (random 16 B)        1.40       1.47       2.45
//	Get (record keys)        1.03       1.19       1.20
//	Get (random 16 B)        1.90       1.91       2.89
//	Get, key absent          2.97       5.53       3.93
//	Iter forward/reverse     1.02/1.03  2.59/2.74  2.13/1.98
//	Staging+16 Set+Cleanup   2.05       1.46       2.26
//	bytes/entry (record)     84/123     99/126     88/134
//	bytes/entry (random)     84/188     98/126     84/201
//
// tikvgo's bytes/entry are bytes/entry-read: Mem after one read, which
// builds the hash index a bulk load leaves out (bytes/entry, Mem right
// after the load, is 67-78 from 100k keys on). The absent keys are handles
// n..2n-1, past every key the buffer holds: tikvgo rejects them by its
// largest key (and, from 8192 keys, its smallest) before any search, an ART
// at its second level; absent keys inside the range would cost a search.
package memdbcmp
