package cli_test

import (
	"context"
	"errors"
	"hash/crc64"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/errorpb"
	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/tikv"
	"github.com/tikvgo/tikvgo/tikvprom"
	"github.com/tikvgo/tikvgo/tikvsim"
	"github.com/tikvgo/tikvgo/tools/internal/cli"
)

// The tests in this file pass no WithRawOpener, so every raw command runs
// through OpenRaw: the tikv facade and rawkv against a tikvsim cluster.

type wireText struct {
	Text string `json:"text"`
	Hex  string `json:"hex"`
}

type wireGet struct {
	Key   wireText  `json:"key"`
	Found bool      `json:"found"`
	Value *wireText `json:"value"`
}

type wireWrite struct {
	Key        wireText `json:"key"`
	OK         bool     `json:"ok"`
	TTLSeconds int64    `json:"ttl_seconds"`
}

type wireScan struct {
	Pairs []struct {
		Key   wireText  `json:"key"`
		Value *wireText `json:"value"`
	} `json:"pairs"`
}

type wireCAS struct {
	Key            wireText  `json:"key"`
	Swapped        bool      `json:"swapped"`
	PreviousExists bool      `json:"previous_exists"`
	Previous       *wireText `json:"previous"`
}

type wireTTL struct {
	Key        wireText `json:"key"`
	Found      bool     `json:"found"`
	Expires    bool     `json:"expires"`
	TTLSeconds int64    `json:"ttl_seconds"`
}

type wireChecksum struct {
	CRC64Xor   uint64 `json:"crc64_xor"`
	TotalKVs   uint64 `json:"total_kvs"`
	TotalBytes uint64 `json:"total_bytes"`
}

// unavailableOpener is a RawOpener that always fails with
// ErrRawUnavailable, for the tests of how raw commands report an opener's
// failure.
func unavailableOpener() cli.Option {
	return cli.WithRawOpener(func(context.Context, cli.RawTarget) (cli.RawClient, error) {
		return nil, cli.ErrRawUnavailable
	})
}

func scanKeys(s wireScan) []string {
	var out []string
	for _, p := range s.Pairs {
		kv := p.Key.Text
		if p.Value != nil {
			kv += "=" + p.Value.Text
		}
		out = append(out, kv)
	}
	return out
}

// TestRealRawCommands runs every raw command, one-shot with --pd, through
// the real wiring on an API V1TTL cluster split in two regions.
func TestRealRawCommands(t *testing.T) {
	_, pd := startSim(t, tikvsim.Options{APIVersion: kvrpcpb.APIVersion_V1TTL, SplitKeys: [][]byte{[]byte("k2")}})
	base := []string{pd, "--api-version", cli.APIV1TTL, "-o", "json", "raw"}
	rawJSON := func(v any, args ...string) {
		t.Helper()
		decode(t, mustRun(t, nil, append(slices.Clone(base), args...)...), v)
	}

	var w wireWrite
	rawJSON(&w, "put", "k1", "v1")
	if !w.OK || w.Key.Text != "k1" {
		t.Fatalf("put k1 = %+v", w)
	}
	rawJSON(&w, "put", "k2", "v2", "--ttl", "1h")
	if !w.OK || w.TTLSeconds != 3600 {
		t.Fatalf("put k2 --ttl 1h = %+v", w)
	}

	var g wireGet
	rawJSON(&g, "get", "k1")
	if !g.Found || g.Value == nil || g.Value.Text != "v1" {
		t.Fatalf("get k1 = %+v, want v1", g)
	}
	g = wireGet{}
	rawJSON(&g, "get", "nope")
	if g.Found || g.Value != nil {
		t.Fatalf("get nope = %+v, want not found", g)
	}

	var ttl wireTTL
	rawJSON(&ttl, "ttl", "k2")
	if !ttl.Found || !ttl.Expires || ttl.TTLSeconds <= 0 || ttl.TTLSeconds > 3600 {
		t.Fatalf("ttl k2 = %+v, want (0, 3600] s", ttl)
	}
	ttl = wireTTL{}
	rawJSON(&ttl, "ttl", "k1")
	if !ttl.Found || ttl.Expires || ttl.TTLSeconds != 0 {
		t.Fatalf("ttl k1 = %+v, want found without expiry", ttl)
	}
	ttl = wireTTL{}
	rawJSON(&ttl, "ttl", "nope")
	if ttl.Found {
		t.Fatalf("ttl nope = %+v, want not found", ttl)
	}

	var cas wireCAS
	rawJSON(&cas, "cas", "k1", "v1", "v1b")
	if !cas.Swapped || !cas.PreviousExists || cas.Previous == nil || cas.Previous.Text != "v1" {
		t.Fatalf("cas k1 v1 v1b = %+v, want swapped from v1", cas)
	}
	cas = wireCAS{}
	rawJSON(&cas, "cas", "k1", "wrong", "x")
	if cas.Swapped || cas.Previous == nil || cas.Previous.Text != "v1b" {
		t.Fatalf("cas k1 wrong x = %+v, want not swapped, previous v1b", cas)
	}
	cas = wireCAS{}
	rawJSON(&cas, "cas", "--absent", "k3", "v3")
	if !cas.Swapped || cas.PreviousExists {
		t.Fatalf("cas --absent k3 v3 = %+v, want swapped", cas)
	}
	cas = wireCAS{}
	rawJSON(&cas, "cas", "--absent", "k3", "again")
	if cas.Swapped || !cas.PreviousExists || cas.Previous.Text != "v3" {
		t.Fatalf("second cas --absent k3 = %+v, want not swapped, previous v3", cas)
	}

	// The scans cross the region boundary at k2.
	var s wireScan
	rawJSON(&s, "scan")
	if got, want := scanKeys(s), []string{"k1=v1b", "k2=v2", "k3=v3"}; !slices.Equal(got, want) {
		t.Fatalf("scan = %v, want %v", got, want)
	}
	s = wireScan{}
	rawJSON(&s, "scan", "k1", "k3", "--reverse")
	if got, want := scanKeys(s), []string{"k2=v2", "k1=v1b"}; !slices.Equal(got, want) {
		t.Fatalf("scan k1 k3 --reverse = %v, want %v", got, want)
	}
	s = wireScan{}
	rawJSON(&s, "scan", "--key-only", "--limit", "2")
	if got, want := scanKeys(s), []string{"k1", "k2"}; !slices.Equal(got, want) {
		t.Fatalf("scan --key-only --limit 2 = %v, want %v", got, want)
	}
	r := run(t, "", nil, append(slices.Clone(base), "scan", "--reverse")...)
	if !errors.Is(r.err, cli.ErrUsage) {
		t.Fatalf("scan --reverse without END under v1ttl: %v, want ErrUsage", r.err)
	}

	var sum wireChecksum
	rawJSON(&sum, "checksum")
	if want := checksumOf("k1", "v1b", "k2", "v2", "k3", "v3"); sum != want {
		t.Fatalf("checksum = %+v, want %+v", sum, want)
	}
	rawJSON(&sum, "checksum", "k2", "k3")
	if want := checksumOf("k2", "v2"); sum != want {
		t.Fatalf("checksum k2 k3 = %+v, want %+v", sum, want)
	}

	w = wireWrite{}
	rawJSON(&w, "delete", "k2")
	if !w.OK {
		t.Fatalf("delete k2 = %+v", w)
	}
	g = wireGet{}
	rawJSON(&g, "get", "k2")
	if g.Found {
		t.Fatalf("get k2 after delete = %+v, want not found", g)
	}
	rawJSON(&w, "delete", "k2")
	if !w.OK {
		t.Fatalf("deleting a missing key = %+v, want OK", w)
	}
}

// checksumOf is TiKV's raw checksum of the given key, value pairs.
func checksumOf(kv ...string) wireChecksum {
	var sum wireChecksum
	tab := crc64.MakeTable(crc64.ECMA)
	for i := 0; i+1 < len(kv); i += 2 {
		sum.CRC64Xor ^= crc64.Checksum([]byte(kv[i]+kv[i+1]), tab)
		sum.TotalKVs++
		sum.TotalBytes += uint64(len(kv[i]) + len(kv[i+1]))
	}
	return sum
}

// TestRealRawShell is the README's first command on the embedded cluster:
// `printf 'raw put k1 v1\nraw get k1\n' | tikv shell` prints v1.
func TestRealRawShell(t *testing.T) {
	script := "raw put k1 v1\nraw get k1\nraw cas k1 v1 v2\nraw get k1\nraw scan\nraw checksum\nraw delete k1\nraw get k1\n"
	r := run(t, script, nil, "shell")
	if r.err != nil {
		t.Fatalf("shell: %v (stderr %q)", r.err, r.errOut)
	}
	// Text output is aligned in columns; compare words line by line.
	var got []string
	for l := range strings.Lines(r.out) {
		got = append(got, strings.Join(strings.Fields(l), " "))
	}
	want := []string{
		"OK", "v1", // raw put k1 v1; raw get k1
		"SWAPPED true", "PREVIOUS v1", // raw cas k1 v1 v2
		"v2",                             // raw get k1
		"KEY VALUE", "k1 v2", "(1 pair)", // raw scan
		"CRC64_XOR TOTAL_KVS TOTAL_BYTES", "", // raw checksum, second line checked below
		"OK", "(not found)", // raw delete k1; raw get k1
	}
	want[9] = strings.Join(strings.Fields(fmtChecksum(checksumOf("k1", "v2"))), " ")
	if !slices.Equal(got, want) {
		t.Fatalf("shell output:\n%s\nwant lines %q", r.out, want)
	}
}

func fmtChecksum(s wireChecksum) string {
	return strconv.FormatUint(s.CRC64Xor, 10) + " " + strconv.FormatUint(s.TotalKVs, 10) + " " + strconv.FormatUint(s.TotalBytes, 10)
}

// TestRealRawKeyspace checks that --api-version v2 --keyspace reach the
// raw client: a key written in one keyspace is absent from the default one.
func TestRealRawKeyspace(t *testing.T) {
	_, pd := startSim(t, tikvsim.Options{APIVersion: kvrpcpb.APIVersion_V2, Keyspaces: []string{"ks1"}})
	mustRun(t, nil, pd, "--api-version", cli.APIV2, "--keyspace", "ks1", "raw", "put", "k", "in-ks1")
	var g wireGet
	decode(t, mustRun(t, nil, pd, "--api-version", cli.APIV2, "--keyspace", "ks1", "-o", "json", "raw", "get", "k"), &g)
	if !g.Found || g.Value.Text != "in-ks1" {
		t.Fatalf("get in ks1 = %+v", g)
	}
	g = wireGet{}
	decode(t, mustRun(t, nil, pd, "--api-version", cli.APIV2, "-o", "json", "raw", "get", "k"), &g)
	if g.Found {
		t.Fatalf("get in the default keyspace = %+v, want not found", g)
	}
	// Under V2 a reverse scan may start at the keyspace's end.
	var s wireScan
	decode(t, mustRun(t, nil, pd, "--api-version", cli.APIV2, "--keyspace", "ks1", "-o", "json", "raw", "scan", "--reverse"), &s)
	if got := scanKeys(s); !slices.Equal(got, []string{"k=in-ks1"}) {
		t.Fatalf("reverse scan in ks1 = %v", got)
	}
}

// TestOpenRawLeavesSharedPDOpen closes the raw client OpenRaw built and
// checks the PD client of the target still works.
func TestOpenRawLeavesSharedPDOpen(t *testing.T) {
	sim, _ := startSim(t, tikvsim.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	pd, err := pdclient.New(ctx, sim.PDAddrs())
	if err != nil {
		t.Fatal(err)
	}
	defer pd.Close()
	rc, err := cli.OpenRaw(ctx, cli.RawTarget{PDAddrs: sim.PDAddrs(), PD: pd, APIVersion: cli.APIV1})
	if err != nil {
		t.Fatalf("OpenRaw: %v", err)
	}
	if err := rc.Put(ctx, []byte("k"), []byte(""), 0); err != nil {
		t.Fatalf("Put: %v", err)
	}
	// An existing empty value is found, not mistaken for a missing key.
	if v, found, err := rc.Get(ctx, []byte("k")); err != nil || !found || len(v) != 0 {
		t.Fatalf("Get(empty value) = %q, %v, %v; want found", v, found, err)
	}
	if err := rc.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := rc.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, _, err := rc.Get(ctx, []byte("k")); err == nil {
		t.Fatal("Get after Close succeeded")
	}
	if _, err := pd.GetAllStores(ctx); err != nil {
		t.Fatalf("shared PD client after the raw client closed: %v", err)
	}
	if _, err := cli.OpenRaw(ctx, cli.RawTarget{PD: pd, APIVersion: "v3"}); !errors.Is(err, cli.ErrUsage) {
		t.Fatalf("OpenRaw(api v3) = %v, want ErrUsage", err)
	}
}

// tikvprom may not import the facade, so its Metrics satisfies the facade's
// interfaces structurally; tools, which may import both, holds the proof.
var (
	_ tikv.Metrics      = (*tikvprom.Metrics)(nil)
	_ tikv.StatsTracker = (*tikvprom.Metrics)(nil)
	_ tikv.TSOObserver  = (*tikvprom.Metrics)(nil)
	// BackoffObserver carries the raw client's backoffs to
	// tikvgo_backoff_sleep_seconds.
	_ tikv.BackoffObserver = (*tikvprom.Metrics)(nil)
	// CacheStatsTracker feeds the tikvgo_region_cache_* counters.
	_ tikv.CacheStatsTracker = (*tikvprom.Metrics)(nil)
)

// TestFacadeWithPrometheus runs the facade with tikvprom on a fresh
// registry, as the CLI's raw client is built, and checks the RPCs, the TSO
// call and the Stats counters reach Prometheus.
func TestFacadeWithPrometheus(t *testing.T) {
	sim, _ := startSim(t, tikvsim.Options{})
	reg := prometheus.NewRegistry()
	m, err := tikvprom.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := tikv.New(ctx, sim.PDAddrs(), tikv.WithMetrics(m))
	if err != nil {
		t.Fatalf("tikv.New: %v", err)
	}
	defer c.Close()
	for i := range 3 {
		if err := c.Raw().Put(ctx, []byte{'k', byte('0' + i)}, []byte("v")); err != nil {
			t.Fatalf("Put: %v", err)
		}
	}
	if _, err := c.Raw().Get(ctx, []byte("k0")); err != nil {
		t.Fatalf("Get: %v", err)
	}
	// Two calls: the TSO dispatcher counts a round after waking its
	// callers, but before it serves the next one, so the first round is
	// counted once the second call returns.
	for range 2 {
		if _, err := c.CurrentTS(ctx); err != nil {
			t.Fatalf("CurrentTS: %v", err)
		}
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP tikvgo_pd_discoveries_total Successful PD member discoveries.
# TYPE tikvgo_pd_discoveries_total counter
tikvgo_pd_discoveries_total 1
`), "tikvgo_pd_discoveries_total"); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]uint64{}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range mt.GetLabel() {
				name += "," + l.GetName() + "=" + l.GetValue()
			}
			if h := mt.GetHistogram(); h != nil {
				counts[name] = h.GetSampleCount()
			}
			if ct := mt.GetCounter(); ct != nil {
				counts[name] = uint64(ct.GetValue())
			}
		}
	}
	for name, n := range map[string]uint64{
		"tikvgo_rpc_duration_seconds,command=RawPut,result=ok": 3,
		"tikvgo_rpc_duration_seconds,command=RawGet,result=ok": 1,
		"tikvgo_tso_duration_seconds,result=ok":                2,
	} {
		if counts[name] != n {
			t.Errorf("%s = %d, want %d (all: %v)", name, counts[name], n, counts)
		}
	}
	if got := counts["tikvgo_tso_timestamps_total"]; got < 1 {
		t.Errorf("tso timestamps = %d, want at least the first round's 1", got)
	}
	if got := counts["tikvgo_rpc_batched_requests_total"] + counts["tikvgo_rpc_unary_requests_total"]; got != 4 {
		t.Errorf("batched+unary requests = %d, want 4", got)
	}
	// Four raw calls on one key: one region load, the rest cache hits.
	if counts["tikvgo_region_cache_loads_total"] < 1 || counts["tikvgo_region_cache_hits_total"] < 1 {
		t.Errorf("region cache counters missing or zero: %v", counts)
	}
}

// TestFacadeBackoffWithPrometheus injects a region error into a raw read
// through the facade with tikvprom and checks the backoff it causes shows up
// in tikvgo_backoff_sleep_seconds: NotLeader without a hint is backed off
// on with the regionScheduling kind, once for the one injected error.
func TestFacadeBackoffWithPrometheus(t *testing.T) {
	sim, _ := startSim(t, tikvsim.Options{Stores: 1})
	reg := prometheus.NewRegistry()
	m, err := tikvprom.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := tikv.New(ctx, sim.PDAddrs(), tikv.WithMetrics(m))
	if err != nil {
		t.Fatalf("tikv.New: %v", err)
	}
	defer c.Close()
	if err := c.Raw().Put(ctx, []byte("k"), []byte("v")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	const family = "tikvgo_backoff_sleep_seconds"
	if n, err := testutil.GatherAndCount(reg, family); err != nil || n != 0 {
		t.Fatalf("%s has %d series (%v) before any fault, want 0", family, n, err)
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
	if n, err := testutil.GatherAndCount(reg, family); err != nil || n == 0 {
		t.Fatalf("%s has %d series (%v) after a backoff, want some", family, n, err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var count uint64
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != family {
			continue
		}
		for _, mt := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range mt.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["kind"] == "regionScheduling" && labels["outcome"] == "slept" {
				count += mt.GetHistogram().GetSampleCount()
				sum += mt.GetHistogram().GetSampleSum()
			}
		}
	}
	if count != 1 || sum <= 0 {
		t.Fatalf("%s{kind=regionScheduling,outcome=slept}: count %d, sum %gs; want 1 sleep of more than 0s", family, count, sum)
	}
}
