// Package kvrpc owns the store RPC layer: a pool of gRPC connections per TiKV
// store, the BatchCommands streaming client that packs concurrent requests
// into one stream message, the unary path for commands that cannot be
// batched, and the interceptor chain every request passes through.
//
// It does not know about regions, leaders or retries across stores; package
// locate builds the region-aware sender on top of it.
//
// # Usage
//
//	c, err := kvrpc.New(kvrpc.WithConnectionCount(4), kvrpc.WithInterceptors(metrics))
//	if err != nil { ... }
//	defer c.Close()
//	resp, err := c.Send(ctx, "10.0.0.1:20160", kvrpc.NewRawGet(&kvrpcpb.RawGetRequest{Key: k}))
//	if err != nil { ... }                     // transport failure: *RPCError
//	if re := resp.RegionError(); re != nil { ... } // region error: the caller's business
//	value := resp.Message().(*kvrpcpb.RawGetResponse).Value
//
// # Batching
//
// Each pooled connection owns one BatchCommands stream and one sender
// goroutine. The sender sends whatever is queued as soon as it is free, so a
// request at low load leaves at once, and under load the requests that queue
// while the previous message is being written leave together (up to
// [WithMaxBatchSize]). When many callers wait on one connection the sender
// yields the processor once before sending, so callers about to queue join
// the message; at low load it never does. Below that load a caller that
// finds nobody else sending on its connection skips the hand-off and writes
// its one-request message itself. [WithOverloadBatchWait] adds a bounded wait only while
// the store reports a high transport-layer load. Responses are routed back by
// request id, in whatever order the store answers. When a stream fails, every
// request in flight on it fails with an [*RPCError] wrapping
// [ErrStreamBroken], and the next request opens a new stream.
//
// # Decoding
//
// Responses to the raw point, batch and scan commands and to the
// transactional reads (KvGet, KvBatchGet, KvScan) are decoded by hand from a
// private copy of each response's bytes: a batch get or scan response holds
// one slab of KvPairs whose keys and values are sub-slices (with capacity
// capped) of that copy, so keeping one value keeps only its own response
// alive. Other commands use the generated kvproto decoders.
//
// # Concurrency and errors
//
// A [Client] is safe for concurrent use; a [Request] must not be sent
// concurrently with itself. The ctx passed to [Client.Send] bounds that one
// attempt. Transport failures are [*RPCError] values: Retryable reports
// whether another attempt may succeed, Sent whether the store may have
// received the request (a request that is not [Request.Idempotent] may only
// be retried when it did not).
//
// # Command table
//
// The constructors ([NewGet], [NewRawPut], ...) and the per-command table
// behind them (commands.go) are generated from the kvproto service
// descriptors by internal/cmdgen; the hand-kept part, including each
// command's idempotency decision, is internal/cmdgen/policy.go. Run
// go generate after changing it or upgrading kvproto; a test fails while
// commands.go is stale.
//
// Close is
// idempotent and returns after every goroutine stopped; calls made after it
// fail with [ErrClosed].
package kvrpc
