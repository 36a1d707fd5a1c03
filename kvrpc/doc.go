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
// Each pooled connection owns one BatchCommands stream. Its requests are
// combined into stream messages by the callers themselves: a caller queues
// its encoded request and, if nobody is sending on the connection, sends
// everything queued (its own and whatever others queued meanwhile) in one
// message, and again while more arrived, before it waits for its answer;
// callers that find someone sending only queue and are carried by the next
// message. So a lone request leaves at once from its caller's goroutine,
// and under load the requests that queue while a message is written leave
// together (up to [WithMaxBatchSize]), without a goroutine hand-off per
// request. When many callers wait on one connection, whoever sends yields
// the processor once before taking the queue, so callers about to queue
// join the message; at low load it never does. The connection's sender
// goroutine takes over from a caller that has sent several messages for
// others, and does the sending while the store reports a high
// transport-layer load under [WithOverloadBatchWait], waiting a bounded time
// to pack more. Responses are routed back by request id, in whatever order
// the store answers. When a stream fails, every request in flight on it
// fails with an [*RPCError] wrapping [ErrStreamBroken], and the next request
// opens a new stream.
//
// [Request.SetTimeout] bounds a request's send without a derived ctx: a
// batched request is timed by a timer kept with its pooled queue entry, so
// a retry loop that bounds every attempt (package locate's sender) pays no
// allocation for it. The client keeps no reference to a request once Send
// returned: batched requests are encoded in the caller's goroutine, so the
// caller may reuse the request and its message.
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
