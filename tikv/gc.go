package tikv

import (
	"context"
	"fmt"

	"github.com/tikvgo/tikvgo/gc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/locate/keycodec"
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

// ErrUnifiedGC: a GC round in an API V2 keyspace that does not run
// keyspace-level GC (gc.ErrUnifiedGC).
var ErrUnifiedGC = gc.ErrUnifiedGC

// WithGCProgress reports a range task's progress to fn; see
// gc.WithProgress.
func WithGCProgress(fn func(GCProgress)) GCTaskOption { return gc.WithProgress(fn) }

// GC returns the client's GC client, building it on first use over the
// shared region cache, store connections and PD client, with the
// transactional client's lock resolver (Client.Txn is started too; ctx
// bounds only those starts). It is closed by Client.Close.
//
// Under API V2 it is scoped to the client's keyspace: rounds, DeleteRange
// and UnsafeDestroyRange touch only the keyspace's transactional keys, and
// the GC state is the keyspace's. A round needs a keyspace that runs
// keyspace-level GC (PD's gc_management_type "keyspace_level"); in a
// keyspace under unified GC it fails with ErrUnifiedGC, while State,
// barriers and CheckReadTS act on the unified (null keyspace) state.
//
// The GC client and the transactional client share one cached txn safe
// point: a read below it fails with ErrGCTooEarly from both this client's
// CheckReadTS and transactional reads, and a round run here is seen by the
// next read at once.
func (c *Client) GC(ctx context.Context) (*GCClient, error) {
	if c.cfg.apiVersion != V1 && c.cfg.apiVersion != V2 {
		// V1TTL storage serves raw keys only: there are no locks or
		// versions for a round to handle.
		return nil, fmt.Errorf("tikv: %w: GC under %v: the storage has no transactional keys", ErrInvalidOption, c.cfg.apiVersion)
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
		opts := []gc.Option{gc.WithLogger(c.cfg.logger)}
		if sp := txn.SafePoints(); sp != nil {
			opts = append(opts, gc.WithSafePointCache(sp))
		}
		if c.cfg.apiVersion == V2 {
			codec, err := keycodec.NewV2(keycodec.Txn, txn.KeyspaceID())
			if err != nil {
				return nil, fmt.Errorf("tikv: GC client: %w", err)
			}
			opts = append(opts, gc.WithCodec(codec), gc.WithKeyspaceID(txn.KeyspaceID()))
		}
		g, err := gc.New(c.pd, locate.NewSender(c.cache, c.rpc), c.rpc, txn.Committer().Resolver(), opts...)
		if err != nil {
			return nil, fmt.Errorf("tikv: GC client: %w", err)
		}
		c.gc = g
	}
	return c.gc, nil
}
