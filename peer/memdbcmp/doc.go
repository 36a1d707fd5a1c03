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
// neighbours. Run of 2026-12-04 (2 cores shared, load average 15-25),
// medians of 5, client-go's CPU time over tikvgo's (above 1 means tikvgo is
// faster); Set in two runs, the second after the leaf-touch change, to show
// how far the figures move between runs on this machine:
//
//	keys                      1k         100k       1M
//	Set (record keys)        1.47/1.03  0.82/0.79  0.67/1.08
//	Set (random 16 B)        1.46/1.36  1.25/1.15  1.55/1.08
//	Get (record keys)        1.13       1.34       1.11
//	Get (random 16 B)        1.59       1.43       1.80
//	Get, key absent          0.93       3.47       3.62
//	Iter forward/reverse     1.01/1.20  0.95/0.84  1.03/0.73
//	Staging+16 Set+Cleanup   1.62       1.20       1.33
//	bytes/entry (record)     84/123     99/126     88/134
//	bytes/entry (random)     84/188     98/126     84/201
//
// tikvgo's bytes/entry are bytes/entry-read: Mem after one read, which
// builds the hash index a bulk load leaves out (bytes/entry, Mem right
// after the load, is 67-78 from 100k keys on). The absent keys are handles
// n..2n-1, past every key the buffer holds: tikvgo rejects them by its
// smallest and largest key, an ART at its second level.
package memdbcmp
