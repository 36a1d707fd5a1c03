package tikv

import (
	"context"
	"fmt"

	"github.com/tikvgo/tikvgo/gc"
	"github.com/tikvgo/tikvgo/locate"
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
	// GCStoreError reports a store that failed UnsafeDestroyRange.
	GCStoreError = gc.StoreError
)

// WithGCProgress reports a range task's progress to fn; see
// gc.WithProgress.
func WithGCProgress(fn func(GCProgress)) GCTaskOption { return gc.WithProgress(fn) }

// GC returns the client's GC client, building it on first use over the
// shared region cache, store connections and PD client, with the
// transactional client's lock resolver (Client.Txn is started too; ctx
// bounds only those starts). It is closed by Client.Close. Only API V1 is
// supported today: keyspace-scoped GC needs the keyspace's GC state and
// codec, which the facade does not wire yet.
//
// A read below the txn safe point fails with ErrGCTooEarly (gc's
// sentinel, which txnkv re-exports) from both this client's CheckReadTS
// and transactional reads.
func (c *Client) GC(ctx context.Context) (*GCClient, error) {
	if c.cfg.apiVersion != V1 {
		return nil, fmt.Errorf("tikv: %w: GC under %v is not supported yet", ErrInvalidOption, c.cfg.apiVersion)
	}
	txn, err := c.Txn(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errClientClosed
	}
	if c.gc == nil {
		g, err := gc.New(c.pd, locate.NewSender(c.cache, c.rpc), c.rpc, txn.Committer().Resolver(), gc.WithLogger(c.cfg.logger))
		if err != nil {
			return nil, fmt.Errorf("tikv: GC client: %w", err)
		}
		c.gc = g
	}
	return c.gc, nil
}
