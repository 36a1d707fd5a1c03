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
// neighbours. Run of 2026-12-04 19:48 (2 cores shared, load average
// 0.7-1.2), medians of 3, client-go's CPU time over tikvgo's (above 1 means
// tikvgo is faster). Rows that read a filled buffer read one key and scan
// once before the timer (see filled), so tikvgo's lazy setup (hash build,
// ordering of the keys written past 8192) is in none of them; FillIter
// times a fill and the first scan, setup included. Between runs on this
// machine a row moves by up to about 0.3:
//
//	keys                      1k         100k       1M
//	Set (record keys)        1.12       1.15       2.01
//	Set (random 16 B)        1.87       1.73       2.90
//	Fill + first scan        1.34       1.10       1.48
//	Get (record keys)        1.04       1.21       1.29
//	Get (random 16 B)        2.00       1.81       2.41
//	Get, key absent          3.25       3.85       4.09
//	Iter forward/reverse     1.40/1.21  1.31/1.33  2.36/2.36
//	Staging+16 Set+Cleanup   1.95       2.03       1.61
//	bytes/entry (record)     84/123     95/126     85/134
//	bytes/entry (random)     84/188     95/126     81/201
//
// tikvgo's bytes/entry are bytes/entry-read: Mem after one read and one
// scan, with the hash index and the whole tree (bytes/entry, Mem right
// after the load, is 69-85: the keys written past 8192 are not in the tree
// yet). The absent keys are handles n..2n-1, past every key the buffer
// holds: tikvgo rejects them by its largest key (and, from 8192 keys on,
// its smallest) before any search, an ART at its second level; absent keys
// inside the range would cost a search.
package memdbcmp
