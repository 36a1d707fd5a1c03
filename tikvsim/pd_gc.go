package tikvsim

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/pingcap/kvproto/pkg/pdpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The GC model is PD master's (§8.6 of the semantics reference): a txn safe
// point, a GC safe point never above it, and GC barriers with TTLs, per
// keyspace scope. The null keyspace is the unified scope; a keyspace listed
// in Options.KeyspaceLevelGC (gc_management_type "keyspace_level") has a
// state of its own, while every other keyspace is redirected to the null
// keyspace by the user APIs (GetGCState, Set/DeleteGCBarrier) and refused by
// the GC worker's (Advance*SafePoint). The legacy APIs act on the null
// keyspace. Global GC barriers and TiDB's min start ts are not modelled.
// When a GC safe point advances, the engine collects garbage synchronously
// in that scope's keys: a keyspace-level keyspace's transactional keys, or
// every key outside those keyspaces for the null keyspace.

const gcWorkerServiceID = "gc_worker"

type gcBarrier struct {
	ts      uint64
	expires time.Time // zero: never
}

type gcState struct {
	keyspaceID   uint32 // nullKeyspaceID for the unified scope
	mu           sync.Mutex
	txnSafePoint uint64
	gcSafePoint  uint64
	barriers     map[string]gcBarrier
}

func newGCState(keyspaceID uint32) *gcState {
	return &gcState{keyspaceID: keyspaceID, barriers: map[string]gcBarrier{}}
}

// gcScope returns the GC state a request's keyspace scope addresses (an
// absent scope, or an id beyond 24 bits, is the null keyspace). A keyspace
// without keyspace-level GC is the null keyspace's for a user API (internal
// false) and an error for the GC worker's APIs (internal true), as in PD.
func (c *Cluster) gcScope(scope *pdpb.KeyspaceScope, internal bool) (*gcState, string) {
	id := uint32(nullKeyspaceID)
	if x, ok := scope.GetKeyspace().(*pdpb.KeyspaceScope_KeyspaceId); ok && x.KeyspaceId <= maxKeyspaceID {
		id = x.KeyspaceId
	}
	if id == nullKeyspaceID {
		return c.gc, ""
	}
	if g, ok := c.ksGC[id]; ok {
		return g, ""
	}
	if internal {
		return nil, fmt.Sprintf("keyspace %d does not run keyspace-level GC", id)
	}
	return c.gc, ""
}

func barrierExpiry(now time.Time, ttl int64) time.Time {
	if ttl == math.MaxInt64 {
		return time.Time{}
	}
	return now.Add(time.Duration(ttl) * time.Second)
}

func (b gcBarrier) ttlSeconds(now time.Time) int64 {
	if b.expires.IsZero() {
		return math.MaxInt64
	}
	return max(int64(b.expires.Sub(now)/time.Second), 0)
}

// dropExpired removes expired barriers; callers hold g.mu.
func (g *gcState) dropExpired(now time.Time) {
	for id, b := range g.barriers {
		if !b.expires.IsZero() && !now.Before(b.expires) {
			delete(g.barriers, id)
		}
	}
}

// advanceTxn moves the txn safe point towards target, blocked by barriers.
// Callers hold g.mu.
func (g *gcState) advanceTxn(now time.Time, target uint64) (old, cur uint64, blocker string) {
	g.dropExpired(now)
	old = g.txnSafePoint
	next := target
	for id, b := range g.barriers {
		if b.ts < next {
			next, blocker = b.ts, "BarrierGCBarrier { barrier_id: "+id+" }"
		}
	}
	g.txnSafePoint = max(old, next)
	return old, g.txnSafePoint, blocker
}

func (s *pdService) gcHeaderErr(msg string) *pdpb.ResponseHeader {
	return s.errHeader(pdpb.ErrorType_UNKNOWN, "%s", msg)
}

// Where PD keeps the unified (null keyspace) GC state in its etcd, read by
// clients of PD versions without the GC-state API: the GC safe point in hex
// under PD's root path, the txn safe point in decimal at the path TiDB's GC
// worker used before PD took it over (client-go reads it there).
const gcSafePointKeyFormat = "/pd/%d/gc/safe_point"

// GCSafePointKey returns the etcd key at which PD stores the GC safe point
// (hexadecimal text) for a cluster.
func GCSafePointKey(clusterID uint64) string {
	return fmt.Sprintf(gcSafePointKeyFormat, clusterID)
}

// TxnSafePointKey is the etcd key at which PD stores the txn safe point
// (decimal text), where client-go loads it for PD versions without the
// GC-state API.
const TxnSafePointKey = "/tidb/store/gcworker/saved_safe_point"

// setGCSafePoint stores a new GC safe point of g, in the state and (for
// the null keyspace) in etcd, and runs GC on the engine over g's keys.
// Callers hold g.mu.
func (c *Cluster) setGCSafePoint(g *gcState, sp uint64) {
	if sp <= g.gcSafePoint {
		return
	}
	g.gcSafePoint = sp
	if g.keyspaceID != nullKeyspaceID {
		lo, hi := keyspacePrefix(txnKeyPrefix, g.keyspaceID), keyspacePrefix(txnKeyPrefix, g.keyspaceID+1)
		c.engine.GCKeys(sp, func(k []byte) bool { return bytes.Compare(k, lo) >= 0 && bytes.Compare(k, hi) < 0 })
		return
	}
	c.etcd.put(GCSafePointKey(c.clusterID), strconv.FormatUint(sp, 16))
	if len(c.ksGC) == 0 {
		c.engine.GC(sp)
		return
	}
	c.engine.GCKeys(sp, func(k []byte) bool {
		if len(k) < 4 || k[0] != txnKeyPrefix {
			return true
		}
		_, own := c.ksGC[uint32(k[1])<<16|uint32(k[2])<<8|uint32(k[3])]
		return !own
	})
}

// advanceTxnSafePoint is gcState.advanceTxn that also stores a moved txn
// safe point of the null keyspace in etcd. Callers hold g.mu.
func (c *Cluster) advanceTxnSafePoint(g *gcState, now time.Time, target uint64) (old, cur uint64, blocker string) {
	old, cur, blocker = g.advanceTxn(now, target)
	if cur != old && g.keyspaceID == nullKeyspaceID {
		c.etcd.put(TxnSafePointKey, strconv.FormatUint(cur, 10))
	}
	return old, cur, blocker
}

// GetGCSafePoint returns the GC safe point.
func (s *pdService) GetGCSafePoint(ctx context.Context, req *pdpb.GetGCSafePointRequest) (*pdpb.GetGCSafePointResponse, error) {
	if err := s.validate(ctx, "GetGCSafePoint", req.GetHeader()); err != nil {
		return nil, err
	}
	g := s.m.c.gc
	g.mu.Lock()
	defer g.mu.Unlock()
	return &pdpb.GetGCSafePointResponse{Header: s.header(), SafePoint: g.gcSafePoint}, nil
}

// UpdateGCSafePoint advances the GC safe point; a smaller value is ignored
// and one above the txn safe point is a gRPC error.
func (s *pdService) UpdateGCSafePoint(ctx context.Context, req *pdpb.UpdateGCSafePointRequest) (*pdpb.UpdateGCSafePointResponse, error) {
	if err := s.validate(ctx, "UpdateGCSafePoint", req.GetHeader()); err != nil {
		return nil, err
	}
	c := s.m.c
	g := c.gc
	g.mu.Lock()
	defer g.mu.Unlock()
	sp := req.GetSafePoint()
	if sp > g.txnSafePoint {
		return nil, status.Errorf(codes.Unknown, "trying to update GC safe point to a too large value, txn safe point: %d, target: %d", g.txnSafePoint, sp)
	}
	c.setGCSafePoint(g, sp)
	return &pdpb.UpdateGCSafePointResponse{Header: s.header(), NewSafePoint: g.gcSafePoint}, nil
}

// UpdateServiceGCSafePoint is the compatibility API: "gc_worker" advances
// the txn safe point, other services set (TTL > 0) or delete a barrier.
func (s *pdService) UpdateServiceGCSafePoint(ctx context.Context, req *pdpb.UpdateServiceGCSafePointRequest) (*pdpb.UpdateServiceGCSafePointResponse, error) {
	if err := s.validate(ctx, "UpdateServiceGCSafePoint", req.GetHeader()); err != nil {
		return nil, err
	}
	c := s.m.c
	g := c.gc
	now := c.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	id := string(req.GetServiceId())
	if id == gcWorkerServiceID {
		if req.GetTTL() != math.MaxInt64 {
			return nil, status.Error(codes.Unknown, "TTL of gc_worker's service safe point must be infinity")
		}
		if req.GetSafePoint() < g.txnSafePoint {
			return &pdpb.UpdateServiceGCSafePointResponse{Header: s.header(), ServiceId: []byte(gcWorkerServiceID), TTL: math.MaxInt64, MinSafePoint: g.txnSafePoint}, nil
		}
		_, cur, blocker := c.advanceTxnSafePoint(g, now, req.GetSafePoint())
		resp := &pdpb.UpdateServiceGCSafePointResponse{Header: s.header(), ServiceId: []byte(gcWorkerServiceID), TTL: math.MaxInt64, MinSafePoint: cur}
		if blocker != "" {
			for bid, b := range g.barriers {
				if b.ts == cur {
					resp.ServiceId, resp.TTL = []byte(bid), b.ttlSeconds(now)
					break
				}
			}
		}
		return resp, nil
	}
	g.dropExpired(now)
	if req.GetTTL() <= 0 {
		delete(g.barriers, id)
	} else if req.GetSafePoint() >= g.txnSafePoint {
		g.barriers[id] = gcBarrier{ts: req.GetSafePoint(), expires: barrierExpiry(now, req.GetTTL())}
	}
	return &pdpb.UpdateServiceGCSafePointResponse{Header: s.header(), ServiceId: []byte(gcWorkerServiceID), TTL: math.MaxInt64, MinSafePoint: g.txnSafePoint}, nil
}

// AdvanceTxnSafePoint moves the txn safe point towards target, blocked by
// barriers; a target below the current value is a header error.
func (s *pdService) AdvanceTxnSafePoint(ctx context.Context, req *pdpb.AdvanceTxnSafePointRequest) (*pdpb.AdvanceTxnSafePointResponse, error) {
	if err := s.validate(ctx, "AdvanceTxnSafePoint", req.GetHeader()); err != nil {
		return nil, err
	}
	c := s.m.c
	g, msg := c.gcScope(req.GetKeyspaceScope(), true)
	if g == nil {
		return &pdpb.AdvanceTxnSafePointResponse{Header: s.gcHeaderErr(msg)}, nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if req.GetTarget() < g.txnSafePoint {
		return &pdpb.AdvanceTxnSafePointResponse{Header: s.gcHeaderErr("trying to update txn safe point to a smaller value")}, nil
	}
	old, cur, blocker := c.advanceTxnSafePoint(g, c.now(), req.GetTarget())
	return &pdpb.AdvanceTxnSafePointResponse{Header: s.header(), OldTxnSafePoint: old, NewTxnSafePoint: cur, BlockerDescription: blocker}, nil
}

// AdvanceGCSafePoint sets the GC safe point (never backwards, never above
// the txn safe point) and collects garbage.
func (s *pdService) AdvanceGCSafePoint(ctx context.Context, req *pdpb.AdvanceGCSafePointRequest) (*pdpb.AdvanceGCSafePointResponse, error) {
	if err := s.validate(ctx, "AdvanceGCSafePoint", req.GetHeader()); err != nil {
		return nil, err
	}
	c := s.m.c
	g, msg := c.gcScope(req.GetKeyspaceScope(), true)
	if g == nil {
		return &pdpb.AdvanceGCSafePointResponse{Header: s.gcHeaderErr(msg)}, nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	old := g.gcSafePoint
	if req.GetTarget() < old || req.GetTarget() > g.txnSafePoint {
		return &pdpb.AdvanceGCSafePointResponse{Header: s.gcHeaderErr("invalid GC safe point target")}, nil
	}
	c.setGCSafePoint(g, req.GetTarget())
	return &pdpb.AdvanceGCSafePointResponse{Header: s.header(), OldGcSafePoint: old, NewGcSafePoint: g.gcSafePoint}, nil
}

// SetGCBarrier sets or replaces a barrier that blocks the txn safe point.
func (s *pdService) SetGCBarrier(ctx context.Context, req *pdpb.SetGCBarrierRequest) (*pdpb.SetGCBarrierResponse, error) {
	if err := s.validate(ctx, "SetGCBarrier", req.GetHeader()); err != nil {
		return nil, err
	}
	c := s.m.c
	g, _ := c.gcScope(req.GetKeyspaceScope(), false)
	now := c.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case req.GetTtlSeconds() <= 0:
		return &pdpb.SetGCBarrierResponse{Header: s.gcHeaderErr("ttl must be positive")}, nil
	case req.GetBarrierId() == "" || req.GetBarrierId() == gcWorkerServiceID:
		return &pdpb.SetGCBarrierResponse{Header: s.gcHeaderErr("invalid barrier id")}, nil
	case req.GetBarrierTs() < g.txnSafePoint:
		return &pdpb.SetGCBarrierResponse{Header: s.gcHeaderErr("barrier ts is below the txn safe point")}, nil
	}
	b := gcBarrier{ts: req.GetBarrierTs(), expires: barrierExpiry(now, req.GetTtlSeconds())}
	g.barriers[req.GetBarrierId()] = b
	return &pdpb.SetGCBarrierResponse{Header: s.header(), NewBarrierInfo: &pdpb.GCBarrierInfo{
		BarrierId: req.GetBarrierId(), BarrierTs: b.ts, TtlSeconds: b.ttlSeconds(now),
	}}, nil
}

// DeleteGCBarrier removes a barrier and returns what was deleted.
func (s *pdService) DeleteGCBarrier(ctx context.Context, req *pdpb.DeleteGCBarrierRequest) (*pdpb.DeleteGCBarrierResponse, error) {
	if err := s.validate(ctx, "DeleteGCBarrier", req.GetHeader()); err != nil {
		return nil, err
	}
	c := s.m.c
	g, _ := c.gcScope(req.GetKeyspaceScope(), false)
	now := c.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.dropExpired(now)
	resp := &pdpb.DeleteGCBarrierResponse{Header: s.header()}
	if b, ok := g.barriers[req.GetBarrierId()]; ok {
		delete(g.barriers, req.GetBarrierId())
		resp.DeletedBarrierInfo = &pdpb.GCBarrierInfo{BarrierId: req.GetBarrierId(), BarrierTs: b.ts, TtlSeconds: b.ttlSeconds(now)}
	}
	return resp, nil
}

func (g *gcState) snapshot(now time.Time, barriers bool) *pdpb.GCState {
	g.dropExpired(now)
	st := &pdpb.GCState{
		KeyspaceScope:     &pdpb.KeyspaceScope{Keyspace: &pdpb.KeyspaceScope_KeyspaceId{KeyspaceId: g.keyspaceID}},
		IsKeyspaceLevelGc: g.keyspaceID != nullKeyspaceID,
		TxnSafePoint:      g.txnSafePoint,
		GcSafePoint:       g.gcSafePoint,
	}
	if barriers {
		ids := make([]string, 0, len(g.barriers))
		for id := range g.barriers {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			b := g.barriers[id]
			st.GcBarriers = append(st.GcBarriers, &pdpb.GCBarrierInfo{BarrierId: id, BarrierTs: b.ts, TtlSeconds: b.ttlSeconds(now)})
		}
	}
	return st
}

// GetGCState returns the GC state of the request's scope (a keyspace
// without keyspace-level GC gets the null keyspace's).
func (s *pdService) GetGCState(ctx context.Context, req *pdpb.GetGCStateRequest) (*pdpb.GetGCStateResponse, error) {
	if err := s.validate(ctx, "GetGCState", req.GetHeader()); err != nil {
		return nil, err
	}
	c := s.m.c
	g, _ := c.gcScope(req.GetKeyspaceScope(), false)
	g.mu.Lock()
	defer g.mu.Unlock()
	return &pdpb.GetGCStateResponse{Header: s.header(), GcState: g.snapshot(c.now(), !req.GetExcludeGcBarriers())}, nil
}

// GetAllKeyspacesGCStates returns the null keyspace's GC state and that of
// every keyspace with keyspace-level GC, in keyspace id order.
func (s *pdService) GetAllKeyspacesGCStates(ctx context.Context, req *pdpb.GetAllKeyspacesGCStatesRequest) (*pdpb.GetAllKeyspacesGCStatesResponse, error) {
	if err := s.validate(ctx, "GetAllKeyspacesGCStates", req.GetHeader()); err != nil {
		return nil, err
	}
	c := s.m.c
	now := c.now()
	states := []*gcState{c.gc}
	ids := make([]uint32, 0, len(c.ksGC))
	for id := range c.ksGC {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		states = append(states, c.ksGC[id])
	}
	resp := &pdpb.GetAllKeyspacesGCStatesResponse{Header: s.header()}
	for _, g := range states {
		g.mu.Lock()
		resp.GcStates = append(resp.GcStates, g.snapshot(now, true))
		g.mu.Unlock()
	}
	return resp, nil
}
