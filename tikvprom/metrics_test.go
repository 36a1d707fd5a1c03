package tikvprom_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/errorpb"
	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/retry"
	"github.com/tikvgo/tikvgo/tikvprom"
	"github.com/tikvgo/tikvgo/tso"
)

// Local copies of the facade's metrics interfaces: tikvprom may not import
// the facade, so these assertions keep the method sets in step (the tools
// module asserts against the real tikv.Metrics as well).
type (
	facadeMetrics interface {
		InterceptRPC(ctx context.Context, target string, req *kvrpc.Request, next kvrpc.Invoker) (*kvrpc.Response, error)
	}
	facadeStatsTracker interface {
		TrackStats(rpc func() kvrpc.Stats, pd func() pdclient.Stats, tso func() tso.Stats) (untrack func())
	}
	facadeTSOObserver interface {
		ObserveTSO(d time.Duration, err error)
	}
	facadeBackoffObserver interface {
		ObserveBackoff(ev retry.BackoffEvent)
	}
	facadeCacheStatsTracker interface {
		TrackCacheStats(cache func() locate.Stats) (untrack func())
	}
)

var (
	_ facadeMetrics      = (*tikvprom.Metrics)(nil)
	_ facadeStatsTracker = (*tikvprom.Metrics)(nil)
	_ facadeTSOObserver  = (*tikvprom.Metrics)(nil)
	// The facade's tikv.BackoffObserver, which hands ObserveBackoff to
	// rawkv.WithBackoffObserver.
	_ facadeBackoffObserver = (*tikvprom.Metrics)(nil)
	// The facade's tikv.CacheStatsTracker.
	_ facadeCacheStatsTracker = (*tikvprom.Metrics)(nil)
	// ObserveBackoff fits retry.WithObserver.
	_ = retry.WithObserver((*tikvprom.Metrics)(nil).ObserveBackoff)
)

func newMetrics(t *testing.T, opts ...tikvprom.Option) (*tikvprom.Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := tikvprom.New(reg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m, reg
}

// find returns the metric of family name whose labels are exactly labels.
func find(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) *dto.Metric {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, lp := range m.GetLabel() {
				if labels[lp.GetName()] != lp.GetValue() {
					continue next
				}
			}
			return m
		}
	}
	return nil
}

// lint fails the test on any problem promlint finds in reg's metrics.
func lint(t *testing.T, reg *prometheus.Registry) {
	t.Helper()
	problems, err := testutil.GatherAndLint(reg)
	if err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %+v", err, problems)
	}
}

func histCount(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) uint64 {
	t.Helper()
	m := find(t, reg, name, labels)
	if m == nil {
		return 0
	}
	return m.GetHistogram().GetSampleCount()
}

func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	m := find(t, reg, name, map[string]string{})
	if m == nil {
		t.Fatalf("no metric %s", name)
	}
	return m.GetCounter().GetValue()
}

func TestNewRejectsBadArguments(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		reg  prometheus.Registerer
		opts []tikvprom.Option
	}{
		{"nil registerer", nil, nil},
		{"empty namespace", prometheus.NewRegistry(), []tikvprom.Option{tikvprom.WithNamespace("")}},
		{"no buckets", prometheus.NewRegistry(), []tikvprom.Option{tikvprom.WithBuckets()}},
		{"unsorted buckets", prometheus.NewRegistry(), []tikvprom.Option{tikvprom.WithBuckets(1, 0.5)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := tikvprom.New(tc.reg, tc.opts...); !errors.Is(err, tikvprom.ErrInvalidOption) {
				t.Fatalf("New: %v, want ErrInvalidOption", err)
			}
		})
	}
}

func TestNewTwiceOnOneRegistry(t *testing.T) {
	t.Parallel()
	m, reg := newMetrics(t)
	_, err := tikvprom.New(reg)
	var are prometheus.AlreadyRegisteredError
	if !errors.As(err, &are) {
		t.Fatalf("second New: %v, want AlreadyRegisteredError", err)
	}
	// The failed New left the first one's collectors in place, and a second
	// namespace registers beside them.
	m.ObserveTSO(time.Millisecond, nil)
	if n := histCount(t, reg, "tikvgo_tso_duration_seconds", map[string]string{"result": "ok"}); n != 1 {
		t.Fatalf("tso count %d after failed second New, want 1", n)
	}
	if _, err := tikvprom.New(reg, tikvprom.WithNamespace("other")); err != nil {
		t.Fatalf("New with another namespace: %v", err)
	}
	lint(t, reg)
}

func TestInterceptRPCResultClasses(t *testing.T) {
	t.Parallel()
	m, reg := newMetrics(t, tikvprom.WithConstLabels(prometheus.Labels{"cluster": "c1"}))
	ok := kvrpc.NewResponse(&kvrpcpb.RawGetResponse{Value: []byte("v")})
	regionErr := kvrpc.NewResponse(&kvrpcpb.RawGetResponse{RegionError: &errorpb.Error{NotLeader: &errorpb.NotLeader{RegionId: 7}}})
	timeout := &kvrpc.RPCError{Addr: "s1", Cmd: kvrpc.CmdType("RawGet"), Err: context.DeadlineExceeded}
	cases := []struct {
		resp   *kvrpc.Response
		err    error
		result string
	}{
		{ok, nil, "ok"},
		{ok, nil, "ok"},
		{regionErr, nil, "region_error"},
		{nil, fmt.Errorf("wrapped: %w", context.Canceled), "canceled"},
		{nil, timeout, "timeout"},
		{nil, errors.New("connection refused"), "error"},
	}
	for _, tc := range cases {
		req := kvrpc.NewRawGet(&kvrpcpb.RawGetRequest{Key: []byte("secret-key")})
		called := 0
		resp, err := m.InterceptRPC(t.Context(), "store-1:20160", req, func(_ context.Context, target string, r *kvrpc.Request) (*kvrpc.Response, error) {
			called++
			if target != "store-1:20160" || r != req {
				t.Errorf("next got target %q, request %p; want the originals", target, r)
			}
			return tc.resp, tc.err
		})
		if called != 1 || resp != tc.resp || !errors.Is(err, tc.err) {
			t.Fatalf("InterceptRPC = %v, %v after %d calls; want next's result once", resp, err, called)
		}
	}
	want := map[string]uint64{"ok": 2, "region_error": 1, "canceled": 1, "timeout": 1, "error": 1}
	for result, n := range want {
		labels := map[string]string{"command": "RawGet", "result": result, "cluster": "c1"}
		if got := histCount(t, reg, "tikvgo_rpc_duration_seconds", labels); got != n {
			t.Errorf("rpc %s count = %d, want %d", result, got, n)
		}
	}
	// Bounded labels: neither the key nor the store address appears.
	if got := testutil.CollectAndCount(reg, "tikvgo_rpc_duration_seconds"); got != len(want) {
		t.Errorf("%d rpc series, want %d", got, len(want))
	}
	// Interceptor is the same hook as a kvrpc.Interceptor value.
	var it kvrpc.Interceptor = m.Interceptor()
	if _, err := it(t.Context(), "s", kvrpc.NewRawPut(&kvrpcpb.RawPutRequest{}), func(context.Context, string, *kvrpc.Request) (*kvrpc.Response, error) {
		return ok, nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := histCount(t, reg, "tikvgo_rpc_duration_seconds", map[string]string{"command": "RawPut", "result": "ok", "cluster": "c1"}); got != 1 {
		t.Errorf("RawPut count = %d, want 1", got)
	}
}

func TestObserveBackoffAndTSO(t *testing.T) {
	t.Parallel()
	m, reg := newMetrics(t, tikvprom.WithNamespace("app"), tikvprom.WithBuckets(0.01, 0.1, 1))
	m.ObserveBackoff(retry.BackoffEvent{Kind: retry.RegionMiss, Attempt: 1, Delay: 2 * time.Millisecond, Slept: 2 * time.Millisecond, Outcome: retry.OutcomeSlept})
	m.ObserveBackoff(retry.BackoffEvent{Kind: retry.RegionMiss, Attempt: 2, Delay: 4 * time.Millisecond, Slept: 300 * time.Millisecond, Outcome: retry.OutcomeSlept})
	m.ObserveBackoff(retry.BackoffEvent{Kind: retry.ServerBusy, Delay: time.Second, Outcome: retry.OutcomeExhausted})
	slept := find(t, reg, "app_backoff_sleep_seconds", map[string]string{"kind": retry.RegionMiss.String(), "outcome": "slept"})
	if slept == nil || slept.GetHistogram().GetSampleCount() != 2 || slept.GetHistogram().GetSampleSum() != 0.302 {
		t.Fatalf("region miss sleeps = %v, want 2 summing to 0.302s", slept)
	}
	if n := histCount(t, reg, "app_backoff_sleep_seconds", map[string]string{"kind": retry.ServerBusy.String(), "outcome": "exhausted"}); n != 1 {
		t.Fatalf("server busy exhausted count = %d, want 1", n)
	}

	m.ObserveTSO(time.Millisecond, nil)
	m.ObserveTSO(time.Millisecond, context.DeadlineExceeded)
	m.ObserveTSO(time.Millisecond, tso.ErrClosed)
	for result, n := range map[string]uint64{"ok": 1, "timeout": 1, "error": 1} {
		if got := histCount(t, reg, "app_tso_duration_seconds", map[string]string{"result": result}); got != n {
			t.Errorf("tso %s count = %d, want %d", result, got, n)
		}
	}
}

func TestTrackStatsSumsAndKeepsClosedClients(t *testing.T) {
	t.Parallel()
	m, reg := newMetrics(t)
	a := kvrpc.Stats{BatchMessages: 2, BatchedRequests: 10, UnaryRequests: 1, StreamsOpened: 1}
	b := kvrpc.Stats{BatchMessages: 3, BatchedRequests: 5}
	tsoA := tso.Stats{Rounds: 4, Timestamps: 40, Streams: 1}
	untrackA := m.TrackStats(func() kvrpc.Stats { return a }, func() pdclient.Stats { return pdclient.Stats{Discoveries: 1, Retries: 2} }, func() tso.Stats { return tsoA })
	untrackB := m.TrackStats(func() kvrpc.Stats { return b }, nil, nil)

	check := func(name string, want float64) {
		t.Helper()
		if got := counter(t, reg, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("tikvgo_rpc_batch_messages_total", 5)
	check("tikvgo_rpc_batched_requests_total", 15)
	check("tikvgo_rpc_unary_requests_total", 1)
	check("tikvgo_pd_discoveries_total", 1)
	check("tikvgo_pd_retries_total", 2)
	check("tikvgo_tso_timestamps_total", 40)
	check("tikvgo_tso_rounds_total", 4)

	// Values are read at scrape time.
	a.BatchMessages = 7
	check("tikvgo_rpc_batch_messages_total", 10)

	// A closed client keeps its last counts; later changes are not read.
	untrackA()
	untrackA()
	a.BatchMessages = 100
	check("tikvgo_rpc_batch_messages_total", 10)
	check("tikvgo_tso_timestamps_total", 40)
	untrackB()
	check("tikvgo_rpc_batched_requests_total", 15)
	lint(t, reg)
}

func TestTrackCacheStats(t *testing.T) {
	t.Parallel()
	m, reg := newMetrics(t)
	a := locate.Stats{Hits: 10, Misses: 2, Loads: 1, Probes: 3, StoresRecovered: 1,
		Invalidations: locate.Invalidations{EpochNotMatch: 4, Expired: 1}}
	b := locate.Stats{Hits: 5, Invalidations: locate.Invalidations{EpochNotMatch: 1, NoLeader: 2}}
	untrackA := m.TrackCacheStats(func() locate.Stats { return a })
	untrackB := m.TrackCacheStats(func() locate.Stats { return b })
	defer untrackB()
	check := func(name string, labels map[string]string, want float64) {
		t.Helper()
		mt := find(t, reg, name, labels)
		if mt == nil {
			t.Fatalf("no metric %s%v", name, labels)
		}
		if got := mt.GetCounter().GetValue(); got != want {
			t.Errorf("%s%v = %v, want %v", name, labels, got, want)
		}
	}
	none := map[string]string{}
	check("tikvgo_region_cache_hits_total", none, 15)
	check("tikvgo_region_cache_misses_total", none, 2)
	check("tikvgo_region_cache_loads_total", none, 1)
	check("tikvgo_region_cache_store_probes_total", none, 3)
	check("tikvgo_region_cache_stores_recovered_total", none, 1)
	check("tikvgo_region_cache_invalidations_total", map[string]string{"reason": "epoch_not_match"}, 5)
	check("tikvgo_region_cache_invalidations_total", map[string]string{"reason": "no_leader"}, 2)
	check("tikvgo_region_cache_invalidations_total", map[string]string{"reason": "region_not_found"}, 0)
	if n := testutil.CollectAndCount(reg, "tikvgo_region_cache_invalidations_total"); n != len(locate.InvalidReasons) {
		t.Fatalf("%d invalidation series, want one per reason (%d)", n, len(locate.InvalidReasons))
	}
	untrackA()
	a.Hits = 1000
	check("tikvgo_region_cache_hits_total", none, 15)
	lint(t, reg)
}
