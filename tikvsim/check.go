package tikvsim

import (
	"bytes"
	"context"
	"fmt"

	"github.com/pingcap/kvproto/pkg/errorpb"
	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/metapb"
)

// access says how a command may be served by a non-leader replica.
type access int

const (
	// accWrite: leader only.
	accWrite access = iota
	// accRead: leader, or any replica when replica_read or stale_read is set.
	accRead
	// accLeaderRead: a read that TiKV serves on the leader only (ScanLock
	// forces replica read off).
	accLeaderRead
)

// keyKind says how request keys map to region keys.
type keyKind int

const (
	// kindTxn keys are memcomparable-encoded to compare with regions.
	kindTxn keyKind = iota
	// kindRaw keys are compared as they are under API V1/V1TTL and encoded
	// under V2.
	kindRaw
)

// regionKey maps a request key to the region key space.
func regionKey(kind keyKind, v kvrpcpb.APIVersion, k []byte) []byte {
	if kind == kindRaw && v != kvrpcpb.APIVersion_V2 {
		return k
	}
	return EncodeKey(k)
}

// rawBound maps a region boundary back to request-key space: the first
// request key whose encoding is at or after b, so that a region holds the
// request keys in [rawBound(start), rawBound(end)). For a valid encoding
// that is the decoded key; a boundary that is none (a raw split key in a V1
// cluster shared with raw KV, an encoding with a timestamp) still maps to
// where it sorts among encoded keys.
func rawBound(kind keyKind, v kvrpcpb.APIVersion, b []byte) []byte {
	if len(b) == 0 || (kind == kindRaw && v != kvrpcpb.APIVersion_V2) {
		return b
	}
	if k, n, err := DecodeKey(b); err == nil && n == len(b) {
		return k
	}
	return firstKeyEncodedFrom(b)
}

// checkContext runs TiKV's Context checks for a request that reached store
// storeID, in TiKV's order: store id, region present on this store, peer
// id, leadership (or replica/stale-read rules), term, epoch version.
func (c *Cluster) checkContext(ctx context.Context, storeID uint64, rc *kvrpcpb.Context, acc access, readTS uint64) (*region, *errorpb.Error) {
	if rc.GetPeer().GetStoreId() != storeID {
		return nil, &errorpb.Error{
			Message:       fmt.Sprintf("store not match, request store id %d, actual %d", rc.GetPeer().GetStoreId(), storeID),
			StoreNotMatch: &errorpb.StoreNotMatch{RequestStoreId: rc.GetPeer().GetStoreId(), ActualStoreId: storeID},
		}
	}
	c.mu.RLock()
	r, ok := c.regions.byID[rc.GetRegionId()]
	c.mu.RUnlock()
	if !ok || r.peerOn(storeID) == nil {
		return nil, &errorpb.Error{
			Message:        fmt.Sprintf("region %d not found", rc.GetRegionId()),
			RegionNotFound: &errorpb.RegionNotFound{RegionId: rc.GetRegionId()},
		}
	}
	mine := r.peerOn(storeID)
	if rc.GetPeer().GetId() != mine.GetId() {
		return nil, &errorpb.Error{
			Message:        fmt.Sprintf("mismatch peer id %d != %d", rc.GetPeer().GetId(), mine.GetId()),
			MismatchPeerId: &errorpb.MismatchPeerId{RequestPeerId: rc.GetPeer().GetId(), StorePeerId: mine.GetId()},
		}
	}
	isLeader := r.leader == storeID
	replicaOK := acc == accRead && (rc.GetReplicaRead() || rc.GetStaleRead())
	if !isLeader && !replicaOK {
		return nil, notLeaderErr(r)
	}
	if rc.GetTerm() != 0 && r.term > rc.GetTerm()+1 {
		return nil, &errorpb.Error{Message: "stale command", StaleCommand: &errorpb.StaleCommand{}}
	}
	ep := rc.GetRegionEpoch()
	if ep == nil {
		return nil, &errorpb.Error{Message: "missing epoch!"}
	}
	if ep.GetVersion() != r.meta.GetRegionEpoch().GetVersion() {
		return nil, c.epochNotMatch(r, ep.GetVersion() < r.meta.GetRegionEpoch().GetVersion())
	}
	if acc == accRead && rc.GetStaleRead() && !isLeader {
		if safe := c.staleReadSafeTS(r, c.stores[storeID-1], readTS); readTS > safe {
			return nil, &errorpb.Error{
				Message:        fmt.Sprintf("stale read: read ts %d > safe ts %d", readTS, safe),
				DataIsNotReady: &errorpb.DataIsNotReady{RegionId: r.meta.GetId(), PeerId: mine.GetId(), SafeTs: safe},
			}
		}
	}
	return r, nil
}

func notLeaderErr(r *region) *errorpb.Error {
	return &errorpb.Error{
		Message:   fmt.Sprintf("peer is not leader for region %d", r.meta.GetId()),
		NotLeader: &errorpb.NotLeader{RegionId: r.meta.GetId(), Leader: r.leaderPeer()},
	}
}

// epochNotMatch builds EpochNotMatch with the current meta and, for an
// older request epoch, the sibling regions produced by later splits.
func (c *Cluster) epochNotMatch(r *region, older bool) *errorpb.Error {
	cur := []*metapb.Region{r.meta}
	if older {
		c.mu.RLock()
		// r may have changed since it was read; use the table's current
		// position of the region, if it still exists.
		if idx := c.regions.indexOf(r.meta.GetId()); idx >= 0 {
			cur = append(cur, c.regions.siblings(idx)...)
		}
		c.mu.RUnlock()
	}
	return &errorpb.Error{
		Message:       fmt.Sprintf("epoch not match for region %d", r.meta.GetId()),
		EpochNotMatch: &errorpb.EpochNotMatch{CurrentRegions: cur},
	}
}

// safeTS is the region's stale-read safe ts: the SetSafeTS override, else
// the last timestamp PD handed out.
func (c *Cluster) safeTS(r *region) uint64 {
	if r.safeTS != 0 {
		return r.safeTS
	}
	return c.tso.last()
}

// staleReadSafeTS is safeTS lowered, unless overridden, as TiKV's resolved
// ts is by the Put/Delete locks in the region at or below readTS
// (Lock-type and pessimistic locks are not tracked): to a lock's start ts;
// for a pipelined transaction's lock, to one below the min commit ts that
// st's txn status cache holds for it (one below its start ts when there is
// no entry), and not at all once the cache says it committed or rolled
// back.
func (c *Cluster) staleReadSafeTS(r *region, st *store, readTS uint64) uint64 {
	safe := c.safeTS(r)
	if r.safeTS != 0 {
		return safe
	}
	start, end := regionRawBounds(r)
	c.engine.LockStarts(start, end, readTS, func(startTS uint64, pipelined bool) {
		if !pipelined {
			safe = min(safe, startTS)
			return
		}
		s, ok := st.txnStatus.get(startTS)
		switch {
		case !ok:
			safe = min(safe, startTS-1)
		case s.CommitTS == 0 && !s.RolledBack:
			safe = min(safe, max(s.MinCommitTS, startTS)-1)
		}
	})
	return safe
}

func keyNotInRegion(r *region, key []byte) *errorpb.Error {
	return &errorpb.Error{
		Message: fmt.Sprintf("key %x is not in region %d", key, r.meta.GetId()),
		KeyNotInRegion: &errorpb.KeyNotInRegion{
			Key: key, RegionId: r.meta.GetId(), StartKey: r.meta.GetStartKey(), EndKey: r.meta.GetEndKey(),
		},
	}
}

// checkKeys returns KeyNotInRegion for the first key outside r.
func checkKeys(r *region, kind keyKind, v kvrpcpb.APIVersion, keys [][]byte) *errorpb.Error {
	for _, k := range keys {
		if rk := regionKey(kind, v, k); !r.contains(rk) {
			return keyNotInRegion(r, rk)
		}
	}
	return nil
}

// checkRangeInside requires [start, end) to lie in r (DeleteRange and
// RawDeleteRange at Raft apply); an empty end means +inf.
func checkRangeInside(r *region, kind keyKind, v kvrpcpb.APIVersion, start, end []byte) *errorpb.Error {
	rs := regionKey(kind, v, start)
	if !r.contains(rs) {
		return keyNotInRegion(r, rs)
	}
	rEnd := r.meta.GetEndKey()
	if len(rEnd) == 0 {
		return nil
	}
	if len(end) == 0 {
		return keyNotInRegion(r, nil)
	}
	if re := regionKey(kind, v, end); bytes.Compare(re, rEnd) > 0 {
		return keyNotInRegion(r, re)
	}
	return nil
}

// apiCheck applies TiKV's api-version / key-mode check (§7.2) and returns
// the error text, or "" when the request passes.
func (c *Cluster) apiCheck(cmd string, kind keyKind, rv kvrpcpb.APIVersion, keys [][]byte, ranges [][2][]byte) string {
	st := c.opts.APIVersion
	mismatch := func() string {
		return fmt.Sprintf("Api version in request does not match with TiKV storage, cmd: %s, storage: %s, request: %s", cmd, st, rv)
	}
	switch st {
	case kvrpcpb.APIVersion_V1:
		if rv != kvrpcpb.APIVersion_V1 {
			return mismatch()
		}
		return ""
	case kvrpcpb.APIVersion_V1TTL:
		if rv != kvrpcpb.APIVersion_V1 || kind != kindRaw {
			return mismatch()
		}
		return ""
	}
	// Storage V2.
	var modes []byte
	switch {
	case rv == kvrpcpb.APIVersion_V1 && kind == kindTxn:
		modes = []byte{'m', 't'}
	case rv == kvrpcpb.APIVersion_V2 && kind == kindTxn:
		modes = []byte{txnKeyPrefix}
	case rv == kvrpcpb.APIVersion_V2 && kind == kindRaw:
		modes = []byte{rawKeyPrefix}
	default:
		return mismatch()
	}
	bad := func(k []byte) string {
		return fmt.Sprintf("Key mode mismatched with the request mode, cmd: %s, storage: %s, key: %x", cmd, st, k)
	}
	okMode := func(k []byte) bool { return len(k) > 0 && bytes.IndexByte(modes, k[0]) >= 0 }
	for _, k := range keys {
		if !okMode(k) {
			return bad(k)
		}
	}
	for _, rg := range ranges {
		start, end := rg[0], rg[1]
		if !okMode(start) {
			return bad(start)
		}
		if len(end) == 0 || (end[0] != start[0] && !(len(end) == 1 && end[0] == start[0]+1)) {
			return bad(end)
		}
	}
	return ""
}
