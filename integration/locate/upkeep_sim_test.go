package locate_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/tikvsim"
)

// recoveries is a slog handler that reports the id of every store the
// upkeep loop marks reachable again.
type recoveries chan uint64

func (recoveries) Enabled(context.Context, slog.Level) bool { return true }
func (r recoveries) Handle(_ context.Context, rec slog.Record) error {
	if rec.Message != "locate: store reachable again" {
		return nil
	}
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "store_id" {
			r <- a.Value.Uint64()
		}
		return true
	})
	return nil
}
func (r recoveries) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r recoveries) WithGroup(string) slog.Handler      { return r }

func waitRecovered(t *testing.T, rec recoveries, id uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for {
		select {
		case got := <-rec:
			if got == id {
				return
			}
		case <-ctx.Done():
			t.Fatalf("store %d never marked reachable again", id)
		}
	}
}

// Small probe settings keep the tests quick; the defaults are 1 s.
const (
	testProbeInterval = 100 * time.Millisecond
	testProbeTimeout  = 100 * time.Millisecond
)

func TestSimProbeRecoversRestartedLeaderStore(t *testing.T) {
	t.Parallel()
	rec := make(recoveries, 16)
	e := startSimEnv(t, tikvsim.Options{}, locate.WithLogger(slog.New(rec)))
	startUpkeep(t, e.cache, locate.WithProbe(e.rpc, testProbeInterval, testProbeTimeout),
		locate.WithPurge(0, 0), locate.WithStoreRefresh(0))
	ctx := t.Context()
	if err := e.put(ctx, "a", "1"); err != nil {
		t.Fatal(err)
	}
	r, err := e.sim.RegionByKey([]byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sim.StopStore(r.Leader); err != nil {
		t.Fatal(err)
	}
	// The leader stays on the stopped store: reads fail until it is back.
	dctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = e.get(dctx, "a")
	cancel()
	if err == nil {
		t.Fatal("read with the leader's store stopped succeeded")
	}
	if s := e.cache.CachedStore(r.Leader); s == nil || s.Reachable() {
		t.Fatal("stopped store not marked unreachable")
	}

	if err := e.sim.RestartStore(r.Leader); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	waitRecovered(t, rec, r.Leader)
	took := time.Since(restarted)
	t.Logf("store %d marked reachable %v after its restart (probe every %v, timeout %v)", r.Leader, took, testProbeInterval, testProbeTimeout)
	// One probe interval, plus one probe timeout for a probe that was
	// already in flight against the stopped store, plus scheduling slack
	// on a loaded machine.
	if limit := testProbeInterval + testProbeTimeout + 500*time.Millisecond; took > limit {
		t.Errorf("recovery took %v, want within about one probe interval (limit %v)", took, limit)
	}

	// The next read goes straight to the leader and succeeds first time.
	var sent atomic.Int32
	stop := e.sim.OnRequest(func(_ uint64, cmd string) {
		if cmd == "RawGet" {
			sent.Add(1)
		}
	})
	defer stop()
	if v, err := e.get(ctx, "a"); err != nil || v != "1" {
		t.Fatalf("read after recovery = %q, %v", v, err)
	}
	if n := sent.Load(); n != 1 {
		t.Fatalf("read after recovery took %d attempts, want 1", n)
	}
}

func TestSimProbeSingleUnavailableLeavesNoTrace(t *testing.T) {
	t.Parallel()
	rec := make(recoveries, 16)
	e := startSimEnv(t, tikvsim.Options{}, locate.WithLogger(slog.New(rec)))
	startUpkeep(t, e.cache, locate.WithProbe(e.rpc, testProbeInterval, testProbeTimeout),
		locate.WithPurge(0, 0), locate.WithStoreRefresh(0))
	ctx := t.Context()
	if err := e.put(ctx, "a", "1"); err != nil {
		t.Fatal(err)
	}
	r, err := e.sim.RegionByKey([]byte("a"))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("leader", func(t *testing.T) {
		e.sim.InjectFault(tikvsim.Fault{Command: "RawGet", StoreID: r.Leader, Count: 1, GRPCCode: codes.Unavailable})
		if v, err := e.get(ctx, "a"); err != nil || v != "1" {
			t.Fatalf("read through one Unavailable = %q, %v", v, err)
		}
		if s := e.cache.CachedStore(r.Leader); !s.Reachable() {
			t.Fatal("leader still unreachable after serving the retried read")
		}
	})

	t.Run("follower", func(t *testing.T) {
		// Follower reads spread over both followers; fail the first
		// attempt on one of them. The read itself succeeds elsewhere; the
		// probe, not luck, restores the follower.
		var follower uint64
		for _, p := range r.Peers {
			if p.StoreID != r.Leader {
				follower = p.StoreID
				break
			}
		}
		e.sim.InjectFault(tikvsim.Fault{Command: "RawGet", StoreID: follower, Count: 1, GRPCCode: codes.Unavailable})
		// The probe may restore the follower while the failed read is
		// still backing off, so watch for the recovery rather than for the
		// unreachable mark (a recovery implies the mark).
		recovered := false
		for i := 0; !recovered; i++ {
			if i == 200 {
				t.Fatal("no follower read reached the faulty follower")
			}
			if v, err := e.get(ctx, "a", locate.WithReplicaRead(locate.ReadFollower)); err != nil || v != "1" {
				t.Fatalf("follower read = %q, %v", v, err)
			}
			select {
			case id := <-rec:
				recovered = id == follower
			default:
			}
		}
		if st := e.cache.Stats(); st.UnreachableStores != 0 || st.StoresRecovered == 0 {
			t.Fatalf("after the probe: %+v", st)
		}
	})
}
