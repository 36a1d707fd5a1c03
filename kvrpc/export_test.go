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

// LingerWaiting exposes lingerWaiting: from that many callers waiting on a
// connection on, requests go through the sender goroutine.
const LingerWaiting = lingerWaiting
