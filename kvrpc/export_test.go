package kvrpc

import (
	"context"
	"fmt"
	"runtime"

	"google.golang.org/grpc/connectivity"
)

// Codec is the kvproto gRPC codec, exported so the fake store in tests
// decodes as cheaply as the client does.
var Codec = codec{}

// InFlight returns how many requests wait for a response on the streams to
// addr, so tests can check that abandoned requests are forgotten.
func (c *Client) InFlight(addr string) int {
	v, ok := c.pools.Load(addr)
	if !ok {
		return 0
	}
	n := 0
	for _, cn := range v.(*connPool).conns {
		if cn.batch == nil {
			continue
		}
		n += cn.batch.inFlight()
	}
	return n
}

// WaitConnsReady waits until every pooled connection to addr is ready (the
// picker hands out only ready ones while any is), or ctx ends.
func (c *Client) WaitConnsReady(ctx context.Context, addr string) error {
	v, ok := c.pools.Load(addr)
	if !ok {
		return fmt.Errorf("no pool for %s", addr)
	}
	for _, cn := range v.(*connPool).conns {
		for s := cn.cc.GetState(); s != connectivity.Ready; s = cn.cc.GetState() {
			if !cn.cc.WaitForStateChange(ctx, s) {
				return ctx.Err()
			}
		}
		// The watcher publishes the state a moment after gRPC changes it.
		for !cn.ready.Load() {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			runtime.Gosched()
		}
	}
	return nil
}

// LingerWaiting exposes lingerWaiting.
const LingerWaiting = lingerWaiting

// batchConnTo returns the batch sender of the only connection to addr.
func (c *Client) batchConnTo(addr string) *batchConn {
	v, ok := c.pools.Load(addr)
	if !ok {
		panic("no pool for " + addr)
	}
	return v.(*connPool).conns[0].batch
}

// HoldSend takes the send lock of the first connection to addr as a sending
// caller holds it, so that callers only queue. release sends what they
// queued the way such a caller does, and gives the lock back.
func (c *Client) HoldSend(addr string) (release func()) {
	b := c.batchConnTo(addr)
	b.sendMu.Lock()
	return func() { b.combine(maxCombineRounds) }
}

// Queued returns how many requests are queued on the connections to addr,
// abandoned ones included.
func (c *Client) Queued(addr string) int {
	v, ok := c.pools.Load(addr)
	if !ok {
		return 0
	}
	n := 0
	for _, cn := range v.(*connPool).conns {
		cn.batch.qmu.Lock()
		n += len(cn.batch.queued)
		cn.batch.qmu.Unlock()
	}
	return n
}

// WaitQueued waits until n requests are queued on the first connection to
// addr, or ctx ends.
func (c *Client) WaitQueued(ctx context.Context, addr string, n int) error {
	b := c.batchConnTo(addr)
	for {
		b.qmu.Lock()
		q := len(b.queued)
		b.qmu.Unlock()
		if q >= n {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		runtime.Gosched()
	}
}
