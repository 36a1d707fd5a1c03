package kvrpc

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// ErrNotServing is wrapped by the error [Client.CheckHealth] returns when the
// store answered its health check with anything but SERVING.
var ErrNotServing = errors.New("kvrpc: store not serving")

// CheckHealth asks the store at addr, through the grpc.health.v1 service
// TiKV serves, whether it is serving; nil means it is. The ctx deadline
// bounds the probe.
//
// The probe runs over the connections requests use. Before it, every one of
// them that is waiting out gRPC's reconnect backoff after a failed connect is
// told to connect again at once: a store that came back is then reachable as
// soon as a probe has seen it, not after a backoff that grows to minutes
// during a long outage. A store that is still down refuses the connect and
// the probe fails at its deadline.
func (c *Client) CheckHealth(ctx context.Context, addr string) error {
	if addr == "" {
		return ErrInvalidRequest
	}
	p, err := c.pool(addr)
	if err != nil {
		return err
	}
	for _, cn := range p.conns {
		// Only a connection in transient failure waits out a backoff. The
		// guard also keeps clear of a grpc-go race (v1.85): the reset
		// iterates the channel's subchannel map without its lock, which
		// races with the channel creating its subchannel when it leaves
		// idle; in transient failure that set does not change.
		if cn.cc.GetState() == connectivity.TransientFailure {
			cn.cc.ResetConnectBackoff()
		}
	}
	// Waiting for ready lets the probe ride out the reconnect it just
	// triggered (which runs asynchronously); a store that stays down costs
	// the probe its whole deadline.
	resp, err := healthpb.NewHealthClient(p.conns[0].cc).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
	if err != nil {
		if p.ctx.Err() != nil {
			err = p.closedErr()
		}
		return fmt.Errorf("kvrpc: health check of %s: %w", addr, err)
	}
	if st := resp.GetStatus(); st != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("%w: %s answers %s", ErrNotServing, addr, st)
	}
	return nil
}
