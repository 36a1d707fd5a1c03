package tikv_test

import (
	"context"
	"sync"
	"testing"

	"github.com/pingcap/kvproto/pkg/errorpb"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/rawkv"
	"github.com/tikvgo/tikvgo/retry"
	"github.com/tikvgo/tikvgo/tikv"
	"github.com/tikvgo/tikvgo/tikvsim"
)

// backoffMetrics implements tikv.Metrics and tikv.BackoffObserver only.
type backoffMetrics struct {
	mu    sync.Mutex
	kinds []*retry.Kind
}

var _ tikv.BackoffObserver = (*backoffMetrics)(nil)

func (m *backoffMetrics) InterceptRPC(ctx context.Context, target string, req *kvrpc.Request, next kvrpc.Invoker) (*kvrpc.Response, error) {
	return next(ctx, target, req)
}

func (m *backoffMetrics) ObserveBackoff(ev retry.BackoffEvent) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.kinds = append(m.kinds, ev.Kind)
}

func (m *backoffMetrics) seen() []*retry.Kind {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]*retry.Kind(nil), m.kinds...)
}

// TestMetricsBackoffObserver injects a region error (NotLeader without a
// hint, which the raw client backs off on with retry.RegionScheduling) and
// checks the facade handed the backoff to the Metrics value's
// ObserveBackoff, without replacing an observer given with WithRawOptions.
func TestMetricsBackoffObserver(t *testing.T) {
	t.Parallel()
	sim := startSim(t, tikvsim.Options{Stores: 1})
	m := &backoffMetrics{}
	var (
		rawMu    sync.Mutex
		rawKinds []*retry.Kind
	)
	rawObserver := rawkv.WithBackoffObserver(func(ev retry.BackoffEvent) {
		rawMu.Lock()
		defer rawMu.Unlock()
		rawKinds = append(rawKinds, ev.Kind)
	})
	c := newClient(t, sim, tikv.WithMetrics(m), tikv.WithRawOptions(rawObserver))
	ctx := t.Context()
	if err := c.Raw().Put(ctx, []byte("k"), []byte("v")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if got := m.seen(); len(got) != 0 {
		t.Fatalf("ObserveBackoff saw %v without any fault", got)
	}
	remove := sim.InjectFault(tikvsim.Fault{
		Command:     "RawGet",
		Count:       1,
		RegionError: &errorpb.Error{Message: "injected: no leader", NotLeader: &errorpb.NotLeader{}},
	})
	defer remove()
	if v, err := c.Raw().Get(ctx, []byte("k")); err != nil || string(v) != "v" {
		t.Fatalf("Get after a region error = %q, %v; want v", v, err)
	}
	got := m.seen()
	if len(got) == 0 || got[0] != retry.RegionScheduling {
		t.Fatalf("ObserveBackoff saw kinds %v; want %v first", got, retry.RegionScheduling)
	}
	rawMu.Lock()
	defer rawMu.Unlock()
	if len(rawKinds) != len(got) {
		t.Fatalf("the WithRawOptions observer saw %v, the Metrics %v; want both to see every backoff", rawKinds, got)
	}
}
