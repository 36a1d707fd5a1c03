package locate_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/retry"
)

// spanSet records spans from several goroutines.
type spanSet struct {
	mu  sync.Mutex
	got []string
}

func (s *spanSet) add(sp locate.Span) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, fmt.Sprintf("[%q,%q)", sp.Start, sp.End))
}

func (s *spanSet) sorted() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(slices.Sorted(slices.Values(s.got)), " ")
}

func TestWalkRangeParallelCoversRange(t *testing.T) {
	t.Parallel()
	for _, conc := range []int{0, 1, 2, 8} {
		t.Run(fmt.Sprintf("concurrency=%d", conc), func(t *testing.T) {
			t.Parallel()
			e := newRouteEnv(t, nil, "c", "f", "k")
			var spans spanSet
			var progs []locate.WalkProgress
			err := e.router.WalkRangeParallel(t.Context(), retry.New(time.Second), []byte("b"), []byte("m"),
				func(_ context.Context, _ *retry.Backoffer, s locate.Span) (bool, error) {
					spans.add(s)
					return false, nil
				},
				locate.WithWalkConcurrency(conc),
				locate.WithWalkProgress(func(p locate.WalkProgress) { progs = append(progs, p) }))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := spans.sorted(), `["b","c") ["c","f") ["f","k") ["k","m")`; got != want {
				t.Fatalf("spans %s, want %s", got, want)
			}
			if len(progs) != 5 || progs[0] != (locate.WalkProgress{Total: 4}) || progs[4] != (locate.WalkProgress{Done: 4, Total: 4, Spans: 4}) {
				t.Fatalf("progress %+v", progs)
			}
		})
	}
	t.Run("invalid range", func(t *testing.T) {
		t.Parallel()
		e := newRouteEnv(t, nil)
		err := e.router.WalkRangeParallel(t.Context(), retry.New(time.Second), []byte("z"), []byte("a"),
			func(context.Context, *retry.Backoffer, locate.Span) (bool, error) { return false, nil })
		if !errors.Is(err, locate.ErrInvalidRange) {
			t.Fatalf("err %v, want ErrInvalidRange", err)
		}
	})
}

// TestWalkRangeParallelSplitMidWalk splits a region after the range was
// cut into pieces: that piece is walked as the two new regions, after one
// stale answer, and the progress counts the extra span.
func TestWalkRangeParallelSplitMidWalk(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newRouteEnv(t, nil, "m")
		var spans spanSet
		var last locate.WalkProgress
		var once sync.Once
		err := e.router.WalkRangeParallel(t.Context(), retry.New(time.Minute), []byte("a"), []byte("z"),
			func(ctx context.Context, bo *retry.Backoffer, s locate.Span) (bool, error) {
				// The plan is made; split before any piece sends.
				once.Do(func() { e.pd.split("f") })
				if _, err := e.sender.Send(ctx, bo, batchGet(nil), s.Location.Region); err != nil {
					return false, err
				}
				spans.add(s)
				return false, nil
			},
			locate.WithWalkConcurrency(2),
			locate.WithWalkProgress(func(p locate.WalkProgress) { last = p }))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := spans.sorted(), `["a","f") ["f","m") ["m","z")`; got != want {
			t.Fatalf("spans %s, want %s", got, want)
		}
		if e.store.stale.Load() != 1 || last != (locate.WalkProgress{Done: 2, Total: 2, Spans: 3}) {
			t.Fatalf("%d stale answers, progress %+v; want 1, {2 2 3}", e.store.stale.Load(), last)
		}
	})
}

// TestWalkRangeParallelFirstErrorCancels fails one piece while another is
// running: the running one sees its ctx cancelled, the pieces not started
// never start, and the first error comes back.
func TestWalkRangeParallelFirstErrorCancels(t *testing.T) {
	t.Parallel()
	e := newRouteEnv(t, nil, "b", "c", "d", "e", "f")
	boom := errors.New("boom")
	var started atomic.Int32
	blocked := make(chan struct{})
	var sawCancel atomic.Bool
	err := e.router.WalkRangeParallel(t.Context(), retry.New(time.Second), nil, nil,
		func(ctx context.Context, _ *retry.Backoffer, s locate.Span) (bool, error) {
			started.Add(1)
			if len(s.Start) == 0 {
				// The first piece parks until the second failed.
				close(blocked)
				<-ctx.Done()
				sawCancel.Store(true)
				return false, ctx.Err()
			}
			<-blocked
			return false, boom
		},
		locate.WithWalkConcurrency(2))
	if !errors.Is(err, boom) {
		t.Fatalf("err %v, want boom", err)
	}
	if !sawCancel.Load() || started.Load() != 2 {
		t.Fatalf("cancel seen %v, %d pieces started; want true, 2", sawCancel.Load(), started.Load())
	}
}

func TestWalkRangeParallelCtxCancel(t *testing.T) {
	t.Parallel()
	e := newRouteEnv(t, nil, "b", "c", "d")
	ctx, cancel := context.WithCancel(t.Context())
	var in atomic.Int32
	err := e.router.WalkRangeParallel(ctx, retry.New(time.Second), nil, nil,
		func(ctx context.Context, _ *retry.Backoffer, _ locate.Span) (bool, error) {
			if in.Add(1) == 2 {
				cancel()
			}
			<-ctx.Done()
			return false, ctx.Err()
		},
		locate.WithWalkConcurrency(2))
	if !errors.Is(err, context.Canceled) || in.Load() != 2 {
		t.Fatalf("err %v after %d spans, want context.Canceled after 2", err, in.Load())
	}
}

// TestWalkRangeParallelBoundsConcurrency holds every span until the bound
// is reached, then lets all go: the bound is reached and never exceeded.
func TestWalkRangeParallelBoundsConcurrency(t *testing.T) {
	t.Parallel()
	const bound = 3
	e := newRouteEnv(t, nil, "b", "c", "d", "e", "f", "g", "h")
	var (
		mu       sync.Mutex
		inFlight int
		peak     int
		full     = make(chan struct{})
	)
	err := e.router.WalkRangeParallel(t.Context(), retry.New(time.Second), nil, nil,
		func(context.Context, *retry.Backoffer, locate.Span) (bool, error) {
			mu.Lock()
			inFlight++
			peak = max(peak, inFlight)
			if inFlight == bound && peak == bound {
				select {
				case <-full:
				default:
					close(full)
				}
			}
			mu.Unlock()
			<-full
			mu.Lock()
			inFlight--
			mu.Unlock()
			return false, nil
		},
		locate.WithWalkConcurrency(bound))
	if err != nil {
		t.Fatal(err)
	}
	if peak != bound {
		t.Fatalf("peak %d spans at once, want %d", peak, bound)
	}
}

// TestWalkRangeParallelPieceBudget gives each piece its own copy of the
// caller's budget: a piece that spent its own does not refuse the others'
// backoffs.
func TestWalkRangeParallelPieceBudget(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newRouteEnv(t, nil, "m")
		err := e.router.WalkRangeParallel(t.Context(), retry.New(time.Second), nil, nil,
			func(ctx context.Context, bo *retry.Backoffer, _ locate.Span) (bool, error) {
				for bo.Remaining() > 0 {
					if err := bo.BackoffAtMost(ctx, retry.RegionMiss, bo.Remaining(), errors.New("busy")); err != nil {
						return false, err
					}
				}
				if bo.Slept() != time.Second {
					return false, fmt.Errorf("piece slept %v, want its own 1s", bo.Slept())
				}
				return false, nil
			},
			locate.WithWalkConcurrency(2))
		if err != nil {
			t.Fatal(err)
		}
	})
}
