package tikvsim

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/pingcap/kvproto/pkg/errorpb"
	"github.com/pingcap/kvproto/pkg/metapb"
)

// splitRegionRPC is the SplitRegion RPC's admin path: version check, key
// validation, then a batch split.
func (c *Cluster) splitRegionRPC(regionID, version uint64, keys [][]byte) ([]*metapb.Region, *errorpb.Error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.regions.byID[regionID]
	if !ok {
		return nil, &errorpb.Error{Message: fmt.Sprintf("region %d not found", regionID), RegionNotFound: &errorpb.RegionNotFound{RegionId: regionID}}
	}
	if r.meta.GetRegionEpoch().GetVersion() != version {
		return nil, &errorpb.Error{Message: "epoch not match", EpochNotMatch: &errorpb.EpochNotMatch{CurrentRegions: []*metapb.Region{r.meta}}}
	}
	valid, e := prepareSplitKeys(r, keys)
	if e != nil {
		return nil, e
	}
	parts := c.splitLocked(r, valid)
	_, idx := c.regions.byKey(r.meta.GetStartKey())
	c.regions.replace(idx, 1, parts...)
	out := make([]*metapb.Region, len(parts))
	for i, p := range parts {
		out[i] = p.meta
	}
	c.log.Info("tikvsim: region split", "region_id", regionID, "parts", len(parts))
	return out, nil
}

// splitAt splits the regions containing each region key (one split per
// key) and returns the id of each new left region.
func (c *Cluster) splitAt(keys [][]byte) ([]uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ids []uint64
	for _, k := range keys {
		r, idx := c.regions.byKey(k)
		if r == nil || len(k) == 0 || bytes.Equal(k, r.meta.GetStartKey()) {
			return ids, fmt.Errorf("%w: %x", ErrInvalidSplitKey, k)
		}
		parts := c.splitLocked(r, [][]byte{k})
		c.regions.replace(idx, 1, parts...)
		ids = append(ids, parts[0].meta.GetId())
		c.log.Info("tikvsim: region split", "region_id", r.meta.GetId(), "new_region_id", parts[0].meta.GetId())
	}
	return ids, nil
}

// SplitRegion splits the region containing the transactional key key at
// EncodeKey(key), as a SplitRegion RPC with is_raw_kv=false would. It
// returns the new (left) region's id; the original id keeps the right part.
func (c *Cluster) SplitRegion(key []byte) (uint64, error) {
	return c.SplitRegionAt(EncodeKey(key))
}

// SplitRegionAt splits the region containing the region key k exactly at k
// (use it for API V1 raw keys, which are region keys as they are).
func (c *Cluster) SplitRegionAt(k []byte) (uint64, error) {
	ids, err := c.splitAt([][]byte{k})
	if err != nil {
		return 0, err
	}
	return ids[0], nil
}

// MergeRegions merges region source into its neighbour target, as PD's
// merge does: source gets version+1 and conf_ver+1 at PrepareMerge, then
// target covers both ranges with version max(source, target)+1 and keeps
// its peers and leader; source disappears (RegionNotFound). The new leader
// resyncs max_ts, as after any leadership change.
func (c *Cluster) MergeRegions(sourceID, targetID uint64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	src, ok := c.regions.byID[sourceID]
	if !ok {
		return fmt.Errorf("%w: %d", ErrRegionNotFound, sourceID)
	}
	dst, ok := c.regions.byID[targetID]
	if !ok {
		return fmt.Errorf("%w: %d", ErrRegionNotFound, targetID)
	}
	srcVer := src.meta.GetRegionEpoch().GetVersion() + 1
	ver := max(srcVer, dst.meta.GetRegionEpoch().GetVersion()) + 1
	var merged *region
	switch {
	case bytes.Equal(src.meta.GetEndKey(), dst.meta.GetStartKey()) && len(src.meta.GetEndKey()) > 0:
		merged = dst.with(func(n *region) {
			n.meta.StartKey = bytes.Clone(src.meta.GetStartKey())
			n.meta.RegionEpoch.Version = ver
		})
	case bytes.Equal(dst.meta.GetEndKey(), src.meta.GetStartKey()) && len(dst.meta.GetEndKey()) > 0:
		merged = dst.with(func(n *region) {
			n.meta.EndKey = bytes.Clone(src.meta.GetEndKey())
			n.meta.RegionEpoch.Version = ver
		})
	default:
		return fmt.Errorf("%w: %d and %d", ErrNotAdjacent, sourceID, targetID)
	}
	_, si := c.regions.byKey(src.meta.GetStartKey())
	_, di := c.regions.byKey(dst.meta.GetStartKey())
	lo := min(si, di)
	c.regions.replace(lo, 2, merged)
	c.engine.UpdateMaxTS(c.tso.next())
	c.log.Info("tikvsim: regions merged", "region_id", targetID, "source_region_id", sourceID)
	return nil
}

// TransferLeader moves the leadership of a region to its peer on storeID.
// The term grows and the store's max_ts is raised to a fresh TSO before the
// new leader serves, as TiKV does on every leader change.
func (c *Cluster) TransferLeader(regionID, storeID uint64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.regions.byID[regionID]
	if !ok {
		return fmt.Errorf("%w: %d", ErrRegionNotFound, regionID)
	}
	p := r.peerOn(storeID)
	if p == nil {
		return fmt.Errorf("%w: region %d, store %d", ErrNoSuchPeer, regionID, storeID)
	}
	if p.GetRole() == metapb.PeerRole_Learner {
		return ErrLearnerLeader
	}
	if r.leader == storeID {
		return nil
	}
	c.engine.UpdateMaxTS(c.tso.next())
	c.regions.update(r.with(func(n *region) {
		n.leader = storeID
		n.term++
	}))
	c.log.Info("tikvsim: leader transferred", "region_id", regionID, "store_id", storeID)
	return nil
}

// AddPeer adds a voter of the region on storeID (conf_ver+1).
func (c *Cluster) AddPeer(regionID, storeID uint64) error {
	return c.addPeer(regionID, storeID, metapb.PeerRole_Voter)
}

// AddLearner adds a learner of the region on storeID (conf_ver+1).
func (c *Cluster) AddLearner(regionID, storeID uint64) error {
	return c.addPeer(regionID, storeID, metapb.PeerRole_Learner)
}

func (c *Cluster) addPeer(regionID, storeID uint64, role metapb.PeerRole) error {
	if _, err := c.store(storeID); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.regions.byID[regionID]
	if !ok {
		return fmt.Errorf("%w: %d", ErrRegionNotFound, regionID)
	}
	if r.peerOn(storeID) != nil {
		return fmt.Errorf("%w: region %d, store %d", ErrPeerExists, regionID, storeID)
	}
	c.regions.update(r.with(func(n *region) {
		n.meta.Peers = append(n.meta.Peers, &metapb.Peer{Id: c.allocID(), StoreId: storeID, Role: role})
		n.meta.RegionEpoch.ConfVer++
	}))
	return nil
}

// RemovePeer removes the region's peer on storeID (conf_ver+1). The leader
// cannot be removed; transfer it first.
func (c *Cluster) RemovePeer(regionID, storeID uint64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.regions.byID[regionID]
	if !ok {
		return fmt.Errorf("%w: %d", ErrRegionNotFound, regionID)
	}
	if r.peerOn(storeID) == nil {
		return fmt.Errorf("%w: region %d, store %d", ErrNoSuchPeer, regionID, storeID)
	}
	if r.leader == storeID {
		return ErrRemoveLeader
	}
	c.regions.update(r.with(func(n *region) {
		n.meta.Peers = slices.DeleteFunc(n.meta.Peers, func(p *metapb.Peer) bool { return p.GetStoreId() == storeID })
		n.meta.RegionEpoch.ConfVer++
	}))
	return nil
}

// SetSafeTS fixes the stale-read safe ts of a region; 0 restores the
// default (the last timestamp PD handed out).
func (c *Cluster) SetSafeTS(regionID, ts uint64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.regions.byID[regionID]
	if !ok {
		return fmt.Errorf("%w: %d", ErrRegionNotFound, regionID)
	}
	c.regions.update(r.with(func(n *region) { n.safeTS = ts }))
	return nil
}

// StopStore stops a store's server: connections are closed and new ones
// refused. Regions keep their leaders there until moved with TransferLeader.
func (c *Cluster) StopStore(id uint64) error {
	s, err := c.store(id)
	if err != nil {
		return err
	}
	s.ep.stop()
	c.log.Info("tikvsim: store stopped", "store_id", id)
	return nil
}

// RestartStore starts a stopped store again on the same address.
func (c *Cluster) RestartStore(id uint64) error {
	s, err := c.store(id)
	if err != nil {
		return err
	}
	if c.isClosed() {
		return ErrStopped
	}
	c.log.Info("tikvsim: store restarted", "store_id", id)
	return s.ep.start()
}

// PartitionStore cuts a store off: every request to it (unary or
// BatchCommands sub-request) hangs until the caller's deadline or
// cancellation, as if the network dropped it.
func (c *Cluster) PartitionStore(id uint64) error {
	s, err := c.store(id)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.partition == nil {
		s.partition = make(chan struct{})
	}
	return nil
}

// HealStore ends a partition. Requests that were dropped stay dropped.
func (c *Cluster) HealStore(id uint64) error {
	s, err := c.store(id)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.partition != nil {
		close(s.partition)
		s.partition = nil
	}
	return nil
}

// PDLeader returns the index of the PD leader, or -1 when none runs.
func (c *Cluster) PDLeader() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.pdLeader
}

// SetPDLeader makes member i the PD leader. The member must be running.
func (c *Cluster) SetPDLeader(i int) error {
	if i < 0 || i >= len(c.pds) {
		return fmt.Errorf("%w: no PD member %d", ErrInvalidOptions, i)
	}
	if !c.pds[i].ep.running() {
		return fmt.Errorf("%w: PD member %d", ErrStopped, i)
	}
	c.mu.Lock()
	c.pdLeader = i
	c.mu.Unlock()
	c.log.Info("tikvsim: PD leader changed", "pd_member", i)
	return nil
}

// StopPD stops PD member i. When it was the leader, leadership moves to the
// running member with the lowest index (none: no leader until RestartPD).
func (c *Cluster) StopPD(i int) error {
	if i < 0 || i >= len(c.pds) {
		return fmt.Errorf("%w: no PD member %d", ErrInvalidOptions, i)
	}
	c.pds[i].ep.stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pdLeader == i {
		c.pdLeader = -1
		for j, m := range c.pds {
			if m.ep.running() {
				c.pdLeader = j
				break
			}
		}
	}
	return nil
}

// RestartPD starts PD member i again on the same address. It becomes the
// leader only if no member is.
func (c *Cluster) RestartPD(i int) error {
	if i < 0 || i >= len(c.pds) {
		return fmt.Errorf("%w: no PD member %d", ErrInvalidOptions, i)
	}
	if c.isClosed() {
		return ErrStopped
	}
	if err := c.pds[i].ep.start(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pdLeader < 0 {
		c.pdLeader = i
	}
	return nil
}

// BreakTSOStreams ends every open TSO stream with codes.Unavailable.
// Streams opened afterwards work.
func (c *Cluster) BreakTSOStreams() { c.tso.breakStreams() }

// PauseTSO makes TSO requests (and GetMinTS) wait until ResumeTSO.
func (c *Cluster) PauseTSO() { c.tso.pause() }

// ResumeTSO releases TSO requests held by PauseTSO.
func (c *Cluster) ResumeTSO() { c.tso.resume() }

// MaxTS returns the stores' max_ts (the engine is shared, so it is one
// value for the cluster).
func (c *Cluster) MaxTS() uint64 { return c.engine.MaxTS() }

// CurrentTS returns a fresh timestamp from the simulated PD, bypassing
// PauseTSO (handy for tests that need a read ts).
func (c *Cluster) CurrentTS() uint64 { return c.tso.next() }

func (c *Cluster) isClosed() bool {
	select {
	case <-c.closing:
		return true
	default:
		return false
	}
}

// EvacuateLeaders moves every region leader on storeID to another voter of
// the region on a running store, as an election after a store failure would
// (call it after StopStore to simulate a crash that clients survive).
// Regions with no such voter keep their leader.
func (c *Cluster) EvacuateLeaders(storeID uint64) error {
	if _, err := c.store(storeID); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range slices.Clone(c.regions.sorted) {
		if r.leader != storeID {
			continue
		}
		for _, p := range r.meta.GetPeers() {
			if p.GetStoreId() == storeID || p.GetRole() == metapb.PeerRole_Learner || !c.stores[p.GetStoreId()-1].ep.running() {
				continue
			}
			c.engine.UpdateMaxTS(c.tso.next())
			c.regions.update(r.with(func(n *region) {
				n.leader = p.GetStoreId()
				n.term++
			}))
			c.log.Info("tikvsim: leader transferred", "region_id", r.meta.GetId(), "store_id", p.GetStoreId())
			break
		}
	}
	return nil
}
