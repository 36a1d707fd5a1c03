// Package kvrpc owns the store RPC layer: a connection pool per TiKV store, the
// BatchCommands streaming client that packs concurrent requests into one stream
// message, the unary path for commands that cannot be batched, and the
// interceptor chain every request passes through.
//
// It does not know about regions, leaders or retries across stores; package
// locate builds the region-aware sender on top of it.
package kvrpc
