// Package tso owns timestamps: a batching client of PD's Tso stream, and an
// oracle on top of it (current, low-resolution and stale timestamps, expiry
// checks, and conversions between timestamps and wall-clock time).
//
// It uses pdclient for member discovery and connections and never the other
// way round; it knows nothing about regions or stores.
//
// # Usage
//
//	c, err := tso.New(ctx, []string{"127.0.0.1:2379"}) // or tso.NewFromPD(ctx, pd)
//	if err != nil { ... }
//	defer c.Close()
//	ts, err := c.GetTS(ctx)
//	fmt.Println(ts.Physical(), ts.Logical(), ts.Time())
//
//	o, _ := tso.NewOracle(c) // low-resolution and stale timestamps
//	defer o.Close()
//
// # Batching and pipelining
//
// Callers join the group of requests waiting for the next round; a round
// asks PD for the whole group in one stream message and wakes every member
// with one channel close (each member knows its index in the answer). A
// caller that finds room in the stream's pipeline sends the waiting groups
// itself, so at low load a round carries one request and costs no hand-off
// to another goroutine; at high load requests queue while rounds are in
// flight and the next round carries all of them (the first caller back
// from a round of several yields once before sending, so the others join
// its round instead of following in rounds of one). Up to [WithPipelineDepth]
// rounds are in flight at once; one receive goroutine per stream answers
// them in the order they were sent (PD answers a stream's requests in
// order) and sends whatever queued meanwhile. A separate dispatcher
// goroutine only opens streams and backs off between failures. The queue
// is bounded ([WithMaxPending]); GetTS waits, honouring its ctx, while it
// is full.
//
// # Guarantees and errors
//
// Timestamps from one Client are unique and strictly increasing, across
// stream reconnects and PD leader changes: rounds are answered in the order
// they were sent, and a batch whose first timestamp is not above the last
// one handed out is discarded ([RegressionError]). When a stream breaks
// (error, timeout, leader change, regression), every round still in flight
// on it is sent again, in the same order and before anything queued later,
// on a new stream, with backoff, following the leader, for up to
// [WithRetryBudget]; only then do the waiting requests fail with the last
// error. A cluster-id mismatch fails at once. A cancelled ctx returns
// ctx.Err() at once; [ErrClosed] follows Close.
//
// A Client, an [Oracle] and a [Future] are safe for concurrent use.
package tso
