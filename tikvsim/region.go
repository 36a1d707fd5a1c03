package tikvsim

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/pingcap/kvproto/pkg/errorpb"
	"github.com/pingcap/kvproto/pkg/metapb"
)

// Errors returned by the cluster operations on regions.
var (
	// ErrRegionNotFound: no region has the given id.
	ErrRegionNotFound = errors.New("tikvsim: region not found")
	// ErrStoreNotFound: no store has the given id.
	ErrStoreNotFound = errors.New("tikvsim: store not found")
	// ErrInvalidSplitKey: the split key is empty, equal to a region start,
	// or outside the region.
	ErrInvalidSplitKey = errors.New("tikvsim: invalid split key")
	// ErrNotAdjacent: the two regions of a merge do not touch.
	ErrNotAdjacent = errors.New("tikvsim: regions are not adjacent")
	// ErrPeerExists: the store already holds a peer of the region.
	ErrPeerExists = errors.New("tikvsim: store already has a peer of the region")
	// ErrNoSuchPeer: the store holds no peer of the region.
	ErrNoSuchPeer = errors.New("tikvsim: store has no peer of the region")
	// ErrRemoveLeader: the leader peer cannot be removed; transfer it first.
	ErrRemoveLeader = errors.New("tikvsim: cannot remove the leader peer")
	// ErrLearnerLeader: a learner cannot become leader.
	ErrLearnerLeader = errors.New("tikvsim: a learner cannot be leader")
)

// maxSiblingRegions bounds the sibling regions added to EpochNotMatch, as
// TiKV does.
const maxSiblingRegions = 10

// region is an immutable snapshot of one region's state. Every change builds
// a new value and swaps it into the cluster's tables under the write lock, so
// a reader holding a *region never sees it change.
type region struct {
	meta *metapb.Region
	// leader is the store id of the leader peer.
	leader uint64
	// term grows by one on every leader change.
	term uint64
	// safeTS overrides the computed safe ts when non-zero (SetSafeTS).
	safeTS uint64
}

// RegionInfo describes one region as the simulated PD sees it. Keys are
// region keys: memcomparable-encoded for transactional and API V2 data, raw
// for API V1 raw data.
type RegionInfo struct {
	ID       uint64
	StartKey []byte
	EndKey   []byte
	ConfVer  uint64
	Version  uint64
	Peers    []PeerInfo
	// Leader is the store id of the leader peer.
	Leader uint64
}

// PeerInfo is one replica of a region.
type PeerInfo struct {
	ID      uint64
	StoreID uint64
	Learner bool
}

func (r *region) peerOn(storeID uint64) *metapb.Peer {
	for _, p := range r.meta.GetPeers() {
		if p.GetStoreId() == storeID {
			return p
		}
	}
	return nil
}

func (r *region) leaderPeer() *metapb.Peer { return r.peerOn(r.leader) }

// contains reports whether the region key k lies in [start, end).
func (r *region) contains(k []byte) bool {
	return bytes.Compare(k, r.meta.GetStartKey()) >= 0 &&
		(len(r.meta.GetEndKey()) == 0 || bytes.Compare(k, r.meta.GetEndKey()) < 0)
}

func (r *region) info() RegionInfo {
	ri := RegionInfo{
		ID:       r.meta.GetId(),
		StartKey: bytes.Clone(r.meta.GetStartKey()),
		EndKey:   bytes.Clone(r.meta.GetEndKey()),
		ConfVer:  r.meta.GetRegionEpoch().GetConfVer(),
		Version:  r.meta.GetRegionEpoch().GetVersion(),
		Leader:   r.leader,
	}
	for _, p := range r.meta.GetPeers() {
		ri.Peers = append(ri.Peers, PeerInfo{ID: p.GetId(), StoreID: p.GetStoreId(), Learner: p.GetRole() == metapb.PeerRole_Learner})
	}
	return ri
}

// cloneRegion returns a deep copy of a region meta, so that a derived
// snapshot never shares mutable parts with a published one.
func cloneRegion(m *metapb.Region) *metapb.Region {
	c := &metapb.Region{
		Id:       m.GetId(),
		StartKey: bytes.Clone(m.GetStartKey()),
		EndKey:   bytes.Clone(m.GetEndKey()),
		RegionEpoch: &metapb.RegionEpoch{
			ConfVer: m.GetRegionEpoch().GetConfVer(),
			Version: m.GetRegionEpoch().GetVersion(),
		},
	}
	for _, p := range m.GetPeers() {
		c.Peers = append(c.Peers, &metapb.Peer{Id: p.GetId(), StoreId: p.GetStoreId(), Role: p.GetRole(), IsWitness: p.GetIsWitness()})
	}
	return c
}

func (r *region) with(f func(n *region)) *region {
	n := &region{meta: cloneRegion(r.meta), leader: r.leader, term: r.term, safeTS: r.safeTS}
	f(n)
	return n
}

// regionTable holds the regions in key order plus an id index. It is guarded
// by Cluster.mu.
type regionTable struct {
	sorted []*region
	byID   map[uint64]*region
}

func (t *regionTable) searchIndex(k []byte) int {
	// The last region whose start key is <= k.
	i, found := slices.BinarySearchFunc(t.sorted, k, func(r *region, k []byte) int {
		return bytes.Compare(r.meta.GetStartKey(), k)
	})
	if found {
		return i
	}
	return i - 1
}

func (t *regionTable) byKey(k []byte) (*region, int) {
	i := t.searchIndex(k)
	if i < 0 || i >= len(t.sorted) || !t.sorted[i].contains(k) {
		return nil, -1
	}
	return t.sorted[i], i
}

func (t *regionTable) indexOf(id uint64) int {
	r, ok := t.byID[id]
	if !ok {
		return -1
	}
	_, idx := t.byKey(r.meta.GetStartKey())
	return idx
}

func (t *regionTable) replace(idx, n int, with ...*region) {
	for _, old := range t.sorted[idx : idx+n] {
		delete(t.byID, old.meta.GetId())
	}
	t.sorted = slices.Replace(t.sorted, idx, idx+n, with...)
	for _, r := range with {
		t.byID[r.meta.GetId()] = r
	}
}

func (t *regionTable) update(r *region) {
	idx := t.indexOf(r.meta.GetId())
	t.sorted[idx] = r
	t.byID[r.meta.GetId()] = r
}

// siblings returns up to maxSiblingRegions regions left of index idx that
// touch each other, for EpochNotMatch: a split keeps the original id on the
// right-most part, so a client with an older epoch needs the left parts too.
func (t *regionTable) siblings(idx int) []*metapb.Region {
	var out []*metapb.Region
	for i := idx - 1; i >= 0 && len(out) < maxSiblingRegions; i-- {
		if !bytes.Equal(t.sorted[i].meta.GetEndKey(), t.sorted[i+1].meta.GetStartKey()) {
			break
		}
		out = append(out, t.sorted[i].meta)
	}
	return out
}

// splitLocked splits r at keys (region keys, sorted, unique, strictly inside
// r). As TiKV does with right_derive_when_split, the original id keeps the
// right-most part and new ids take the left parts; every part gets
// version + len(keys); leaders stay on the same store. Callers hold c.mu.
func (c *Cluster) splitLocked(r *region, keys [][]byte) []*region {
	n := uint64(len(keys))
	ver := r.meta.GetRegionEpoch().GetVersion() + n
	out := make([]*region, 0, len(keys)+1)
	start := r.meta.GetStartKey()
	for i := 0; i <= len(keys); i++ {
		var end []byte
		if i < len(keys) {
			end = keys[i]
		} else {
			end = r.meta.GetEndKey()
		}
		part := r.with(func(p *region) {
			p.meta.StartKey = bytes.Clone(start)
			p.meta.EndKey = bytes.Clone(end)
			p.meta.RegionEpoch.Version = ver
			p.safeTS = r.safeTS
			if i < len(keys) {
				p.meta.Id = c.allocID()
				for _, peer := range p.meta.Peers {
					peer.Id = c.allocID()
				}
			}
		})
		out = append(out, part)
		start = end
	}
	return out
}

// prepareSplitKeys sorts and deduplicates region keys and drops those equal
// to r's start key; it fails on an empty key or one outside r.
func prepareSplitKeys(r *region, keys [][]byte) ([][]byte, *errorpb.Error) {
	out := make([][]byte, 0, len(keys))
	for _, k := range keys {
		if len(k) == 0 {
			return nil, &errorpb.Error{Message: "split key should not be empty"}
		}
		if !r.contains(k) {
			return nil, &errorpb.Error{
				Message: fmt.Sprintf("key %x is not in region %d", k, r.meta.GetId()),
				KeyNotInRegion: &errorpb.KeyNotInRegion{
					Key: k, RegionId: r.meta.GetId(), StartKey: r.meta.GetStartKey(), EndKey: r.meta.GetEndKey(),
				},
			}
		}
		if bytes.Equal(k, r.meta.GetStartKey()) {
			continue
		}
		out = append(out, k)
	}
	slices.SortFunc(out, bytes.Compare)
	out = slices.CompactFunc(out, bytes.Equal)
	if len(out) == 0 {
		return nil, &errorpb.Error{Message: "no valid key found for split."}
	}
	return out, nil
}
