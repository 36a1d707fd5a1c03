package pdclient

import (
	"context"
	"math"
	"time"

	"github.com/pingcap/kvproto/pkg/pdpb"
)

// NullKeyspaceID is the keyspace scope of cluster-wide (unified) GC.
const NullKeyspaceID uint32 = 0xFFFFFFFF

// NoExpiry, used as a TTL, means the entry never expires (PD's MaxInt64
// seconds).
const NoExpiry time.Duration = math.MaxInt64

// The GC calls below are idempotent in effect: setting or advancing to the
// same value twice, or deleting twice, leaves PD in the same state, so they
// retry like reads.

func ttlSeconds(ttl time.Duration) int64 {
	if ttl == NoExpiry {
		return math.MaxInt64
	}
	return int64(ttl / time.Second)
}

func ttlDuration(sec int64) time.Duration {
	if sec >= math.MaxInt64/int64(time.Second) {
		return NoExpiry
	}
	return time.Duration(sec) * time.Second
}

func scope(keyspaceID uint32) *pdpb.KeyspaceScope {
	if keyspaceID == NullKeyspaceID {
		return nil // absent scope = the null keyspace
	}
	return &pdpb.KeyspaceScope{Keyspace: &pdpb.KeyspaceScope_KeyspaceId{KeyspaceId: keyspaceID}}
}

// GCBarrier blocks the txn safe point from passing TS until it expires.
type GCBarrier struct {
	// ID names the barrier (for example a service name).
	ID string
	// TS is the barrier timestamp.
	TS uint64
	// TTL is the time left until it expires, or NoExpiry.
	TTL time.Duration
}

func barrierFromPB(b *pdpb.GCBarrierInfo) *GCBarrier {
	if b == nil {
		return nil
	}
	return &GCBarrier{ID: b.BarrierId, TS: b.BarrierTs, TTL: ttlDuration(b.TtlSeconds)}
}

func globalBarrierFromPB(b *pdpb.GlobalGCBarrierInfo) *GCBarrier {
	if b == nil {
		return nil
	}
	return &GCBarrier{ID: b.BarrierId, TS: b.BarrierTs, TTL: ttlDuration(b.TtlSeconds)}
}

// GCState is the GC state of one keyspace scope.
type GCState struct {
	// KeyspaceID is the scope (NullKeyspaceID for unified GC).
	KeyspaceID uint32
	// KeyspaceLevelGC tells whether the keyspace runs its own GC.
	KeyspaceLevelGC bool
	// TxnSafePoint: no transaction below it may still read or write.
	TxnSafePoint uint64
	// GCSafePoint: data below it may be collected; <= TxnSafePoint.
	GCSafePoint uint64
	// Barriers are the scope's GC barriers (unless excluded).
	Barriers []GCBarrier
}

func gcStateFromPB(s *pdpb.GCState) GCState {
	out := GCState{
		KeyspaceID:      NullKeyspaceID,
		KeyspaceLevelGC: s.GetIsKeyspaceLevelGc(),
		TxnSafePoint:    s.GetTxnSafePoint(),
		GCSafePoint:     s.GetGcSafePoint(),
	}
	if id, ok := s.GetKeyspaceScope().GetKeyspace().(*pdpb.KeyspaceScope_KeyspaceId); ok {
		out.KeyspaceID = id.KeyspaceId
	}
	for _, b := range s.GetGcBarriers() {
		out.Barriers = append(out.Barriers, *barrierFromPB(b))
	}
	return out
}

// GetGCSafePoint returns the cluster-wide GC safe point (what TiKV polls).
//
// It stays, read-only, because it reports the value TiKV's compaction
// filter acts on; code that moves safe points uses [Client.AdvanceTxnSafePoint],
// [Client.AdvanceGCSafePoint] and GC barriers, and reads [Client.GetGCState].
// The legacy writers (UpdateGCSafePoint, UpdateServiceGCSafePoint) are not
// offered: PD deprecates them and nothing in this workspace needs them.
func (c *Client) GetGCSafePoint(ctx context.Context, opts ...CallOption) (uint64, error) {
	resp, err := invoke(ctx, c, "GetGCSafePoint", idempotent, collectCall(opts),
		func(ctx context.Context, l *Leader) (*pdpb.GetGCSafePointResponse, error) {
			return l.pd.GetGCSafePoint(ctx, &pdpb.GetGCSafePointRequest{Header: c.header()})
		})
	if err != nil {
		return 0, err
	}
	return resp.SafePoint, nil
}

// TxnSafePointResult is PD's answer to [Client.AdvanceTxnSafePoint].
type TxnSafePointResult struct {
	// Old and New are the txn safe point before and after the call.
	Old, New uint64
	// BlockerDescription is non-empty when a barrier held the advance back.
	BlockerDescription string
}

// AdvanceTxnSafePoint moves the txn safe point of a keyspace scope toward
// target, as far as barriers allow.
func (c *Client) AdvanceTxnSafePoint(ctx context.Context, keyspaceID uint32, target uint64, opts ...CallOption) (TxnSafePointResult, error) {
	resp, err := invoke(ctx, c, "AdvanceTxnSafePoint", idempotent, collectCall(opts),
		func(ctx context.Context, l *Leader) (*pdpb.AdvanceTxnSafePointResponse, error) {
			return l.pd.AdvanceTxnSafePoint(ctx, &pdpb.AdvanceTxnSafePointRequest{
				Header: c.header(), KeyspaceScope: scope(keyspaceID), Target: target,
			})
		})
	if err != nil {
		return TxnSafePointResult{}, err
	}
	return TxnSafePointResult{Old: resp.OldTxnSafePoint, New: resp.NewTxnSafePoint, BlockerDescription: resp.BlockerDescription}, nil
}

// AdvanceGCSafePoint moves the GC safe point of a keyspace scope to target,
// which must not exceed its txn safe point. It returns the old and new
// values.
func (c *Client) AdvanceGCSafePoint(ctx context.Context, keyspaceID uint32, target uint64, opts ...CallOption) (old, new uint64, err error) {
	resp, err := invoke(ctx, c, "AdvanceGCSafePoint", idempotent, collectCall(opts),
		func(ctx context.Context, l *Leader) (*pdpb.AdvanceGCSafePointResponse, error) {
			return l.pd.AdvanceGCSafePoint(ctx, &pdpb.AdvanceGCSafePointRequest{
				Header: c.header(), KeyspaceScope: scope(keyspaceID), Target: target,
			})
		})
	if err != nil {
		return 0, 0, err
	}
	return resp.OldGcSafePoint, resp.NewGcSafePoint, nil
}

// SetGCBarrier sets (or replaces) the barrier id at ts for ttl in a keyspace
// scope and returns it as PD stored it.
func (c *Client) SetGCBarrier(ctx context.Context, keyspaceID uint32, id string, ts uint64, ttl time.Duration, opts ...CallOption) (GCBarrier, error) {
	resp, err := invoke(ctx, c, "SetGCBarrier", idempotent, collectCall(opts),
		func(ctx context.Context, l *Leader) (*pdpb.SetGCBarrierResponse, error) {
			return l.pd.SetGCBarrier(ctx, &pdpb.SetGCBarrierRequest{
				Header: c.header(), KeyspaceScope: scope(keyspaceID), BarrierId: id, BarrierTs: ts, TtlSeconds: ttlSeconds(ttl),
			})
		})
	if err != nil {
		return GCBarrier{}, err
	}
	if b := barrierFromPB(resp.NewBarrierInfo); b != nil {
		return *b, nil
	}
	return GCBarrier{ID: id, TS: ts, TTL: ttl}, nil
}

// DeleteGCBarrier removes a barrier and returns it, or nil if it did not
// exist.
func (c *Client) DeleteGCBarrier(ctx context.Context, keyspaceID uint32, id string, opts ...CallOption) (*GCBarrier, error) {
	resp, err := invoke(ctx, c, "DeleteGCBarrier", idempotent, collectCall(opts),
		func(ctx context.Context, l *Leader) (*pdpb.DeleteGCBarrierResponse, error) {
			return l.pd.DeleteGCBarrier(ctx, &pdpb.DeleteGCBarrierRequest{
				Header: c.header(), KeyspaceScope: scope(keyspaceID), BarrierId: id,
			})
		})
	if err != nil {
		return nil, err
	}
	return barrierFromPB(resp.DeletedBarrierInfo), nil
}

// SetGlobalGCBarrier sets a cluster-wide barrier that blocks every
// keyspace's txn safe point.
func (c *Client) SetGlobalGCBarrier(ctx context.Context, id string, ts uint64, ttl time.Duration, opts ...CallOption) (GCBarrier, error) {
	resp, err := invoke(ctx, c, "SetGlobalGCBarrier", idempotent, collectCall(opts),
		func(ctx context.Context, l *Leader) (*pdpb.SetGlobalGCBarrierResponse, error) {
			return l.pd.SetGlobalGCBarrier(ctx, &pdpb.SetGlobalGCBarrierRequest{
				Header: c.header(), BarrierId: id, BarrierTs: ts, TtlSeconds: ttlSeconds(ttl),
			})
		})
	if err != nil {
		return GCBarrier{}, err
	}
	if b := globalBarrierFromPB(resp.NewBarrierInfo); b != nil {
		return *b, nil
	}
	return GCBarrier{ID: id, TS: ts, TTL: ttl}, nil
}

// DeleteGlobalGCBarrier removes a cluster-wide barrier and returns it, or
// nil if it did not exist.
func (c *Client) DeleteGlobalGCBarrier(ctx context.Context, id string, opts ...CallOption) (*GCBarrier, error) {
	resp, err := invoke(ctx, c, "DeleteGlobalGCBarrier", idempotent, collectCall(opts),
		func(ctx context.Context, l *Leader) (*pdpb.DeleteGlobalGCBarrierResponse, error) {
			return l.pd.DeleteGlobalGCBarrier(ctx, &pdpb.DeleteGlobalGCBarrierRequest{Header: c.header(), BarrierId: id})
		})
	if err != nil {
		return nil, err
	}
	return globalBarrierFromPB(resp.DeletedBarrierInfo), nil
}

// GetGCState returns the GC state of a keyspace scope; withBarriers says
// whether to include its barriers.
func (c *Client) GetGCState(ctx context.Context, keyspaceID uint32, withBarriers bool, opts ...CallOption) (GCState, error) {
	resp, err := invoke(ctx, c, "GetGCState", idempotent, collectCall(opts),
		func(ctx context.Context, l *Leader) (*pdpb.GetGCStateResponse, error) {
			return l.pd.GetGCState(ctx, &pdpb.GetGCStateRequest{
				Header: c.header(), KeyspaceScope: scope(keyspaceID), ExcludeGcBarriers: !withBarriers,
			})
		})
	if err != nil {
		return GCState{}, err
	}
	return gcStateFromPB(resp.GcState), nil
}

// AllGCStates is PD's answer to [Client.GetAllKeyspacesGCStates].
type AllGCStates struct {
	// States has one entry per keyspace scope.
	States []GCState
	// GlobalBarriers are the cluster-wide barriers.
	GlobalBarriers []GCBarrier
}

// GetAllKeyspacesGCStates returns the GC state of every keyspace scope and
// the global barriers.
func (c *Client) GetAllKeyspacesGCStates(ctx context.Context, opts ...CallOption) (AllGCStates, error) {
	resp, err := invoke(ctx, c, "GetAllKeyspacesGCStates", idempotent, collectCall(opts),
		func(ctx context.Context, l *Leader) (*pdpb.GetAllKeyspacesGCStatesResponse, error) {
			return l.pd.GetAllKeyspacesGCStates(ctx, &pdpb.GetAllKeyspacesGCStatesRequest{Header: c.header()})
		})
	if err != nil {
		return AllGCStates{}, err
	}
	var out AllGCStates
	for _, s := range resp.GcStates {
		out.States = append(out.States, gcStateFromPB(s))
	}
	for _, b := range resp.GlobalGcBarriers {
		out.GlobalBarriers = append(out.GlobalBarriers, *globalBarrierFromPB(b))
	}
	return out, nil
}
