package locate

import (
	"log/slog"

	"github.com/pingcap/kvproto/pkg/metapb"

	"github.com/tikvgo/tikvgo/pdclient"
)

// InvalidateRegion marks the cached region with the given id invalid, so the
// next lookup reloads it from PD.
func (c *Cache) InvalidateRegion(id uint64, reason InvalidReason) {
	if r := c.regionOfID(id); r != nil {
		c.invalidate(r, reason)
		c.cfg.logger.Info("locate: region invalidated", slog.Uint64("region_id", id), slog.String("reason", reason.String()))
	}
}

// UpdateLeader applies a NotLeader hint: the region at ver is now led by
// leader. It reports false, after invalidating the region, when the hint
// names a peer the cached region does not have (the peer list is stale).
// Hints for an epoch the cache no longer holds are ignored.
func (c *Cache) UpdateLeader(ver VerID, leader *metapb.Peer) bool {
	r := c.CachedRegion(ver)
	if r == nil || leader == nil {
		return r != nil
	}
	if !r.switchLeader(leader.GetId(), leader.GetStoreId()) {
		c.invalidate(r, NoLeader)
		c.cfg.logger.Info("locate: leader hint names unknown peer", slog.Uint64("region_id", ver.ID),
			slog.Uint64("store_id", leader.GetStoreId()))
		return false
	}
	return true
}

// OnEpochNotMatch handles an EpochNotMatch error for ver that the store
// servedBy returned with its current regions. It invalidates ver and caches
// the store's regions (the store that answered leads them, as far as we
// know). It reports true when the store is behind the cache (its epoch for
// the region is older than ours): the request may then be retried after a
// backoff; otherwise the caller must re-split the request by the new regions.
func (c *Cache) OnEpochNotMatch(ver VerID, servedBy uint64, current []*metapb.Region) (storeBehind bool) {
	for _, m := range current {
		if m.GetId() == ver.ID {
			e := m.GetRegionEpoch()
			if e.GetVersion() < ver.Ver || e.GetConfVer() < ver.ConfVer {
				return true
			}
		}
	}
	c.InvalidateRegion(ver.ID, EpochNotMatch)
	rs := make([]*Region, 0, len(current))
	for _, m := range current {
		pr := &pdclient.Region{Meta: m}
		for _, p := range m.GetPeers() {
			if p.GetStoreId() == servedBy {
				pr.Leader = p
			}
		}
		if len(m.GetPeers()) == 0 {
			continue
		}
		rs = append(rs, newRegion(pr))
	}
	c.insertAll(rs)
	return false
}

// UpdateBuckets installs bucket boundaries for the region at ver if they are
// newer than the cached ones.
func (c *Cache) UpdateBuckets(ver VerID, b *metapb.Buckets) {
	r := c.CachedRegion(ver)
	if r == nil || b == nil {
		return
	}
	for {
		old := r.buckets.Load()
		if old != nil && old.GetVersion() >= b.GetVersion() {
			return
		}
		if r.buckets.CompareAndSwap(old, b) {
			return
		}
	}
}
