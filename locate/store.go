package locate

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/metapb"
	"golang.org/x/sync/singleflight"
)

// Label is one store label, such as zone=z1.
type Label struct {
	Key   string
	Value string
}

// Store is a cached TiKV store: its address, labels and state as PD reported
// them, plus the client's own view of its health. Address and labels are
// immutable; a store whose address changed is re-resolved into a new Store.
//
// A Store is safe for concurrent use.
type Store struct {
	id       uint64
	addr     string
	peerAddr string
	labels   []Label
	state    metapb.StoreState

	unreachable   atomic.Bool
	estimatedWait atomic.Int64 // nanoseconds of queueing TiKV reported
	waitUntil     atomic.Int64 // unix nanoseconds the estimate is valid until
	slowScore     atomic.Uint64
	safeTS        atomic.Uint64 // last polled GetStoreSafeTS answer (RefreshSafeTS)
}

func newStore(m *metapb.Store) *Store {
	s := &Store{id: m.GetId(), addr: m.GetAddress(), peerAddr: m.GetPeerAddress(), state: m.GetState()}
	for _, l := range m.GetLabels() {
		s.labels = append(s.labels, Label{Key: l.GetKey(), Value: l.GetValue()})
	}
	return s
}

// ID returns the store id.
func (s *Store) ID() uint64 { return s.id }

// Addr returns the client-facing address of the store.
func (s *Store) Addr() string { return s.addr }

// PeerAddr returns the address other stores use to reach this one.
func (s *Store) PeerAddr() string { return s.peerAddr }

// State returns the store state PD reported.
func (s *Store) State() metapb.StoreState { return s.state }

// Labels returns the store labels. Callers must not modify the slice.
func (s *Store) Labels() []Label { return s.labels }

// LabelValue returns the value of label key and whether the store has it.
func (s *Store) LabelValue(key string) (string, bool) {
	for _, l := range s.labels {
		if l.Key == key {
			return l.Value, true
		}
	}
	return "", false
}

// MatchesLabels reports whether the store carries every label in want.
func (s *Store) MatchesLabels(want []Label) bool {
	for _, w := range want {
		if v, ok := s.LabelValue(w.Key); !ok || v != w.Value {
			return false
		}
	}
	return true
}

// IsTiFlash reports whether the store is a TiFlash node (label engine=tiflash).
func (s *Store) IsTiFlash() bool {
	v, _ := s.LabelValue("engine")
	return v == "tiflash" || v == "tiflash_compute"
}

// Reachable reports whether the client currently believes it can reach the
// store (no RPC to it failed since it was last seen working).
func (s *Store) Reachable() bool { return !s.unreachable.Load() }

// MarkUnreachable records that an RPC to the store failed at the transport
// level; replica selection then prefers other stores.
func (s *Store) MarkUnreachable() { s.unreachable.Store(true) }

// MarkReachable records that the store answered.
func (s *Store) MarkReachable() {
	if s.unreachable.Load() {
		s.unreachable.Store(false)
	}
}

// EstimatedWait returns how long TiKV last said a request would queue on the
// store (from ServerIsBusy), or zero once that estimate went stale.
func (s *Store) EstimatedWait() time.Duration {
	if time.Now().UnixNano() >= s.waitUntil.Load() {
		return 0
	}
	return time.Duration(s.estimatedWait.Load())
}

// RecordEstimatedWait stores TiKV's queueing estimate; it stays valid for
// the estimate's own duration, after which the store is assumed idle.
func (s *Store) RecordEstimatedWait(d time.Duration) {
	s.estimatedWait.Store(int64(d))
	s.waitUntil.Store(time.Now().Add(d).UnixNano())
}

// SlowScore returns the last slow score (1 = healthy, 100 = stuck) TiKV
// reported through health feedback.
func (s *Store) SlowScore() uint64 { return s.slowScore.Load() }

// RecordSlowScore stores a slow score from health feedback.
func (s *Store) RecordSlowScore(v uint64) { s.slowScore.Store(v) }

// storeCache resolves store ids to Stores, loading each once from PD.
type storeCache struct {
	pd     PD
	logger *slog.Logger
	stores sync.Map // uint64 -> *Store
	flight singleflight.Group
}

func (sc *storeCache) init(pd PD, logger *slog.Logger) { sc.pd, sc.logger = pd, logger }

// Store returns the store with the given id, loading it from PD on a miss.
// A tombstone store is reported as [ErrStoreNotFound].
func (c *Cache) Store(ctx context.Context, id uint64) (*Store, error) {
	return c.stores.get(ctx, id)
}

func (sc *storeCache) get(ctx context.Context, id uint64) (*Store, error) {
	if v, ok := sc.stores.Load(id); ok {
		return v.(*Store), nil
	}
	ch := sc.flight.DoChan(fmt.Sprint(id), func() (any, error) {
		fctx, cancel := flightContext(ctx)
		defer cancel()
		m, err := sc.pd.GetStore(fctx, id)
		if err != nil {
			return nil, err
		}
		if m == nil || m.GetState() == metapb.StoreState_Tombstone {
			return nil, fmt.Errorf("%w: store %d", ErrStoreNotFound, id)
		}
		s := newStore(m)
		sc.stores.Store(id, s)
		return s, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*Store), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// CachedStore returns the cached store with the given id, or nil.
func (c *Cache) CachedStore(id uint64) *Store {
	if v, ok := c.stores.stores.Load(id); ok {
		return v.(*Store)
	}
	return nil
}

// InvalidateStore drops the cached store so the next use re-resolves it from
// PD (after StoreNotMatch: the address now belongs to another store).
func (c *Cache) InvalidateStore(id uint64) {
	if _, ok := c.stores.stores.LoadAndDelete(id); ok {
		c.cfg.logger.Info("locate: store invalidated", slog.Uint64("store_id", id))
	}
}

// RefreshStores reloads every store from PD, replacing cached entries whose
// address, labels or state changed, and returns the live ones.
func (c *Cache) RefreshStores(ctx context.Context) ([]*Store, error) {
	ms, err := c.pd.GetAllStores(ctx)
	if err != nil {
		c.stats.refreshErrors.Add(1)
		return nil, err
	}
	c.stats.refreshes.Add(1)
	out := make([]*Store, 0, len(ms))
	for _, m := range ms {
		if m.GetState() == metapb.StoreState_Tombstone {
			c.stores.stores.Delete(m.GetId())
			continue
		}
		if v, ok := c.stores.stores.Load(m.GetId()); ok {
			old := v.(*Store)
			if old.addr == m.GetAddress() && old.state == m.GetState() && sameLabels(old.labels, m.GetLabels()) {
				out = append(out, old)
				continue
			}
		}
		s := newStore(m)
		c.stores.stores.Store(s.id, s)
		out = append(out, s)
	}
	return out, nil
}

func sameLabels(a []Label, b []*metapb.StoreLabel) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].GetKey() || a[i].Value != b[i].GetValue() {
			return false
		}
	}
	return true
}

// RecordHealthFeedback applies a health feedback message a store attached to
// a batch response (wire it to kvrpc.WithHealthFeedback). Feedback for a store
// the cache does not hold is ignored.
func (c *Cache) RecordHealthFeedback(fb *kvrpcpb.HealthFeedback) {
	if s := c.CachedStore(fb.GetStoreId()); s != nil {
		s.RecordSlowScore(uint64(max(fb.GetSlowScore(), 0)))
	}
}
