package locate

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/metapb"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/retry"
)

// DefaultSafeTSInterval is how often the upkeep loop asks every store for
// its safe ts when [WithSafeTSUpdate] gives no interval: client-go polls
// every 2 s too. A stale read whose read ts is older than the last answer
// by more than the interval is served by any replica; a fresher one goes to
// the leader until the next poll.
const DefaultSafeTSInterval = 2 * time.Second

// SafeTS returns the store's safe ts as last polled (0 before the first
// poll): the minimum, over the regions the store holds, of the timestamp up
// to which TiKV can serve stale reads there. A stale read at a ts at or
// below it is served by this store without DataIsNotReady.
func (s *Store) SafeTS() uint64 { return s.safeTS.Load() }

// setSafeTS records a polled safe ts. An answer lower than the last one (a
// restart, a region that just arrived) is kept too: it is what the store
// can serve now.
func (s *Store) setSafeTS(ts uint64) { s.safeTS.Store(ts) }

// MinSafeTS returns the smallest safe ts over the stores the cache knows
// (0 if one has not been polled yet): a read at or below it can be served
// as a stale read by any replica. Stores that are not up are skipped.
func (c *Cache) MinSafeTS() uint64 {
	var (
		out  uint64
		seen bool
	)
	c.stores.stores.Range(func(_, v any) bool {
		s := v.(*Store)
		if !s.pollsSafeTS() {
			return true
		}
		ts := s.SafeTS()
		if !seen || ts < out {
			out, seen = ts, true
		}
		return true
	})
	return out
}

// RefreshSafeTS asks every store the cache knows for its safe ts
// (GetStoreSafeTS over the whole key space), concurrently, and records the
// answers on the stores. A store that does not answer keeps its old value;
// the errors are joined into the result. The upkeep loop calls it under
// [WithSafeTSUpdate].
func (c *Cache) RefreshSafeTS(ctx context.Context, client RPCClient) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	c.stores.stores.Range(func(_, v any) bool {
		s := v.(*Store)
		if !s.pollsSafeTS() {
			return true
		}
		wg.Go(func() {
			if err := pollSafeTS(ctx, client, s); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
		return true
	})
	wg.Wait()
	return errors.Join(errs...)
}

func pollSafeTS(ctx context.Context, client RPCClient, s *Store) error {
	// An empty key range means the whole key space: the store answers the
	// minimum over all its regions.
	req := kvrpc.NewStoreSafeTS(&kvrpcpb.StoreSafeTSRequest{KeyRange: &kvrpcpb.KeyRange{}})
	resp, err := client.Send(ctx, s.Addr(), req)
	if err != nil {
		return fmt.Errorf("locate: safe ts of store %d: %w", s.ID(), err)
	}
	m, ok := resp.Message().(*kvrpcpb.StoreSafeTSResponse)
	if !ok {
		return fmt.Errorf("locate: safe ts of store %d: %w: %T", s.ID(), retry.ErrUnexpectedResponse, resp.Message())
	}
	s.setSafeTS(m.GetSafeTs())
	return nil
}

// pollsSafeTS says whether the store takes part in stale reads: an Up TiKV
// store (TiFlash serves no TiKV reads, and an Offline store is leaving).
func (s *Store) pollsSafeTS() bool {
	return s.state == metapb.StoreState_Up && !s.IsTiFlash()
}
