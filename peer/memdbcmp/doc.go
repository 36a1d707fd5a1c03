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
package memdbcmp
