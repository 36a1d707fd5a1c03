package rawkv_test

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc64"
	"slices"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/metapb"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/rawkv"
	"github.com/tikvgo/tikvgo/tikvsim"
)

// versionCase is one API version with the cluster options it needs and the
// keyspace prefix the client adds.
type versionCase struct {
	name   string
	opts   tikvsim.Options
	copts  []rawkv.Option
	prefix []byte
}

// regionKey is the region key of a user key under the case's encoding.
func (vc versionCase) regionKey(k string) []byte {
	if vc.prefix == nil {
		return []byte(k)
	}
	return tikvsim.EncodeKey(append(slices.Clone(vc.prefix), k...))
}

// splitAt returns cluster options pre-split at the user keys.
func (vc versionCase) splitAt(keys ...string) tikvsim.Options {
	o := vc.opts
	for _, k := range keys {
		o.SplitKeys = append(o.SplitKeys, vc.regionKey(k))
	}
	return o
}

func versionCases() []versionCase {
	return []versionCase{
		{name: "V1"},
		{name: "V1TTL", opts: tikvsim.Options{APIVersion: kvrpcpb.APIVersion_V1TTL}, copts: []rawkv.Option{rawkv.WithAPIVersion(rawkv.V1TTL)}},
		{
			name:   "V2",
			opts:   tikvsim.Options{APIVersion: kvrpcpb.APIVersion_V2, Keyspaces: []string{"ks1", "ks2"}},
			copts:  []rawkv.Option{rawkv.WithAPIVersion(rawkv.V2), rawkv.WithKeyspace("ks1")},
			prefix: []byte{'r', 0, 0, 1},
		},
	}
}

// splitKeys cut the test key space into four regions.
var splitKeys = []string{"c", "k", "s"}

func keysN(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, "%c%03d", 'a'+i%26, i)
	}
	return out
}

func TestAPIAcrossRegions(t *testing.T) {
	t.Parallel()
	for _, vc := range versionCases() {
		t.Run(vc.name, func(t *testing.T) {
			t.Parallel()
			e := startEnv(t, vc.splitAt(splitKeys...), vc.copts...)
			if got := len(e.sim.Regions()); got < 4 {
				t.Fatalf("regions = %d, want >= 4", got)
			}
			ctx := ctxT(t)
			cli := e.cli

			// Point operations, including an empty value.
			if v, err := cli.Get(ctx, b("missing")); err != nil || v != nil {
				t.Fatalf("Get(missing) = %q, %v; want nil, nil", v, err)
			}
			if err := cli.Put(ctx, b("empty"), nil); err != nil {
				t.Fatal(err)
			}
			if v, err := cli.Get(ctx, b("empty")); err != nil || v == nil || len(v) != 0 {
				t.Fatalf("Get(empty) = %#v, %v; want empty non-nil", v, err)
			}
			if err := cli.Delete(ctx, b("empty")); err != nil {
				t.Fatal(err)
			}
			if v, err := cli.Get(ctx, b("empty")); err != nil || v != nil {
				t.Fatalf("Get after Delete = %q, %v", v, err)
			}

			// Batch put over every region, in unsorted order.
			keys := keysN(200)
			vals := make([][]byte, len(keys))
			for i, k := range keys {
				vals[i] = append(b("v-"), k...)
			}
			if err := cli.BatchPut(ctx, keys, vals); err != nil {
				t.Fatal(err)
			}
			// Batch get in the caller's order, with a missing key and a
			// duplicate.
			ask := append([][]byte{b("zzz-missing")}, keys...)
			ask = append(ask, keys[7])
			got, err := cli.BatchGet(ctx, ask)
			if err != nil {
				t.Fatal(err)
			}
			if got[0] != nil {
				t.Errorf("missing key: %q", got[0])
			}
			for i, k := range keys {
				if !bytes.Equal(got[i+1], vals[i]) {
					t.Fatalf("BatchGet[%q] = %q, want %q", k, got[i+1], vals[i])
				}
			}
			if !bytes.Equal(got[len(got)-1], vals[7]) {
				t.Errorf("duplicate key: %q", got[len(got)-1])
			}

			sorted := slices.Clone(keys)
			slices.SortFunc(sorted, bytes.Compare)

			// Forward scan with a limit crossing regions.
			kvs, err := cli.Scan(ctx, b("b"), b("t"), 50)
			if err != nil {
				t.Fatal(err)
			}
			want := inRange(sorted, "b", "t")
			if len(kvs) != 50 {
				t.Fatalf("Scan returned %d pairs, want 50", len(kvs))
			}
			for i, kv := range kvs {
				if !bytes.Equal(kv.Key, want[i]) || !bytes.Equal(kv.Value, append(b("v-"), want[i]...)) {
					t.Fatalf("Scan[%d] = %q=%q, want key %q", i, kv.Key, kv.Value, want[i])
				}
			}
			// Whole range, key only.
			kvs, err = cli.Scan(ctx, nil, nil, rawkv.MaxScanLimit, rawkv.WithKeyOnly())
			if err != nil {
				t.Fatal(err)
			}
			if len(kvs) != len(keys) {
				t.Fatalf("full scan: %d pairs, want %d", len(kvs), len(keys))
			}
			for i, kv := range kvs {
				if !bytes.Equal(kv.Key, sorted[i]) || kv.Value != nil {
					t.Fatalf("key-only scan[%d] = %q=%q", i, kv.Key, kv.Value)
				}
			}
			// Reverse scan: descending from just below end.
			kvs, err = cli.ReverseScan(ctx, b("d"), b("r"), 30)
			if err != nil {
				t.Fatal(err)
			}
			want = inRange(sorted, "d", "r")
			slices.Reverse(want)
			if len(kvs) != 30 {
				t.Fatalf("ReverseScan returned %d, want 30", len(kvs))
			}
			for i, kv := range kvs {
				if !bytes.Equal(kv.Key, want[i]) {
					t.Fatalf("ReverseScan[%d] = %q, want %q", i, kv.Key, want[i])
				}
			}
			// The iterator walks everything with small pages.
			small := e.newClient(t, append(vc.copts, rawkv.WithPageSize(7))...)
			var it [][]byte
			for kv, err := range small.All(ctx, nil, nil) {
				if err != nil {
					t.Fatal(err)
				}
				it = append(it, kv.Key)
			}
			if !slices.EqualFunc(it, sorted, bytes.Equal) {
				t.Fatalf("All returned %d keys, want %d in order", len(it), len(sorted))
			}

			// Checksum merged across regions equals the local one.
			sum, err := cli.Checksum(ctx, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			var wantSum rawkv.Checksum
			tab := crc64.MakeTable(crc64.ECMA)
			for i, k := range keys {
				wk := append(slices.Clone(vc.prefix), k...)
				wantSum.Crc64Xor ^= crc64.Checksum(append(wk, vals[i]...), tab)
				wantSum.TotalKVs++
				wantSum.TotalBytes += uint64(len(wk) + len(vals[i]))
			}
			if sum != wantSum {
				t.Fatalf("Checksum = %+v, want %+v", sum, wantSum)
			}

			// Delete range across regions, then batch delete the rest.
			if err := cli.DeleteRange(ctx, b("d"), b("p")); err != nil {
				t.Fatal(err)
			}
			kvs, err = cli.Scan(ctx, nil, nil, rawkv.MaxScanLimit)
			if err != nil {
				t.Fatal(err)
			}
			left := slices.DeleteFunc(slices.Clone(sorted), func(k []byte) bool {
				return string(k) >= "d" && string(k) < "p"
			})
			if len(kvs) != len(left) {
				t.Fatalf("after DeleteRange %d keys, want %d", len(kvs), len(left))
			}
			if err := cli.BatchDelete(ctx, keys); err != nil {
				t.Fatal(err)
			}
			if kvs, err := cli.Scan(ctx, nil, nil, 10); err != nil || len(kvs) != 0 {
				t.Fatalf("after BatchDelete: %d keys, %v", len(kvs), err)
			}
		})
	}
}

func inRange(sorted [][]byte, start, end string) [][]byte {
	var out [][]byte
	for _, k := range sorted {
		if string(k) >= start && string(k) < end {
			out = append(out, k)
		}
	}
	return out
}

func TestDeleteRangeToEnd(t *testing.T) {
	t.Parallel()
	for _, vc := range versionCases() {
		t.Run(vc.name, func(t *testing.T) {
			t.Parallel()
			e := startEnv(t, vc.splitAt(splitKeys...), vc.copts...)
			ctx := ctxT(t)
			keys := keysN(60)
			if err := e.cli.BatchPut(ctx, keys, keys); err != nil {
				t.Fatal(err)
			}
			if err := e.cli.DeleteRange(ctx, b("e"), nil); err != nil {
				t.Fatal(err)
			}
			kvs, err := e.cli.Scan(ctx, nil, nil, 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, kv := range kvs {
				if string(kv.Key) >= "e" {
					t.Fatalf("key %q survived DeleteRange(e, +inf)", kv.Key)
				}
			}
			if len(kvs) == 0 {
				t.Fatal("DeleteRange(e, +inf) deleted keys below e")
			}
		})
	}
}

func TestColumnFamilies(t *testing.T) {
	t.Parallel()
	e := startEnv(t, tikvsim.Options{})
	ctx := ctxT(t)
	if err := e.cli.Put(ctx, b("k"), b("in-write"), rawkv.WithColumnFamily("write")); err != nil {
		t.Fatal(err)
	}
	if v, err := e.cli.Get(ctx, b("k")); err != nil || v != nil {
		t.Fatalf("default cf sees %q, %v", v, err)
	}
	if v, err := e.cli.Get(ctx, b("k"), rawkv.WithColumnFamily("write")); err != nil || string(v) != "in-write" {
		t.Fatalf("write cf = %q, %v", v, err)
	}
	if kvs, err := e.cli.Scan(ctx, nil, nil, 10, rawkv.WithColumnFamily("lock")); err != nil || len(kvs) != 0 {
		t.Fatalf("lock cf scan = %q, %v", kvs, err)
	}
}

func TestTTL(t *testing.T) {
	t.Parallel()
	for _, vc := range versionCases()[1:] {
		t.Run(vc.name, func(t *testing.T) {
			t.Parallel()
			e := startEnv(t, vc.splitAt(splitKeys...), vc.copts...)
			ctx := ctxT(t)
			if err := e.cli.PutWithTTL(ctx, b("short"), b("v"), 10*time.Second); err != nil {
				t.Fatal(err)
			}
			if err := e.cli.Put(ctx, b("forever"), b("v")); err != nil {
				t.Fatal(err)
			}
			keys := [][]byte{b("a1"), b("m1"), b("z1")}
			ttls := []time.Duration{5 * time.Second, 100 * time.Second, 0}
			if err := e.cli.BatchPutWithTTL(ctx, keys, keys, ttls); err != nil {
				t.Fatal(err)
			}
			ttl, found, err := e.cli.GetKeyTTL(ctx, b("short"))
			if err != nil || !found || ttl <= 0 || ttl > 10*time.Second {
				t.Fatalf("GetKeyTTL(short) = %v, %v, %v", ttl, found, err)
			}
			if ttl, found, err := e.cli.GetKeyTTL(ctx, b("forever")); err != nil || !found || ttl != 0 {
				t.Fatalf("GetKeyTTL(forever) = %v, %v, %v", ttl, found, err)
			}
			if _, found, err := e.cli.GetKeyTTL(ctx, b("nope")); err != nil || found {
				t.Fatalf("GetKeyTTL(nope) found=%v, %v", found, err)
			}

			e.clock.advance(20 * time.Second)
			if v, err := e.cli.Get(ctx, b("short")); err != nil || v != nil {
				t.Fatalf("expired key still readable: %q, %v", v, err)
			}
			if _, found, err := e.cli.GetKeyTTL(ctx, b("short")); err != nil || found {
				t.Fatalf("GetKeyTTL(expired) found=%v, %v", found, err)
			}
			got, err := e.cli.BatchGet(ctx, keys)
			if err != nil {
				t.Fatal(err)
			}
			if got[0] != nil || got[1] == nil || got[2] == nil {
				t.Fatalf("after 20s: %q; want a1 expired, m1 and z1 alive", got)
			}
			kvs, err := e.cli.Scan(ctx, nil, nil, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(kvs) != 3 { // forever, m1, z1
				t.Fatalf("scan after expiry: %q", kvs)
			}
		})
	}
}

func TestCompareAndSwap(t *testing.T) {
	t.Parallel()
	for _, vc := range versionCases() {
		t.Run(vc.name, func(t *testing.T) {
			t.Parallel()
			e := startEnv(t, vc.opts, append(vc.copts, rawkv.WithAtomicForCAS())...)
			ctx := ctxT(t)
			k := b("cas")
			// Absent: expected nil swaps.
			r, err := e.cli.CompareAndSwap(ctx, k, nil, b("one"))
			if err != nil || !r.Swapped || r.Existed || r.Previous != nil {
				t.Fatalf("CAS(nil->one) = %+v, %v", r, err)
			}
			// Wrong expectation fails and reports the current value.
			r, err = e.cli.CompareAndSwap(ctx, k, b("zero"), b("two"))
			if err != nil || r.Swapped || !r.Existed || string(r.Previous) != "one" {
				t.Fatalf("CAS(zero->two) = %+v, %v", r, err)
			}
			r, err = e.cli.CompareAndSwap(ctx, k, nil, b("two"))
			if err != nil || r.Swapped || !r.Existed {
				t.Fatalf("CAS(nil->two) on existing = %+v, %v", r, err)
			}
			r, err = e.cli.CompareAndSwap(ctx, k, b("one"), b(""))
			if err != nil || !r.Swapped || string(r.Previous) != "one" {
				t.Fatalf("CAS(one->'') = %+v, %v", r, err)
			}
			// An empty expected value matches an existing empty value.
			r, err = e.cli.CompareAndSwap(ctx, k, []byte{}, b("three"))
			if err != nil || !r.Swapped || r.Previous == nil || len(r.Previous) != 0 {
				t.Fatalf("CAS(''->three) = %+v, %v", r, err)
			}
			if v, err := e.cli.Get(ctx, k); err != nil || string(v) != "three" {
				t.Fatalf("Get = %q, %v", v, err)
			}
			// Plain writes in atomic mode carry for_cas and still work.
			if err := e.cli.Delete(ctx, k); err != nil {
				t.Fatal(err)
			}
			r, err = e.cli.CompareAndSwap(ctx, k, nil, b("four"))
			if err != nil || !r.Swapped {
				t.Fatalf("CAS after delete = %+v, %v", r, err)
			}
		})
	}
}

// TestKeyspacePrefix checks the V2 encoding from outside the client: keys are
// stored under 'r' + keyspace id, invisible to another keyspace, and every
// range of the client stays inside its keyspace.
func TestKeyspacePrefix(t *testing.T) {
	t.Parallel()
	vc := versionCases()[2]
	e := startEnv(t, vc.splitAt(splitKeys...), vc.copts...)
	ctx := ctxT(t)
	other := e.newClient(t, rawkv.WithAPIVersion(rawkv.V2), rawkv.WithKeyspace("ks2"))
	def := e.newClient(t, rawkv.WithAPIVersion(rawkv.V2))
	if e.cli.KeyspaceID() != 1 || other.KeyspaceID() != 2 || def.KeyspaceID() != 0 {
		t.Fatalf("keyspace ids %d %d %d", e.cli.KeyspaceID(), other.KeyspaceID(), def.KeyspaceID())
	}
	for _, c := range []*rawkv.Client{e.cli, other, def} {
		if err := c.Put(ctx, b("k"), fmt.Appendf(nil, "ks%d", c.KeyspaceID())); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []*rawkv.Client{e.cli, other, def} {
		v, err := c.Get(ctx, b("k"))
		if err != nil || string(v) != fmt.Sprintf("ks%d", c.KeyspaceID()) {
			t.Fatalf("keyspace %d reads %q, %v", c.KeyspaceID(), v, err)
		}
		kvs, err := c.Scan(ctx, nil, nil, 10)
		if err != nil || len(kvs) != 1 || string(kvs[0].Key) != "k" {
			t.Fatalf("keyspace %d full scan = %q, %v", c.KeyspaceID(), kvs, err)
		}
	}
	// The stored key is exactly 'r' 0 0 1 "k".
	if v := directRawGet(t, e, []byte{'r', 0, 0, 1, 'k'}); string(v) != "ks1" {
		t.Fatalf("direct read of r\\0\\0\\1k = %q", v)
	}
	// A delete of the whole keyspace leaves the others alone.
	if err := e.cli.DeleteRange(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	if v, _ := other.Get(ctx, b("k")); string(v) != "ks2" {
		t.Fatalf("ks2 lost its key: %q", v)
	}
	if v, _ := def.Get(ctx, b("k")); string(v) != "ks0" {
		t.Fatalf("DEFAULT lost its key: %q", v)
	}
	if v, _ := e.cli.Get(ctx, b("k")); v != nil {
		t.Fatalf("ks1 key survived DeleteRange: %q", v)
	}
}

// directRawGet reads a wire key with a bare RPC to the region's leader.
func directRawGet(t *testing.T, e *env, wire []byte) []byte {
	t.Helper()
	reg, err := e.sim.RegionByKey(tikvsim.EncodeKey(wire))
	if err != nil {
		t.Fatal(err)
	}
	var peer *metapb.Peer
	for _, p := range reg.Peers {
		if p.StoreID == reg.Leader {
			peer = &metapb.Peer{Id: p.ID, StoreId: p.StoreID}
		}
	}
	rpc, err := kvrpc.New()
	if err != nil {
		t.Fatal(err)
	}
	defer rpc.Close()
	req := kvrpc.NewRawGet(&kvrpcpb.RawGetRequest{
		Key: wire,
		Context: &kvrpcpb.Context{
			RegionId: reg.ID, RegionEpoch: &metapb.RegionEpoch{ConfVer: reg.ConfVer, Version: reg.Version},
			Peer: peer, ApiVersion: kvrpcpb.APIVersion_V2, Keyspace: &kvrpcpb.Context_KeyspaceId{KeyspaceId: 1},
		},
	})
	resp, err := rpc.Send(ctxT(t), e.sim.StoreAddrs()[reg.Leader-1], req)
	if err != nil {
		t.Fatal(err)
	}
	m := resp.Message().(*kvrpcpb.RawGetResponse)
	if m.RegionError != nil || m.Error != "" {
		t.Fatalf("direct get: %v %s", m.RegionError, m.Error)
	}
	return m.Value
}

func TestClose(t *testing.T) {
	t.Parallel()
	e := startEnv(t, tikvsim.Options{})
	ctx := ctxT(t)
	if err := e.cli.Put(ctx, b("k"), b("v")); err != nil {
		t.Fatal(err)
	}
	if err := e.cli.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.cli.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	before := e.rpcs.Load()
	if _, err := e.cli.Get(ctx, b("k")); !errors.Is(err, rawkv.ErrClosed) {
		t.Fatalf("Get after Close: %v", err)
	}
	for kv, err := range e.cli.All(ctx, nil, nil) {
		if !errors.Is(err, rawkv.ErrClosed) {
			t.Fatalf("All after Close: %q, %v", kv.Key, err)
		}
	}
	if n := e.rpcs.Load() - before; n != 0 {
		t.Fatalf("%d requests after Close", n)
	}
}
