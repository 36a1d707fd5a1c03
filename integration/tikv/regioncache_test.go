package tikv_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/tikv"
	"github.com/tikvgo/tikvgo/tikvsim"
)

// reachableAgain is a slog handler that reports each store the region
// cache's probe marks reachable again.
type reachableAgain chan uint64

func (reachableAgain) Enabled(context.Context, slog.Level) bool { return true }
func (r reachableAgain) Handle(_ context.Context, rec slog.Record) error {
	if rec.Message == "locate: store reachable again" {
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key == "store_id" {
				r <- a.Value.Uint64()
			}
			return true
		})
	}
	return nil
}
func (r reachableAgain) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r reachableAgain) WithGroup(string) slog.Handler      { return r }

func TestUpkeepOptionsRejectBadValues(t *testing.T) {
	t.Parallel()
	for name, o := range map[string]tikv.Option{
		"negative probe interval": tikv.WithStoreProbe(-time.Second, time.Second),
		"zero probe timeout":      tikv.WithStoreProbe(time.Second, 0),
		"negative purge":          tikv.WithRegionPurge(-time.Second, 10),
		"zero purge scan":         tikv.WithRegionPurge(time.Second, 0),
		"negative store refresh":  tikv.WithStoreRefresh(-time.Second),
	} {
		t.Run(name, func(t *testing.T) {
			// No PD is dialled: the option is rejected first.
			if _, err := tikv.New(t.Context(), []string{"127.0.0.1:1"}, o); !errors.Is(err, tikv.ErrInvalidOption) {
				t.Fatalf("New: %v, want ErrInvalidOption", err)
			}
		})
	}
}

func TestStoreProbeRestoresRestartedLeader(t *testing.T) {
	t.Parallel()
	sim := startSim(t, tikvsim.Options{})
	rec := make(reachableAgain, 16)
	c := newClient(t, sim, tikv.WithLogger(slog.New(rec)),
		tikv.WithStoreProbe(100*time.Millisecond, 100*time.Millisecond))
	ctx := t.Context()
	if err := c.Raw().Put(ctx, []byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	r, err := sim.RegionByKey([]byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.StopStore(r.Leader); err != nil {
		t.Fatal(err)
	}
	dctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = c.Raw().Get(dctx, []byte("k"))
	cancel()
	if err == nil {
		t.Fatal("Get with the leader's store stopped succeeded")
	}
	if n := c.RegionCacheStats().UnreachableStores; n != 1 {
		t.Fatalf("%d stores unreachable, want the stopped one", n)
	}
	if err := sim.RestartStore(r.Leader); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for got := uint64(0); got != r.Leader; {
		select {
		case got = <-rec:
		case <-wctx.Done():
			t.Fatal("the restarted store was never probed back")
		}
	}
	if v, err := c.Raw().Get(ctx, []byte("k")); err != nil || string(v) != "v" {
		t.Fatalf("Get after recovery = %q, %v", v, err)
	}
	s := c.RegionCacheStats()
	if s.UnreachableStores != 0 || s.StoresRecovered != 1 || s.Hits == 0 || s.Loads == 0 {
		t.Fatalf("stats after recovery: %+v", s)
	}
}

type cacheTracker struct {
	stats   chan func() locate.Stats
	untrack chan struct{}
}

func (*cacheTracker) InterceptRPC(ctx context.Context, target string, req *kvrpc.Request, next kvrpc.Invoker) (*kvrpc.Response, error) {
	return next(ctx, target, req)
}

func (m *cacheTracker) TrackCacheStats(f func() locate.Stats) func() {
	m.stats <- f
	return func() { close(m.untrack) }
}

func TestCacheStatsTrackerAndWithoutUpkeep(t *testing.T) {
	t.Parallel()
	sim := startSim(t, tikvsim.Options{})
	m := &cacheTracker{stats: make(chan func() locate.Stats, 1), untrack: make(chan struct{})}
	c := newClient(t, sim, tikv.WithMetrics(m), tikv.WithoutUpkeep())
	f := <-m.stats
	if err := c.Raw().Put(t.Context(), []byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if s := f(); s.Misses == 0 || s.Loads == 0 {
		t.Fatalf("tracked stats after a Put: %+v", s)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-m.untrack:
	default:
		t.Fatal("Close did not untrack the cache stats")
	}
}
