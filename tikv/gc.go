package tikv

import (
	"context"
	"fmt"

	"github.com/tikvgo/tikvgo/gc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/twopc"
)

// GCClient runs GC rounds and range deletes and holds the cached txn safe
// point; see package gc. It is safe for concurrent use.
type GCClient = gc.Client

// GC types re-exported from package gc.
type (
	// GCResult is the outcome of one GC round.
	GCResult = gc.Result
	// GCProgress reports how far a range task is.
	GCProgress = gc.Progress
	// GCTaskOption configures one range task (WithGCProgress).
	GCTaskOption = gc.TaskOption
	// GCTooEarlyError reports a read below the txn safe point.
	GCTooEarlyError = gc.TooEarlyError
	// GCStoreError reports a store that failed UnsafeDestroyRange.
	GCStoreError = gc.StoreError
)

// ErrGCTooEarly is gc's sentinel: a read ts is below the txn safe point.
var ErrGCTooEarly = gc.ErrTooEarly

// WithGCProgress reports a range task's progress to fn; see
// gc.WithProgress.
func WithGCProgress(fn func(GCProgress)) GCTaskOption { return gc.WithProgress(fn) }

// GC returns the client's GC client, building it on first use over the
// shared region cache, store connections, PD client and TSO (ctx bounds
// only the TSO start). It is closed by Client.Close. Only API V1 is
// supported today: keyspace-scoped GC needs the keyspace's GC state and
// codec, which the facade does not wire yet.
func (c *Client) GC(ctx context.Context) (*GCClient, error) {
	if c.cfg.apiVersion != V1 {
		return nil, fmt.Errorf("tikv: %w: GC under %v is not supported yet", ErrInvalidOption, c.cfg.apiVersion)
	}
	t, err := c.TSO(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errClientClosed
	}
	if c.gc != nil {
		return c.gc, nil
	}
	snd := locate.NewSender(c.cache, c.rpc)
	tp, err := twopc.New(snd, t)
	if err != nil {
		return nil, fmt.Errorf("tikv: GC lock resolver: %w", err)
	}
	g, err := gc.New(c.pd, snd, c.rpc, tp.Resolver(), gc.WithLogger(c.cfg.logger))
	if err != nil {
		_ = tp.Close()
		return nil, fmt.Errorf("tikv: GC client: %w", err)
	}
	c.gcTP, c.gc = tp, g
	return g, nil
}
