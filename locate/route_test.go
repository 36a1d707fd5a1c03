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

	"github.com/pingcap/kvproto/pkg/errorpb"
	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/locate/keycodec"
	"github.com/tikvgo/tikvgo/retry"
)

// epochStore plays TiKV for routing tests: it serves a request only if
// the request's region epoch is PD's current one, and answers EpochNotMatch
// (without the current regions, so the caller must reload from PD)
// otherwise. before, if set, runs first on every request.
type epochStore struct {
	pd     *fakePD
	before func(req *kvrpc.Request)
	served atomic.Int32
	stale  atomic.Int32
}

func (s *epochStore) Send(_ context.Context, _ string, req *kvrpc.Request) (*kvrpc.Response, error) {
	if s.before != nil {
		s.before(req)
	}
	c := req.Context()
	var re *errorpb.Error
	if s.pd.epochOf(c.GetRegionId()) != c.GetRegionEpoch().GetVersion() {
		re = &errorpb.Error{EpochNotMatch: &errorpb.EpochNotMatch{}}
		s.stale.Add(1)
	} else {
		s.served.Add(1)
	}
	return kvrpc.NewResponse(&kvrpcpb.RawBatchGetResponse{RegionError: re}), nil
}

// epochOf returns the version PD has for region id, 0 if unknown.
func (pd *fakePD) epochOf(id uint64) uint64 {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	for _, r := range pd.regions {
		if r.Meta.GetId() == id {
			return r.Meta.GetRegionEpoch().GetVersion()
		}
	}
	return 0
}

type routeEnv struct {
	pd     *fakePD
	cache  *locate.Cache
	store  *epochStore
	sender *locate.Sender
	router *locate.Router
}

func newRouteEnv(t *testing.T, codec *keycodec.Codec, splits ...string) *routeEnv {
	t.Helper()
	pd := newFakePD(splits...)
	cache := newCache(t, pd)
	store := &epochStore{pd: pd}
	sender := locate.NewSender(cache, store)
	return &routeEnv{pd: pd, cache: cache, store: store, sender: sender, router: locate.NewRouter(sender, codec)}
}

// batchGet is a request carrying keys, for the batch tests.
func batchGet(keys [][]byte) *kvrpc.Request {
	return kvrpc.NewRawBatchGet(&kvrpcpb.RawBatchGetRequest{Keys: keys})
}

func TestRouterSendKeyRelocatesAfterSplit(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newRouteEnv(t, nil, "m")
		if _, err := e.cache.LocateKey(t.Context(), []byte("g")); err != nil {
			t.Fatal(err)
		}
		e.pd.split("f") // the cache still holds [, m) at version 1
		bo := retry.New(time.Minute)
		var regions []uint64
		e.store.before = func(req *kvrpc.Request) { regions = append(regions, req.Context().GetRegionId()) }
		if _, err := e.router.SendKey(t.Context(), bo, []byte("g"), batchGet(nil)); err != nil {
			t.Fatal(err)
		}
		loc, _ := e.cache.TryLocateKey([]byte("g"))
		if want := []uint64{1, loc.Region.ID}; !slices.Equal(regions, want) || string(loc.StartKey) != "f" {
			t.Fatalf("sent to regions %v, want %v (g now in [%q, %q))", regions, want, loc.StartKey, loc.EndKey)
		}
		if n := bo.Attempts(retry.RegionMiss); n != 1 {
			t.Fatalf("regionMiss backoffs %d, want 1", n)
		}
	})
}

func TestRouterSendKeyBudget(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newRouteEnv(t, nil)
		// A store that always reports the epoch stale: the router must give
		// up when the caller's budget is spent, not loop forever.
		e.store.before = func(*kvrpc.Request) { e.pd.split(fmt.Sprint(e.store.stale.Load())) }
		_, err := e.router.SendKey(t.Context(), retry.New(time.Second), []byte("k"), batchGet(nil))
		var ex *retry.ExhaustedError
		if !errors.As(err, &ex) || !errors.Is(err, locate.ErrRegionStale) {
			t.Fatalf("err %v, want an exhausted budget over a stale region", err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := e.router.SendKey(ctx, retry.New(time.Second), []byte("k"), batchGet(nil)); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled ctx: err %v", err)
		}
	})
}

func TestGroupByRegion(t *testing.T) {
	t.Parallel()
	keys := func(s string) [][]byte {
		var out [][]byte
		for _, k := range strings.Fields(s) {
			out = append(out, []byte(k))
		}
		return out
	}
	for _, tc := range []struct {
		name string
		keys string
		opts []locate.BatchOption
		want string
	}{
		{"one batch per region", "g a d b a1 h", nil, `1:["a" "a1" "b"][1 4 3] 2:["d"][2] 3:["g" "h"][0 5]`},
		{"sorted input", "a b d", nil, `1:["a" "b"][0 1] 2:["d"][2]`},
		{"key limit", "a b b1 b2 b3", []locate.BatchOption{locate.WithBatchLimit(2, 0)}, `1:["a" "b"][0 1] 1:["b1" "b2"][2 3] 1:["b3"][4]`},
		// Sizes are len(key)*10: a batch closes once it reaches 25 bytes.
		{"byte limit", "a b1 b2 d", []locate.BatchOption{locate.WithBatchLimit(0, 25)}, `1:["a" "b1"][0 1] 1:["b2"][2] 2:["d"][3]`},
		{"primary first", "a b g d", []locate.BatchOption{locate.WithPrimary([]byte("g"))}, `3:["g"][2]* 1:["a" "b"][0 1] 2:["d"][3]`},
		{"duplicates keep order", "b a b", nil, `1:["a" "b" "b"][1 0 2]`},
		{"empty", "", nil, ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newRouteEnv(t, nil, "c", "f")
			batches, err := locate.GroupByRegion(t.Context(), e.router, keys(tc.keys), func(k []byte) ([]byte, int) { return k, len(k) * 10 }, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, b := range batches {
				s := fmt.Sprintf("%d:%q%v", b.Location.Region.ID, b.Items, b.Index)
				if b.Primary {
					s += "*"
				}
				got = append(got, s)
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Fatalf("batches %s, want %s", g, tc.want)
			}
		})
	}
}

// TestSendBatchesRegroupsAfterSplit splits a region under a batch in
// flight: the batch must be grouped again and every key served exactly once
// by the region holding it, with results in the caller's order.
func TestSendBatchesRegroupsAfterSplit(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newRouteEnv(t, nil, "m")
		keys := [][]byte{[]byte("x"), []byte("a"), []byte("k"), []byte("d"), []byte("z")}
		key := func(k []byte) ([]byte, int) { return k, len(k) }
		batches, err := locate.GroupByRegion(t.Context(), e.router, keys, key)
		if err != nil {
			t.Fatal(err)
		}
		e.pd.split("f")
		out := make([]string, len(keys))
		var mu sync.Mutex
		var sent []string
		bo := retry.New(time.Minute)
		err = locate.SendBatches(t.Context(), bo, e.router, batches, key, func(ctx context.Context, bo *retry.Backoffer, b locate.Batch[[]byte]) error {
			if _, err := e.sender.Send(ctx, bo, batchGet(b.Items), b.Location.Region); err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			sent = append(sent, fmt.Sprintf("%q", b.Items))
			for i, k := range b.Items {
				out[b.Index[i]] = fmt.Sprintf("%s@%d", k, b.Location.Region.ID)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(sent)
		right, _ := e.cache.TryLocateKey([]byte("k"))
		if want := []string{`["a" "d"]`, `["k"]`, `["x" "z"]`}; !slices.Equal(sent, want) {
			t.Fatalf("served batches %v, want %v", sent, want)
		}
		if want := []string{"x@2", "a@1", fmt.Sprintf("k@%d", right.Region.ID), "d@1", "z@2"}; !slices.Equal(out, want) {
			t.Fatalf("results %v, want %v", out, want)
		}
		// The batches ran on forks of bo: the sleep is charged to its budget.
		if tries := bo.Tries(); e.store.stale.Load() != 1 || len(tries) != 1 || tries[0].Kind != retry.RegionMiss || tries[0].Sleeps != 1 {
			t.Fatalf("stale answers %d, backoffs %v; want 1 and one regionMiss", e.store.stale.Load(), tries)
		}
	})
}

func TestSendBatchesPrimaryFirst(t *testing.T) {
	t.Parallel()
	e := newRouteEnv(t, nil, "c", "f", "m")
	keys := [][]byte{[]byte("a"), []byte("d"), []byte("g"), []byte("n"), []byte("o")}
	key := func(k []byte) ([]byte, int) { return k, len(k) }
	opts := []locate.BatchOption{locate.WithPrimary([]byte("g")), locate.WithPrimaryFirst(), locate.WithConcurrency(8)}
	batches, err := locate.GroupByRegion(t.Context(), e.router, keys, key, opts...)
	if err != nil {
		t.Fatal(err)
	}
	var primaryDone atomic.Bool
	var others atomic.Int32
	err = locate.SendBatches(t.Context(), retry.New(time.Second), e.router, batches, key, func(_ context.Context, _ *retry.Backoffer, b locate.Batch[[]byte]) error {
		if b.Primary {
			if others.Load() != 0 {
				return errors.New("primary sent after another batch")
			}
			primaryDone.Store(true)
			return nil
		}
		if !primaryDone.Load() {
			return fmt.Errorf("batch %q sent before the primary", b.Items)
		}
		others.Add(1)
		return nil
	}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if others.Load() != 3 {
		t.Fatalf("%d other batches sent, want 3", others.Load())
	}

	// A failing primary stops the rest.
	errPrimary := errors.New("primary failed")
	others.Store(0)
	err = locate.SendBatches(t.Context(), retry.New(time.Second), e.router, batches, key, func(_ context.Context, _ *retry.Backoffer, b locate.Batch[[]byte]) error {
		if b.Primary {
			return errPrimary
		}
		others.Add(1)
		return nil
	}, opts...)
	if !errors.Is(err, errPrimary) || others.Load() != 0 {
		t.Fatalf("err %v, %d others sent; want the primary's error and none", err, others.Load())
	}
}

func TestSendBatchesStopsOnError(t *testing.T) {
	t.Parallel()
	e := newRouteEnv(t, nil, "b", "c", "d", "e")
	keys := [][]byte{[]byte("a"), []byte("b"), []byte("c"), []byte("d"), []byte("e")}
	key := func(k []byte) ([]byte, int) { return k, len(k) }
	batches, err := locate.GroupByRegion(t.Context(), e.router, keys, key)
	if err != nil {
		t.Fatal(err)
	}
	errBoom := errors.New("boom")
	var started atomic.Int32
	err = locate.SendBatches(t.Context(), retry.New(time.Second), e.router, batches, key, func(ctx context.Context, _ *retry.Backoffer, b locate.Batch[[]byte]) error {
		started.Add(1)
		if string(b.Items[0]) == "a" {
			return errBoom
		}
		<-ctx.Done() // the others wait for the failure to cancel them
		return ctx.Err()
	}, locate.WithConcurrency(5))
	if !errors.Is(err, errBoom) {
		t.Fatalf("err %v, want boom", err)
	}
	if n := started.Load(); n != 5 {
		t.Fatalf("%d batches started, want 5", n)
	}
}

func TestWalkRange(t *testing.T) {
	t.Parallel()
	walk := func(t *testing.T, e *routeEnv, reverse bool, start, end string, stop int) string {
		var got []string
		fn := func(_ context.Context, _ *retry.Backoffer, s locate.Span) (bool, error) {
			got = append(got, fmt.Sprintf("%d[%q,%q)", s.Location.Region.ID, s.Start, s.End))
			return len(got) == stop, nil
		}
		w := e.router.WalkRange
		if reverse {
			w = e.router.WalkRangeReverse
		}
		if err := w(t.Context(), retry.New(time.Second), []byte(start), []byte(end), fn); err != nil {
			t.Fatal(err)
		}
		return strings.Join(got, " ")
	}
	for _, tc := range []struct {
		name       string
		reverse    bool
		start, end string
		stop       int
		want       string
	}{
		{"inside one region", false, "a", "b", 0, `1["a","b")`},
		{"across regions", false, "b", "g", 0, `1["b","c") 2["c","f") 3["f","g")`},
		{"on boundaries", false, "c", "f", 0, `2["c","f")`},
		{"whole key space", false, "", "", 0, `1["","c") 2["c","f") 3["f","")`},
		{"done stops", false, "", "", 2, `1["","c") 2["c","f")`},
		{"reverse across regions", true, "b", "g", 0, `3["f","g") 2["c","f") 1["b","c")`},
		{"reverse on boundaries", true, "c", "f", 0, `2["c","f")`},
		{"reverse from +inf", true, "d", "", 0, `3["f","") 2["d","f")`},
		{"reverse done stops", true, "", "", 1, `3["f","")`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newRouteEnv(t, nil, "c", "f")
			if got := walk(t, e, tc.reverse, tc.start, tc.end, tc.stop); got != tc.want {
				t.Fatalf("spans %s, want %s", got, tc.want)
			}
		})
	}
	t.Run("invalid range", func(t *testing.T) {
		t.Parallel()
		e := newRouteEnv(t, nil)
		fn := func(context.Context, *retry.Backoffer, locate.Span) (bool, error) { return false, nil }
		for _, w := range []func(context.Context, *retry.Backoffer, []byte, []byte, locate.SpanFunc) error{e.router.WalkRange, e.router.WalkRangeReverse} {
			if err := w(t.Context(), retry.New(time.Second), []byte("z"), []byte("a"), fn); !errors.Is(err, locate.ErrInvalidRange) {
				t.Fatalf("err %v, want ErrInvalidRange", err)
			}
		}
	})
}

// TestWalkRangeRelocatesStaleSpan splits a region under a walk: the span
// that failed is walked again as the new regions' spans, and spans already
// done are not repeated.
func TestWalkRangeRelocatesStaleSpan(t *testing.T) {
	t.Parallel()
	for _, reverse := range []bool{false, true} {
		t.Run(fmt.Sprintf("reverse=%v", reverse), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				e := newRouteEnv(t, nil, "m")
				if err := warmAll(t.Context(), e.cache); err != nil {
					t.Fatal(err)
				}
				e.pd.split("f")
				var got []string
				fn := func(ctx context.Context, bo *retry.Backoffer, s locate.Span) (bool, error) {
					if _, err := e.sender.Send(ctx, bo, batchGet(nil), s.Location.Region); err != nil {
						return false, err
					}
					got = append(got, fmt.Sprintf("[%q,%q)", s.Start, s.End))
					return false, nil
				}
				w := e.router.WalkRange
				want := `["a","f") ["f","m") ["m","z")`
				if reverse {
					w = e.router.WalkRangeReverse
					want = `["m","z") ["f","m") ["a","f")`
				}
				if err := w(t.Context(), retry.New(time.Minute), []byte("a"), []byte("z"), fn); err != nil {
					t.Fatal(err)
				}
				if g := strings.Join(got, " "); g != want || e.store.stale.Load() != 1 {
					t.Fatalf("spans %s after %d stale answers, want %s after 1", g, e.store.stale.Load(), want)
				}
			})
		})
	}
}

// TestRouterTxnCodec routes transactional API V1 keys through regions
// whose boundaries are memcomparable-encoded, as PD reports them for
// transactional data: grouping compares raw keys with encoded boundaries,
// and spans come back as raw keys.
func TestRouterTxnCodec(t *testing.T) {
	t.Parallel()
	codec, err := keycodec.NewV1(keycodec.Txn)
	if err != nil {
		t.Fatal(err)
	}
	enc := func(s string) string { return string(keycodec.EncodeBytes([]byte(s))) }
	// "b" < "b\x00" < "ba" < "c" among raw keys; boundaries are encoded.
	e := newRouteEnv(t, codec, enc("b\x00"), enc("c"))
	keys := [][]byte{[]byte("c"), []byte("b"), []byte("ba"), []byte("b\x00"), []byte("a")}
	batches, err := locate.GroupByRegion(t.Context(), e.router, keys, func(k []byte) ([]byte, int) { return k, len(k) })
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range batches {
		got = append(got, fmt.Sprintf("%d:%q", b.Location.Region.ID, b.Items))
	}
	if g, want := strings.Join(got, " "), `1:["a" "b"] 2:["b\x00" "ba"] 3:["c"]`; g != want {
		t.Fatalf("batches %s, want %s", g, want)
	}
	var spans []string
	err = e.router.WalkRange(t.Context(), retry.New(time.Second), []byte("a"), []byte("d"), func(_ context.Context, _ *retry.Backoffer, s locate.Span) (bool, error) {
		spans = append(spans, fmt.Sprintf("%d[%q,%q)", s.Location.Region.ID, s.Start, s.End))
		return false, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if g, want := strings.Join(spans, " "), `1["a","b\x00") 2["b\x00","c") 3["c","d")`; g != want {
		t.Fatalf("spans %s, want %s", g, want)
	}
	var region uint64
	e.store.before = func(req *kvrpc.Request) { region = req.Context().GetRegionId() }
	if _, err := e.router.SendKey(t.Context(), retry.New(time.Second), []byte("b\x00"), batchGet(nil)); err != nil || region != 2 {
		t.Fatalf("SendKey(b\\x00) went to region %d (err %v), want 2", region, err)
	}
}
