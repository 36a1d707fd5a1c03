package gc

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/metapb"
	"golang.org/x/sync/errgroup"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/retry"
)

// DeleteRange deletes every version of every key, and every lock, in the
// user range [start, end) (empty end: the end of the key space), region by
// region with KvDeleteRange through a [RangeTask]. It returns the final
// progress (Regions = regions deleted from).
//
// What it guarantees: when it returns nil, each region's part was deleted
// through Raft, so every replica applies it, and the deletion survives
// splits and leader changes that happen meanwhile (each region is located
// again when it is reached; a stale region is retried).
//
// What it does not: it is not a transaction and bypasses MVCC. Nothing is
// written at a timestamp, so snapshots at any ts, old or new, stop seeing
// the data; transactions writing in the range concurrently may or may not
// see their writes survive, and their locks are removed with no rollback
// record (a transaction whose lock vanished fails its commit); deleting the
// primary of a transaction whose secondaries outside the range are still
// being committed makes readers roll those secondaries back. It is not
// atomic across regions: on an error some regions are deleted and others
// not (call again; it is idempotent). Use it on ranges nobody reads or
// writes any more (a dropped table's), as TiDB does.
func (c *Client) DeleteRange(ctx context.Context, start, end []byte, opts ...TaskOption) (Progress, error) {
	if len(end) > 0 && bytes.Compare(start, end) >= 0 {
		return Progress{}, fmt.Errorf("gc: %w: [%q, %q)", ErrInvalidRange, start, end)
	}
	ws, we := c.codec.EncodeRange(start, end)
	prog, err := c.task(opts).Run(ctx, ws, we, func(ctx context.Context, bo *retry.Backoffer, s locate.Span) (bool, error) {
		end, err := c.deleteEnd(s)
		if err != nil {
			return false, err
		}
		req := kvrpc.NewDeleteRange(&kvrpcpb.DeleteRangeRequest{Context: c.codec.Context(), StartKey: s.Start, EndKey: end})
		resp, err := c.sender.Send(ctx, bo, req, s.Location.Region)
		if err != nil {
			return false, err
		}
		if msg := resp.Message().(*kvrpcpb.DeleteRangeResponse).GetError(); msg != "" {
			return false, fmt.Errorf("gc: delete range in region %d: %s", s.Location.Region.ID, msg)
		}
		return false, nil
	})
	if err != nil {
		return prog, fmt.Errorf("gc: delete range: %w", err)
	}
	return prog, nil
}

// deleteEnd returns the end key a KvDeleteRange for s carries. TiKV applies
// a delete only when the encoded end is within the region, so where the
// region ends at a boundary no wire key encodes to (a raw key, in a V1
// cluster shared with raw KV) the end sent is the largest storable wire key
// below the span's end (see keycodec.Codec.RequestEnd).
func (c *Client) deleteEnd(s locate.Span) ([]byte, error) {
	end, ok := c.codec.RequestEnd(s.End, s.Location.EndKey)
	if !ok {
		return nil, fmt.Errorf("gc: %w: region %d ends inside the versions of %q", ErrUnreachableEnd, s.Location.Region.ID, s.End[:len(s.End)-1])
	}
	return end, nil
}

// UnsafeDestroyRange sends UnsafeDestroyRange for the user range
// [start, end) to every live TiKV store (tombstones and TiFlash stores are
// skipped) in parallel, which deletes the range's data from each store's
// engine directly. Both bounds must be set.
//
// What it guarantees: when it returns nil, every store PD listed when the
// call started has deleted its copy, whatever the regions; it is fast for
// huge ranges and reclaims space at once.
//
// What it does not: it bypasses Raft, regions and MVCC. A store added, or a
// replica moved in, after the store list was read may still hold data; a
// replica snapshot sent later may bring data back. Readers and writers of
// the range get undefined results, so the range must never be used again
// (TiDB calls it for dropped tables after their GC safe point passed). A
// store that fails is reported as a [*StoreError] (all failures are
// joined); call again, it is idempotent.
func (c *Client) UnsafeDestroyRange(ctx context.Context, start, end []byte) error {
	if len(start) == 0 && c.codec.PrefixLen() == 0 || len(end) == 0 && c.codec.PrefixLen() == 0 {
		return fmt.Errorf("gc: %w: UnsafeDestroyRange needs both bounds", ErrInvalidRange)
	}
	if len(end) > 0 && bytes.Compare(start, end) >= 0 {
		return fmt.Errorf("gc: %w: [%q, %q)", ErrInvalidRange, start, end)
	}
	ws, we := c.codec.EncodeRange(start, end)
	stores, err := c.pd.GetAllStores(ctx)
	if err != nil {
		return fmt.Errorf("gc: list stores: %w", err)
	}
	var (
		g    errgroup.Group
		errs = make([]error, len(stores))
	)
	for i, s := range stores {
		if !destroyTarget(s) {
			continue
		}
		g.Go(func() error {
			errs[i] = c.destroyOnStore(ctx, s, ws, we)
			return nil
		})
	}
	_ = g.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("gc: unsafe destroy range: %w", err)
	}
	return nil
}

// destroyTarget reports whether a store takes UnsafeDestroyRange: live
// TiKV stores only (TiFlash has its own GC; tombstones are gone).
func destroyTarget(s *metapb.Store) bool {
	if s.GetState() == metapb.StoreState_Tombstone || s.GetNodeState() == metapb.NodeState_Removed {
		return false
	}
	for _, l := range s.GetLabels() {
		if l.GetKey() == "engine" && (l.GetValue() == "tiflash" || l.GetValue() == "tiflash_compute") {
			return false
		}
	}
	return true
}

// destroyOnStore sends one store its UnsafeDestroyRange; a send failure is
// retried within the budget, which is safe because the command is
// idempotent (deleting a deleted range changes nothing).
func (c *Client) destroyOnStore(ctx context.Context, s *metapb.Store, start, end []byte) error {
	bo := retry.New(c.cfg.budget)
	for {
		req := kvrpc.NewUnsafeDestroyRange(&kvrpcpb.UnsafeDestroyRangeRequest{Context: c.codec.Context(), StartKey: start, EndKey: end})
		resp, err := c.rpc.Send(ctx, s.GetAddress(), req)
		if err == nil {
			if msg := resp.Message().(*kvrpcpb.UnsafeDestroyRangeResponse).GetError(); msg != "" {
				return &StoreError{StoreID: s.GetId(), Addr: s.GetAddress(), Err: errors.New(msg)}
			}
			return nil
		}
		if berr := bo.Backoff(ctx, retry.TiKVRPC, err); berr != nil {
			return &StoreError{StoreID: s.GetId(), Addr: s.GetAddress(), Err: berr}
		}
	}
}
