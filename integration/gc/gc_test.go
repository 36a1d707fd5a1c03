package gc_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/tikvgo/tikvgo/gc"
	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/tso"
)

var splits = []string{"b", "d", "f", "h", "j", "l", "n", "p"}

// faults splits a region, moves a leader and restarts a store the first
// time a range task reports progress, so the rest of the task meets a
// stale cache, a moved leader and reset connections.
func faults(t *testing.T, e *env) func(gc.Progress) {
	var once sync.Once
	return func(p gc.Progress) {
		if p.Done == 0 {
			return
		}
		once.Do(func() {
			if _, err := e.sim.SplitRegion([]byte("k5")); err != nil {
				t.Errorf("split: %v", err)
			}
			if err := e.leaderElsewhere("m"); err != nil {
				t.Errorf("transfer leader: %v", err)
			}
			r, err := e.sim.RegionByKey([]byte("o"))
			if err != nil {
				t.Errorf("region: %v", err)
				return
			}
			if err := e.sim.StopStore(r.Leader); err != nil {
				t.Errorf("stop store: %v", err)
			}
			if err := e.sim.RestartStore(r.Leader); err != nil {
				t.Errorf("restart store: %v", err)
			}
		})
	}
}

func TestRunResolvesEveryLockDespiteFaults(t *testing.T) {
	e := startEnv(t, splits, gc.WithConcurrency(2), gc.WithScanLockLimit(3))
	old := tso.Compose(e.now().Physical()-60_000, 0)
	var want []string
	for i := range 40 {
		k := fmt.Sprintf("%c%d", 'a'+i%16, i)
		e.lock(k, old+tso.Timestamp(i))
		want = append(want, k)
	}
	e.put("committed", "v")
	target := e.now()
	young := e.now() // a lock above the target stays
	e.lock("zz", young)

	var reports []gc.Progress
	hit := faults(t, e)
	res, err := e.gc.Run(t.Context(), target, gc.WithProgress(func(p gc.Progress) {
		reports = append(reports, p)
		hit(p)
	}))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.TxnSafePoint != target || res.GCSafePoint != target || res.Blocker != "" {
		t.Fatalf("Run = %+v, want both safe points at %d", res, target)
	}
	if res.Locks != len(want) {
		t.Errorf("Run resolved %d locks, want %d", res.Locks, len(want))
	}
	if got := e.locks(target); len(got) != 0 {
		t.Errorf("locks left below the safe point: %q", got)
	}
	if got := e.locks(young); !slices.Equal(got, []string{"zz"}) {
		t.Errorf("locks above the safe point = %q, want [zz]", got)
	}
	last := reports[len(reports)-1]
	if last.Done != last.Total || last.Total != len(splits)+1 || last.Regions < last.Total+1 {
		t.Errorf("last progress %+v: want all %d pieces done over at least %d regions (one split)", last, len(splits)+1, len(splits)+2)
	}
	st, err := e.gc.State(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.TxnSafePoint != uint64(target) || st.GCSafePoint != uint64(target) {
		t.Errorf("PD state %+v, want both at %d", st, target)
	}
	// Every lock was rolled back: the committed key is the only data.
	if got := e.keys("", "z"); !slices.Equal(got, []string{"committed"}) {
		t.Errorf("visible keys %q, want [committed]", got)
	}
}

func TestBarrierHoldsGCBack(t *testing.T) {
	e := startEnv(t, splits)
	reader := e.now() // a long reader's snapshot
	if _, err := e.gc.SetBarrier(t.Context(), "long-reader", reader, pdclient.NoExpiry); err != nil {
		t.Fatalf("SetBarrier: %v", err)
	}
	e.lock("c", e.now()) // a lock above the barrier must survive the round
	target := e.now()
	res, err := e.gc.Run(t.Context(), target)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.TxnSafePoint != reader || res.GCSafePoint != reader || res.Blocker == "" {
		t.Fatalf("Run = %+v, want safe points held at the barrier %d with a blocker", res, reader)
	}
	if got := e.locks(target); !slices.Equal(got, []string{"c"}) {
		t.Errorf("locks = %q, want [c] kept above the barrier", got)
	}
	if err := e.gc.CheckReadTS(t.Context(), reader); err != nil {
		t.Errorf("CheckReadTS(reader) = %v, want nil: the barrier protects it", err)
	}

	b, err := e.gc.DeleteBarrier(t.Context(), "long-reader")
	if err != nil || b == nil || b.TS != uint64(reader) {
		t.Fatalf("DeleteBarrier = %+v, %v", b, err)
	}
	res, err = e.gc.Run(t.Context(), target)
	if err != nil {
		t.Fatalf("Run after delete: %v", err)
	}
	if res.GCSafePoint != target || res.Blocker != "" {
		t.Fatalf("Run after delete = %+v, want %d", res, target)
	}
	if err := e.gc.CheckReadTS(t.Context(), reader); !errors.Is(err, gc.ErrTooEarly) {
		t.Errorf("CheckReadTS(reader) after GC = %v, want ErrTooEarly", err)
	}
}

func TestCheckReadTS(t *testing.T) {
	e := startEnv(t, nil, gc.WithSafePointTTL(0))
	ts := e.now()
	if err := e.gc.CheckReadTS(t.Context(), ts); err != nil {
		t.Fatalf("before GC: %v", err)
	}
	// Another process runs GC: the cache (TTL 0) sees it on the next check.
	other := startOther(t, e)
	target := e.now()
	if _, err := other.Run(t.Context(), target); err != nil {
		t.Fatal(err)
	}
	err := e.gc.CheckReadTS(t.Context(), ts)
	var tooEarly *gc.TooEarlyError
	if !errors.As(err, &tooEarly) || !errors.Is(err, gc.ErrTooEarly) || tooEarly.StartTS != ts || tooEarly.SafePoint != target {
		t.Fatalf("CheckReadTS = %v, want TooEarlyError{%d, %d}", err, ts, target)
	}
	if err := e.gc.CheckReadTS(t.Context(), target); err != nil {
		t.Errorf("at the safe point: %v", err)
	}
	if sp, err := e.gc.TxnSafePoint(t.Context()); err != nil || sp != target {
		t.Errorf("TxnSafePoint = %d, %v; want %d", sp, err, target)
	}
}

// startOther returns a second GC client over e's cluster (another
// process).
func startOther(t *testing.T, e *env) *gc.Client {
	t.Helper()
	return attach(t, e.sim).gc
}

// fixedSource is a safe point source (as gcetcd.Loader is) with a fixed
// value.
type fixedSource uint64

func (f fixedSource) TxnSafePoint(context.Context) (uint64, error) { return uint64(f), nil }

// TestCheckReadTSFromSource: with a safe point source, reads are checked
// against its value instead of PD's GC state.
func TestCheckReadTSFromSource(t *testing.T) {
	e := startEnv(t, nil, gc.WithSafePointSource(fixedSource(100)))
	var te *gc.TooEarlyError
	if err := e.gc.CheckReadTS(t.Context(), 99); !errors.As(err, &te) || te.SafePoint != 100 {
		t.Fatalf("CheckReadTS(99) = %v, want TooEarlyError at 100", err)
	}
	if err := e.gc.CheckReadTS(t.Context(), 100); err != nil {
		t.Fatalf("CheckReadTS(100) = %v", err)
	}
}
