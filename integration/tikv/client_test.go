package tikv_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"go.uber.org/goleak"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/rawkv"
	"github.com/tikvgo/tikvgo/tikv"
	"github.com/tikvgo/tikvgo/tikvsim"
	"github.com/tikvgo/tikvgo/tso"
)

func startSim(t *testing.T, opts tikvsim.Options) *tikvsim.Cluster {
	t.Helper()
	sim, err := tikvsim.Start(t.Context(), opts)
	if err != nil {
		t.Fatalf("tikvsim.Start: %v", err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return sim
}

func newClient(t *testing.T, sim *tikvsim.Cluster, opts ...tikv.Option) *tikv.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := tikv.New(ctx, sim.PDAddrs(), opts...)
	if err != nil {
		t.Fatalf("tikv.New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestNewRejectsBadOptions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	badPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(badPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	// No server listens here: a constructor that dialled before
	// validating would hang until the ctx deadline instead of failing.
	addrs := []string{"127.0.0.1:1"}
	cases := []struct {
		name  string
		addrs []string
		opts  []tikv.Option
	}{
		{"no PD address", nil, nil},
		{"keyspace without V2", addrs, []tikv.Option{tikv.WithKeyspace("ks")}},
		{"empty keyspace", addrs, []tikv.Option{tikv.WithAPIVersion(tikv.V2), tikv.WithKeyspace("")}},
		{"unknown api version", addrs, []tikv.Option{tikv.WithAPIVersion(tikv.APIVersion(7))}},
		{"negative request timeout", addrs, []tikv.Option{tikv.WithRequestTimeout(-time.Second)}},
		{"negative pd timeout", addrs, []tikv.Option{tikv.WithPDTimeout(-time.Second)}},
		{"zero connections", addrs, []tikv.Option{tikv.WithConnectionCount(0)}},
		{"nil logger", addrs, []tikv.Option{tikv.WithLogger(nil)}},
		{"nil metrics", addrs, []tikv.Option{tikv.WithMetrics(nil)}},
		{"nil tls", addrs, []tikv.Option{tikv.WithTLS(nil)}},
		{"nil pd client", addrs, []tikv.Option{tikv.WithPDClient(nil)}},
		{"tls twice", addrs, []tikv.Option{tikv.WithTLS(&tls.Config{}), tikv.WithTLSFiles(badPEM, "", "")}},
		{"tls files without ca", addrs, []tikv.Option{tikv.WithTLSFiles("", "c.pem", "k.pem")}},
		{"tls cert without key", addrs, []tikv.Option{tikv.WithTLSFiles(badPEM, "c.pem", "")}},
		{"unreadable tls files", addrs, []tikv.Option{tikv.WithTLSFiles(filepath.Join(dir, "missing.pem"), "", "")}},
		{"tls file not pem", addrs, []tikv.Option{tikv.WithTLSFiles(badPEM, "", "")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			c, err := tikv.New(ctx, tc.addrs, tc.opts...)
			if err == nil {
				_ = c.Close()
				t.Fatal("New succeeded, want an error")
			}
			if !errors.Is(err, tikv.ErrInvalidOption) {
				t.Fatalf("New: %v, want ErrInvalidOption", err)
			}
			if ctx.Err() != nil {
				t.Fatalf("New waited for the ctx deadline: %v", err)
			}
		})
	}
}

func TestNewFailsWithoutPD(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	c, err := tikv.New(ctx, []string{"127.0.0.1:1"})
	if err == nil {
		_ = c.Close()
		t.Fatal("New succeeded against no PD")
	}
	if errors.Is(err, tikv.ErrInvalidOption) {
		t.Fatalf("New: %v: an unreachable PD is not an option error", err)
	}
}

func TestRawRoundTrip(t *testing.T) {
	t.Parallel()
	sim := startSim(t, tikvsim.Options{SplitKeys: [][]byte{[]byte("m")}})
	c := newClient(t, sim, tikv.WithRequestTimeout(5*time.Second), tikv.WithConnectionCount(2))
	raw := c.Raw()
	ctx := t.Context()

	if got := c.APIVersion(); got != tikv.V1 {
		t.Fatalf("APIVersion = %v, want V1", got)
	}
	keys := [][]byte{[]byte("a"), []byte("k"), []byte("n"), []byte("z")}
	vals := [][]byte{[]byte("1"), []byte("2"), []byte("3"), []byte("4")}
	if err := raw.BatchPut(ctx, keys, vals); err != nil {
		t.Fatalf("BatchPut: %v", err)
	}
	v, err := raw.Get(ctx, []byte("n"))
	if err != nil || string(v) != "3" {
		t.Fatalf("Get(n) = %q, %v; want 3", v, err)
	}
	// The scan crosses the region boundary at "m".
	kvs, err := raw.Scan(ctx, []byte("b"), nil, 10)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	var got []string
	for _, kv := range kvs {
		got = append(got, string(kv.Key)+"="+string(kv.Value))
	}
	if want := []string{"k=2", "n=3", "z=4"}; !slices.Equal(got, want) {
		t.Fatalf("Scan = %v, want %v", got, want)
	}
	if err := raw.Delete(ctx, []byte("k")); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if v, err := raw.Get(ctx, []byte("k")); err != nil || v != nil {
		t.Fatalf("Get after Delete = %q, %v; want nil", v, err)
	}
	// Bad input fails with the facade's sentinel, which is rawkv's.
	if err := raw.Put(ctx, nil, []byte("x")); !errors.Is(err, tikv.ErrEmptyKey) || !errors.Is(err, rawkv.ErrEmptyKey) {
		t.Fatalf("Put(empty key) = %v, want ErrEmptyKey", err)
	}
	if _, err := raw.Scan(ctx, []byte("z"), []byte("a"), 1); !errors.Is(err, tikv.ErrInvalidRange) {
		t.Fatalf("Scan(z, a) = %v, want ErrInvalidRange", err)
	}
	if err := raw.Put(ctx, []byte("t"), []byte("x"), tikv.WithTTL(time.Minute)); !errors.Is(err, tikv.ErrTTLNotSupported) {
		t.Fatalf("Put with TTL under V1 = %v, want ErrTTLNotSupported", err)
	}
	if _, err := raw.CompareAndSwap(ctx, []byte("a"), nil, []byte("x")); !errors.Is(err, tikv.ErrCASNeedsAtomicMode) {
		t.Fatalf("CAS outside atomic mode = %v, want ErrCASNeedsAtomicMode", err)
	}
	ts1, err := c.CurrentTS(ctx)
	if err != nil {
		t.Fatalf("CurrentTS: %v", err)
	}
	ts2, err := c.CurrentTS(ctx)
	if err != nil || ts2 <= ts1 {
		t.Fatalf("CurrentTS = %d then %d, %v; want increasing", ts1, ts2, err)
	}
	if stores, err := c.PD().GetAllStores(ctx); err != nil || len(stores) != 3 {
		t.Fatalf("PD().GetAllStores = %d stores, %v; want 3", len(stores), err)
	}
}

func TestCASAndTTLWithRawOptions(t *testing.T) {
	t.Parallel()
	sim := startSim(t, tikvsim.Options{APIVersion: kvrpcpb.APIVersion_V1TTL})
	c := newClient(t, sim, tikv.WithAPIVersion(tikv.V1TTL), tikv.WithAtomicForCAS())
	raw, ctx := c.Raw(), t.Context()

	res, err := raw.CompareAndSwap(ctx, []byte("k"), nil, []byte("v1"))
	if err != nil || !res.Swapped || res.Existed {
		t.Fatalf("CAS(absent) = %+v, %v; want swapped", res, err)
	}
	res, err = raw.CompareAndSwap(ctx, []byte("k"), []byte("other"), []byte("v2"))
	if err != nil || res.Swapped || string(res.Previous) != "v1" {
		t.Fatalf("CAS(wrong expected) = %+v, %v; want not swapped, previous v1", res, err)
	}
	if err := raw.Put(ctx, []byte("t"), []byte("x"), tikv.WithTTL(time.Hour)); err != nil {
		t.Fatalf("Put with TTL: %v", err)
	}
	ttl, found, err := raw.GetKeyTTL(ctx, []byte("t"))
	if err != nil || !found || ttl <= 0 || ttl > time.Hour {
		t.Fatalf("GetKeyTTL = %v, %v, %v; want (0, 1h]", ttl, found, err)
	}
}

func TestAPIV2Keyspace(t *testing.T) {
	t.Parallel()
	sim := startSim(t, tikvsim.Options{APIVersion: kvrpcpb.APIVersion_V2, Keyspaces: []string{"ks1", "ks2"}})
	ks1 := newClient(t, sim, tikv.WithAPIVersion(tikv.V2), tikv.WithKeyspace("ks1"))
	ks2 := newClient(t, sim, tikv.WithAPIVersion(tikv.V2), tikv.WithKeyspace("ks2"))
	def := newClient(t, sim, tikv.WithAPIVersion(tikv.V2))
	ctx := t.Context()

	if ks1.Raw().KeyspaceID() == ks2.Raw().KeyspaceID() {
		t.Fatalf("ks1 and ks2 share keyspace id %d", ks1.Raw().KeyspaceID())
	}
	if err := ks1.Raw().Put(ctx, []byte("k"), []byte("one")); err != nil {
		t.Fatalf("ks1 Put: %v", err)
	}
	if err := ks2.Raw().Put(ctx, []byte("k"), []byte("two")); err != nil {
		t.Fatalf("ks2 Put: %v", err)
	}
	for _, tc := range []struct {
		name string
		c    *tikv.Client
		want []byte
	}{{"ks1", ks1, []byte("one")}, {"ks2", ks2, []byte("two")}, {"default", def, nil}} {
		v, err := tc.c.Raw().Get(ctx, []byte("k"))
		if err != nil || !bytes.Equal(v, tc.want) {
			t.Fatalf("%s Get(k) = %q, %v; want %q", tc.name, v, err, tc.want)
		}
	}
	// Keys come back without the keyspace prefix, and a scan to the end
	// stops at the keyspace's end.
	kvs, err := ks1.Raw().Scan(ctx, nil, nil, 10)
	if err != nil || len(kvs) != 1 || string(kvs[0].Key) != "k" {
		t.Fatalf("ks1 Scan = %v, %v; want only k", kvs, err)
	}

	ctx2, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := tikv.New(ctx2, sim.PDAddrs(), tikv.WithAPIVersion(tikv.V2), tikv.WithKeyspace("missing"))
	if err == nil {
		_ = c.Close()
		t.Fatal("New with a missing keyspace succeeded")
	}
	if !errors.Is(err, tikv.ErrKeyspace) {
		t.Fatalf("New with a missing keyspace: %v, want ErrKeyspace", err)
	}
}

func TestCloseReleasesEverything(t *testing.T) {
	sim := startSim(t, tikvsim.Options{})
	// Goroutines of the simulated cluster are not the client's.
	ignore := goleak.IgnoreCurrent()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := tikv.New(ctx, sim.PDAddrs())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := c.Raw().Put(ctx, []byte("k"), []byte("v")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if _, err := c.CurrentTS(ctx); err != nil {
		t.Fatalf("CurrentTS: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	goleak.VerifyNone(t, ignore)

	if _, err := c.Raw().Get(ctx, []byte("k")); !errors.Is(err, tikv.ErrClosed) {
		t.Fatalf("Get after Close = %v, want ErrClosed", err)
	}
	if err := c.Raw().Put(ctx, []byte("k"), []byte("v")); !errors.Is(err, tikv.ErrClosed) {
		t.Fatalf("Put after Close = %v, want ErrClosed", err)
	}
	if _, err := c.CurrentTS(ctx); !errors.Is(err, tikv.ErrClosed) {
		t.Fatalf("CurrentTS after Close = %v, want ErrClosed", err)
	}
	if _, err := c.TSO(ctx); !errors.Is(err, tikv.ErrClosed) {
		t.Fatalf("TSO after Close = %v, want ErrClosed", err)
	}
	if _, err := c.PD().GetAllStores(ctx); !errors.Is(err, pdclient.ErrClosed) {
		t.Fatalf("owned PD client after Close: %v, want pdclient.ErrClosed", err)
	}
}

func TestSharedPDClientSurvivesClose(t *testing.T) {
	t.Parallel()
	sim := startSim(t, tikvsim.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	pd, err := pdclient.New(ctx, sim.PDAddrs())
	if err != nil {
		t.Fatalf("pdclient.New: %v", err)
	}
	defer pd.Close()
	// The addresses are ignored with WithPDClient.
	c, err := tikv.New(ctx, nil, tikv.WithPDClient(pd))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if c.PD() != pd {
		t.Fatal("PD() is not the shared client")
	}
	if err := c.Raw().Put(ctx, []byte("k"), []byte("v")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := pd.GetAllStores(ctx); err != nil {
		t.Fatalf("shared PD client after Close: %v", err)
	}
	if _, err := tikv.New(ctx, nil, tikv.WithPDClient(pd), tikv.WithPDTimeout(time.Second)); !errors.Is(err, tikv.ErrInvalidOption) {
		t.Fatalf("WithPDClient + WithPDTimeout: %v, want ErrInvalidOption", err)
	}
	// Raw options are checked once the raw client is built; a bad one is
	// still an option error of the facade, and the stack built so far is
	// released (goleak in TestMain).
	_, err = tikv.New(ctx, nil, tikv.WithPDClient(pd), tikv.WithRawOptions(rawkv.WithParallelism(0)))
	if !errors.Is(err, tikv.ErrInvalidOption) || !errors.Is(err, rawkv.ErrInvalidOption) {
		t.Fatalf("WithRawOptions(WithParallelism(0)): %v, want ErrInvalidOption of both packages", err)
	}
}

// recordingMetrics implements tikv.Metrics and its optional interfaces.
type recordingMetrics struct {
	mu        sync.Mutex
	cmds      map[kvrpc.CmdType]int
	tsoCalls  int
	rpcStats  func() kvrpc.Stats
	pdStats   func() pdclient.Stats
	tsoStats  func() tso.Stats
	untracked bool
}

var (
	_ tikv.Metrics      = (*recordingMetrics)(nil)
	_ tikv.StatsTracker = (*recordingMetrics)(nil)
	_ tikv.TSOObserver  = (*recordingMetrics)(nil)
)

func (m *recordingMetrics) InterceptRPC(ctx context.Context, target string, req *kvrpc.Request, next kvrpc.Invoker) (*kvrpc.Response, error) {
	m.mu.Lock()
	m.cmds[req.Type()]++
	m.mu.Unlock()
	return next(ctx, target, req)
}

func (m *recordingMetrics) TrackStats(rpc func() kvrpc.Stats, pd func() pdclient.Stats, t func() tso.Stats) func() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rpcStats, m.pdStats, m.tsoStats = rpc, pd, t
	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.untracked = true
	}
}

func (m *recordingMetrics) ObserveTSO(time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tsoCalls++
}

func TestMetricsHookReceivesEvents(t *testing.T) {
	t.Parallel()
	sim := startSim(t, tikvsim.Options{})
	m := &recordingMetrics{cmds: map[kvrpc.CmdType]int{}}
	c := newClient(t, sim, tikv.WithMetrics(m), tikv.WithLogger(slog.New(slog.DiscardHandler)))
	ctx := t.Context()
	if err := c.Raw().Put(ctx, []byte("k"), []byte("v")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if _, err := c.Raw().Get(ctx, []byte("k")); err != nil {
		t.Fatalf("Get: %v", err)
	}
	// Two calls: the TSO dispatcher counts a round after waking its
	// callers, but always before it serves the next round, so the first
	// round is counted once the second call returns.
	for range 2 {
		if _, err := c.CurrentTS(ctx); err != nil {
			t.Fatalf("CurrentTS: %v", err)
		}
	}
	m.mu.Lock()
	puts, gets, tsoCalls := m.cmds["RawPut"], m.cmds["RawGet"], m.tsoCalls
	rpcStats, pdStats, tsoStats := m.rpcStats, m.pdStats, m.tsoStats
	m.mu.Unlock()
	if puts != 1 || gets != 1 {
		t.Fatalf("intercepted RawPut %d, RawGet %d times; want 1 each", puts, gets)
	}
	if tsoCalls != 2 {
		t.Fatalf("ObserveTSO called %d times, want 2", tsoCalls)
	}
	if rpcStats == nil || pdStats == nil || tsoStats == nil {
		t.Fatal("TrackStats was not handed every stats function")
	}
	if s := rpcStats(); s.BatchedRequests+s.UnaryRequests < 2 {
		t.Fatalf("rpc stats %+v: want at least 2 requests", s)
	}
	if s := pdStats(); s.Discoveries == 0 {
		t.Fatalf("pd stats %+v: want a discovery", s)
	}
	if s := tsoStats(); s.Timestamps == 0 {
		t.Fatalf("tso stats %+v: want timestamps", s)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.untracked {
		t.Fatal("Close did not untrack the stats")
	}
}
