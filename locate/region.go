package locate

import (
	"bytes"
	"fmt"
	"sync/atomic"

	"github.com/pingcap/kvproto/pkg/metapb"

	"github.com/tikvgo/tikvgo/pdclient"
)

// VerID identifies a region at one epoch. Two VerIDs are equal only if the
// region and both epoch counters match, so a request built for a VerID is
// routed to exactly that incarnation of the region.
type VerID struct {
	ID      uint64
	ConfVer uint64
	Ver     uint64
}

// String implements fmt.Stringer.
func (v VerID) String() string {
	return fmt.Sprintf("{region %d, conf_ver %d, ver %d}", v.ID, v.ConfVer, v.Ver)
}

// Peer is one replica of a region, in the compact form the cache keeps.
type Peer struct {
	ID      uint64
	StoreID uint64
	Role    metapb.PeerRole
	// Down and Pending mirror PD's view: a down peer's store is not
	// heartbeating, a pending peer lags behind the leader's log. Replica
	// selection avoids both for follower reads.
	Down    bool
	Pending bool
}

// IsLearner reports whether the peer is a learner (it never votes and never
// leads, but may serve replica and stale reads).
func (p Peer) IsLearner() bool { return p.Role == metapb.PeerRole_Learner }

// Meta returns the peer as a metapb.Peer, for stamping into a request's
// kvrpcpb.Context.
func (p Peer) Meta() *metapb.Peer {
	return &metapb.Peer{Id: p.ID, StoreId: p.StoreID, Role: p.Role}
}

// InvalidReason says why a cached region was invalidated; it decides what
// the next access does (all reasons reload from PD).
type InvalidReason uint32

// Invalidation reasons.
const (
	Valid InvalidReason = iota
	NoLeader
	RegionNotFound
	EpochNotMatch
	StoreNotFound
	Expired
	Other
)

// String implements fmt.Stringer.
func (r InvalidReason) String() string {
	switch r {
	case Valid:
		return "valid"
	case NoLeader:
		return "no leader"
	case RegionNotFound:
		return "region not found"
	case EpochNotMatch:
		return "epoch not match"
	case StoreNotFound:
		return "store not found"
	case Expired:
		return "expired"
	default:
		return "other"
	}
}

// Region is a cached region: an immutable snapshot of its range, epoch and
// peers, plus the few fields that change in place (leader, buckets, validity,
// expiry). When PD or TiKV report a new epoch the cache replaces the
// whole Region; holders of the old value see it invalidated.
//
// A Region is safe for concurrent use.
type Region struct {
	id      uint64
	confVer uint64
	ver     uint64
	// keys holds the start key followed by the end key in one allocation;
	// split is the length of the start key.
	keys  []byte
	split uint32
	// leader is the index of the leader in peers, or -1 when unknown.
	leader atomic.Int32
	peers  []Peer
	// epoch and metas (one per peer) are the messages stamped into request
	// contexts, built once per region rather than once per request; never
	// written to after newRegion.
	epoch metapb.RegionEpoch
	metas []metapb.Peer

	buckets  atomic.Pointer[metapb.Buckets]
	invalid  atomic.Uint32 // InvalidReason
	expireAt atomic.Int64  // Cache.now units; 0 until inserted
}

// newRegion builds the compact cached form of a PD region. It returns nil
// for a region without metadata.
func newRegion(r *pdclient.Region) *Region {
	m := r.Meta
	if m == nil {
		return nil
	}
	start, end := m.GetStartKey(), m.GetEndKey()
	keys := make([]byte, 0, len(start)+len(end))
	keys = append(append(keys, start...), end...)
	reg := &Region{
		id:      m.GetId(),
		confVer: m.GetRegionEpoch().GetConfVer(),
		ver:     m.GetRegionEpoch().GetVersion(),
		keys:    keys,
		split:   uint32(len(start)),
		peers:   make([]Peer, len(m.GetPeers())),
		metas:   make([]metapb.Peer, len(m.GetPeers())),
	}
	reg.epoch = metapb.RegionEpoch{ConfVer: reg.confVer, Version: reg.ver}
	reg.leader.Store(-1)
	for i, p := range m.GetPeers() {
		reg.peers[i] = Peer{ID: p.GetId(), StoreID: p.GetStoreId(), Role: p.GetRole()}
		reg.metas[i] = metapb.Peer{Id: p.GetId(), StoreId: p.GetStoreId(), Role: p.GetRole()}
		for _, d := range r.DownPeers {
			if d.GetId() == p.GetId() {
				reg.peers[i].Down = true
			}
		}
		for _, d := range r.PendingPeers {
			if d.GetId() == p.GetId() {
				reg.peers[i].Pending = true
			}
		}
		if r.Leader != nil && r.Leader.GetId() == p.GetId() {
			reg.leader.Store(int32(i))
		}
	}
	if r.Buckets != nil {
		reg.buckets.Store(r.Buckets)
	}
	return reg
}

// ID returns the region id.
func (r *Region) ID() uint64 { return r.id }

// VerID returns the region's identity at its cached epoch.
func (r *Region) VerID() VerID { return VerID{ID: r.id, ConfVer: r.confVer, Ver: r.ver} }

// Epoch returns the region epoch as a metapb message for request contexts.
func (r *Region) Epoch() *metapb.RegionEpoch {
	return &metapb.RegionEpoch{ConfVer: r.confVer, Version: r.ver}
}

// sharedEpoch is Epoch without an allocation: the message is the region's
// own and must not be modified.
func (r *Region) sharedEpoch() *metapb.RegionEpoch { return &r.epoch }

// sharedMeta is p.Meta() without an allocation when p is one of the
// region's peers: the message is the region's own and must not be modified.
func (r *Region) sharedMeta(p Peer) *metapb.Peer {
	for i := range r.metas {
		if m := &r.metas[i]; m.Id == p.ID && m.StoreId == p.StoreID && m.Role == p.Role {
			return m
		}
	}
	return p.Meta()
}

// StartKey returns the inclusive start of the region's range. Callers must
// not modify it.
func (r *Region) StartKey() []byte { return r.keys[:r.split:r.split] }

// EndKey returns the exclusive end of the region's range; empty means +inf.
// Callers must not modify it.
func (r *Region) EndKey() []byte { return r.keys[r.split:] }

// Contains reports whether key lies in [start, end).
func (r *Region) Contains(key []byte) bool {
	return bytes.Compare(r.StartKey(), key) <= 0 && (r.split == uint32(len(r.keys)) || bytes.Compare(key, r.EndKey()) < 0)
}

// ContainsByEnd reports whether key lies in (start, end]: the region a
// reverse scan ending at key must read.
func (r *Region) ContainsByEnd(key []byte) bool {
	return bytes.Compare(r.StartKey(), key) < 0 && (r.split == uint32(len(r.keys)) || bytes.Compare(key, r.EndKey()) <= 0)
}

// Peers returns the region's replicas. Callers must not modify the slice.
func (r *Region) Peers() []Peer { return r.peers }

// Leader returns the peer the cache believes leads the region.
func (r *Region) Leader() (Peer, bool) {
	i := r.leader.Load()
	if i < 0 || int(i) >= len(r.peers) {
		return Peer{}, false
	}
	return r.peers[i], true
}

// Buckets returns the region's bucket boundaries, or nil when unknown.
func (r *Region) Buckets() *metapb.Buckets { return r.buckets.Load() }

// Invalid returns why the region was invalidated, or [Valid].
func (r *Region) Invalid() InvalidReason { return InvalidReason(r.invalid.Load()) }

// invalidate records reason unless r is invalid already, and reports
// whether it did.
func (r *Region) invalidate(reason InvalidReason) bool {
	return r.invalid.CompareAndSwap(uint32(Valid), uint32(reason))
}

// switchLeader moves the leader to the peer on storeID. It reports false
// if the region has no peer there (the cached peer list is stale).
func (r *Region) switchLeader(peerID, storeID uint64) bool {
	for i, p := range r.peers {
		if (peerID != 0 && p.ID == peerID) || (peerID == 0 && p.StoreID == storeID) {
			r.leader.Store(int32(i))
			return true
		}
	}
	return false
}

// Location is where a key lives: the region's identity and range, and its
// buckets if known. It is a small value; holding it does not pin the cache.
type Location struct {
	Region   VerID
	StartKey []byte
	EndKey   []byte
	Buckets  *metapb.Buckets
}

func (r *Region) location() Location {
	return Location{Region: r.VerID(), StartKey: r.StartKey(), EndKey: r.EndKey(), Buckets: r.buckets.Load()}
}

// Contains reports whether key lies in the location's [start, end).
func (l Location) Contains(key []byte) bool {
	return bytes.Compare(l.StartKey, key) <= 0 && (len(l.EndKey) == 0 || bytes.Compare(key, l.EndKey) < 0)
}

// ContainsByEnd reports whether key lies in (start, end].
func (l Location) ContainsByEnd(key []byte) bool {
	return bytes.Compare(l.StartKey, key) < 0 && (len(l.EndKey) == 0 || bytes.Compare(key, l.EndKey) <= 0)
}

// BucketVersion returns the version of the location's buckets, 0 if none.
func (l Location) BucketVersion() uint64 { return l.Buckets.GetVersion() }

// LocateBucket returns the bucket of the location that contains key,
// clipped to the location's range. Without bucket information the whole
// location is the bucket. ok is false if key is outside the location.
func (l Location) LocateBucket(key []byte) (start, end []byte, ok bool) {
	if !l.Contains(key) {
		return nil, nil, false
	}
	keys := l.Buckets.GetKeys()
	start, end = l.StartKey, l.EndKey
	// keys are sorted bucket boundaries; find the last boundary <= key.
	lo, hi := 0, len(keys)
	for lo < hi {
		mid := (lo + hi) / 2
		if bytes.Compare(keys[mid], key) <= 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo > 0 && bytes.Compare(keys[lo-1], start) > 0 {
		start = keys[lo-1]
	}
	if lo < len(keys) && len(keys[lo]) > 0 && (len(end) == 0 || bytes.Compare(keys[lo], end) < 0) {
		end = keys[lo]
	}
	return start, end, true
}
