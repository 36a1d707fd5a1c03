package locate_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/retry"
	"github.com/tikvgo/tikvgo/tikvsim"
)

// scanSpan reads every key of s with one RawScan to its region.
func (e *simEnv) scanSpan(ctx context.Context, bo *retry.Backoffer, s locate.Span) ([]string, error) {
	resp, err := e.snd.Send(ctx, bo, kvrpc.NewRawScan(&kvrpcpb.RawScanRequest{StartKey: s.Start, EndKey: s.End, Limit: 1000}), s.Location.Region)
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, kv := range resp.Message().(*kvrpcpb.RawScanResponse).GetKvs() {
		keys = append(keys, string(kv.Key))
	}
	return keys, nil
}

// startWalkEnv starts a cluster split at b..h, with one key in each
// region and one on each boundary.
func startWalkEnv(t *testing.T) (*simEnv, *locate.Router, []string) {
	t.Helper()
	var splits [][]byte
	for c := 'b'; c <= 'h'; c++ {
		splits = append(splits, []byte{byte(c)})
	}
	e := startSimEnv(t, tikvsim.Options{SplitKeys: splits})
	var keys []string
	for c := 'a'; c <= 'h'; c++ {
		for _, k := range []string{string(c), string(c) + "5"} {
			if err := e.put(t.Context(), k, "v"); err != nil {
				t.Fatal(err)
			}
			keys = append(keys, k)
		}
	}
	return e, locate.NewRouter(e.snd, nil), keys
}

// TestSimWalkRangeParallel splits every region after the range was cut
// into pieces (from the first progress report, before any piece runs):
// each piece then meets a stale region and is walked as two regions, every
// key is read exactly once, and no more pieces run at once than allowed.
func TestSimWalkRangeParallel(t *testing.T) {
	t.Parallel()
	e, router, keys := startWalkEnv(t)
	const conc = 3
	var (
		mu       sync.Mutex
		seen     = map[string]int{}
		inFlight int
		peak     int
		last     locate.WalkProgress
	)
	err := router.WalkRangeParallel(t.Context(), retry.New(20*time.Second), nil, nil,
		func(ctx context.Context, bo *retry.Backoffer, s locate.Span) (bool, error) {
			mu.Lock()
			inFlight++
			peak = max(peak, inFlight)
			mu.Unlock()
			defer func() {
				mu.Lock()
				inFlight--
				mu.Unlock()
			}()
			got, err := e.scanSpan(ctx, bo, s)
			if err != nil {
				return false, err
			}
			mu.Lock()
			for _, k := range got {
				seen[k]++
			}
			mu.Unlock()
			return false, nil
		},
		locate.WithWalkConcurrency(conc),
		locate.WithWalkProgress(func(p locate.WalkProgress) {
			if p.Done == 0 {
				for c := 'a'; c <= 'h'; c++ {
					if _, err := e.sim.SplitRegionAt([]byte(string(c) + "3")); err != nil {
						t.Error(err)
					}
				}
			}
			last = p
		}))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if seen[k] != 1 {
			t.Errorf("key %q read %d times, want 1", k, seen[k])
		}
	}
	if len(seen) != len(keys) {
		t.Errorf("read %d keys, want %d", len(seen), len(keys))
	}
	if last != (locate.WalkProgress{Done: 8, Total: 8, Spans: 16}) || peak > conc {
		t.Fatalf("progress %+v, peak %d; want {8 8 16}, peak <= %d", last, peak, conc)
	}
}

// TestSimWalkRangeParallelFirstErrorCancels parks one piece's request in
// the store and fails another: the parked request is cancelled, no other
// piece starts and the failure comes back.
func TestSimWalkRangeParallelFirstErrorCancels(t *testing.T) {
	t.Parallel()
	e, router, _ := startWalkEnv(t)
	hold, held := make(chan struct{}), make(chan struct{}, 1)
	defer close(hold)
	e.sim.InjectFault(tikvsim.Fault{Command: "RawScan", Key: []byte("a"), Hold: hold, Held: held})
	boom := errors.New("boom")
	var started atomic.Int32
	err := router.WalkRangeParallel(t.Context(), retry.New(20*time.Second), []byte("a"), nil,
		func(ctx context.Context, bo *retry.Backoffer, s locate.Span) (bool, error) {
			started.Add(1)
			if string(s.Start) == "a" {
				_, err := e.scanSpan(ctx, bo, s)
				return false, err
			}
			<-held // the first piece is parked in the store
			return false, fmt.Errorf("span %q: %w", s.Start, boom)
		},
		locate.WithWalkConcurrency(2))
	if !errors.Is(err, boom) || started.Load() != 2 {
		t.Fatalf("err %v after %d spans, want boom after 2", err, started.Load())
	}
}

// TestSimWalkRangeParallelCtxCancel cancels the walk's ctx while pieces
// are parked in the store: the walk returns the ctx error.
func TestSimWalkRangeParallelCtxCancel(t *testing.T) {
	t.Parallel()
	e, router, _ := startWalkEnv(t)
	hold, held := make(chan struct{}), make(chan struct{}, 4)
	defer close(hold)
	e.sim.InjectFault(tikvsim.Fault{Command: "RawScan", Hold: hold, Held: held})
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-held
		<-held
		cancel()
	}()
	err := router.WalkRangeParallel(ctx, retry.New(20*time.Second), nil, nil,
		func(ctx context.Context, bo *retry.Backoffer, s locate.Span) (bool, error) {
			_, err := e.scanSpan(ctx, bo, s)
			return false, err
		},
		locate.WithWalkConcurrency(2))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}
