package txnkv

import (
	"context"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/metapb"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/tso"
)

// storeLister is the optional part of a GCStateSource that lists the
// cluster's stores (*pdclient.Client has it); bounded staleness needs it.
type storeLister interface {
	GetAllStores(ctx context.Context, opts ...pdclient.StoreOption) ([]*metapb.Store, error)
}

// boundedStaleTS picks the start ts of a bounded-staleness read: the
// newest ts every store can serve locally (the minimum of the stores'
// safe ts), but no older than now-maxStaleness and no newer than now.
// When the stores cannot be asked, it falls back to now-maxStaleness,
// which is always correct (a replica behind it sends the read to the
// leader).
func (c *Client) boundedStaleTS(ctx context.Context, now tso.Timestamp, cfg *txnConfig) tso.Timestamp {
	lower := tso.Compose(now.Physical()-cfg.maxStaleness.Milliseconds(), 0)
	safe, ok := c.minSafeTS(ctx)
	switch {
	case !ok || safe <= lower:
		return lower
	case safe >= now:
		return now
	}
	return safe
}

// minSafeTS asks every up store for its safe ts and returns the smallest;
// ok is false when any store could not say.
func (c *Client) minSafeTS(ctx context.Context) (tso.Timestamp, bool) {
	sl, ok := c.gc.(storeLister)
	if !ok || c.rpc == nil {
		return 0, false
	}
	stores, err := sl.GetAllStores(ctx, pdclient.WithExcludeTombstones())
	if err != nil {
		return 0, false
	}
	var min tso.Timestamp
	for _, s := range stores {
		if s.GetState() != metapb.StoreState_Up || s.GetAddress() == "" {
			continue
		}
		req := kvrpc.NewStoreSafeTS(&kvrpcpb.StoreSafeTSRequest{KeyRange: &kvrpcpb.KeyRange{}})
		resp, err := c.rpc.Send(ctx, s.GetAddress(), req)
		if err != nil {
			return 0, false
		}
		ts := tso.Timestamp(resp.Message().(*kvrpcpb.StoreSafeTSResponse).GetSafeTs())
		if ts == 0 {
			return 0, false // a store that knows no safe ts yet
		}
		if min == 0 || ts < min {
			min = ts
		}
	}
	return min, min != 0
}
