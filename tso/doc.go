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
// # Batching
//
// One dispatcher goroutine per [Client] owns the Tso stream. Callers join the
// group of requests queued for the next round; the dispatcher takes the whole
// group, asks PD for all of it in one stream message, and wakes every member
// with one channel close (each member knows its index in the answer). At low load a round carries one
// request and nothing waits; at high load requests queue up while a round is
// in flight and the next round carries all of them. The queue is bounded
// ([WithMaxPending]); GetTS waits, honouring its ctx, while it is full.
//
// # Guarantees and errors
//
// Timestamps from one Client are unique and strictly increasing, across
// stream reconnects and PD leader changes: a batch whose first timestamp is
// not above the last one handed out is discarded ([RegressionError]). Failed
// rounds (broken stream, timeout, leader change, regression) are retried with
// backoff, following the leader, for up to [WithRetryBudget]; only then do the
// queued requests fail with the last error. A cluster-id mismatch fails at
// once. A cancelled ctx returns ctx.Err() at once; [ErrClosed] follows Close.
//
// A Client, an [Oracle] and a [Future] are safe for concurrent use.
package tso
