package e2e_test

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/tikvgo/tikvgo/tikv"
)

// TestRawAPIAcrossRegionBoundaries runs every raw call over 100 keys spread
// across four regions, so each batch and range call has to be split by
// region and the region cache has to follow the splits.
func TestRawAPIAcrossRegionBoundaries(t *testing.T) {
	cli := newClient(t)
	ks := newKeyspace(t, cli)
	raw := cli.Raw()
	keys, values := ks.numbered(100)

	// Warm the region cache before the splits, so the calls below hit stale
	// regions and must recover from EpochNotMatch.
	if err := raw.Put(callCtx(t), keys[0], values[0]); err != nil {
		t.Fatalf("Put before split: %v", err)
	}
	splitAt(t, cli, keys[25], keys[50], keys[75])

	if err := raw.BatchPut(callCtx(t), keys, values); err != nil {
		t.Fatalf("BatchPut: %v", err)
	}
	for _, i := range []int{0, 24, 25, 26, 49, 50, 74, 75, 99} {
		got, err := raw.Get(callCtx(t), keys[i])
		if err != nil || !bytes.Equal(got, values[i]) {
			t.Fatalf("Get(%q) = %q, %v; want %q", keys[i], got, err, values[i])
		}
	}
	missing := ks.key("absent")
	got, err := raw.BatchGet(callCtx(t), append(slices.Clone(keys), missing))
	if err != nil {
		t.Fatalf("BatchGet: %v", err)
	}
	for i := range keys {
		if !bytes.Equal(got[i], values[i]) {
			t.Fatalf("BatchGet[%d] (%q) = %q, want %q", i, keys[i], got[i], values[i])
		}
	}
	if got[len(keys)] != nil {
		t.Fatalf("BatchGet of a missing key = %q, want nil", got[len(keys)])
	}

	t.Run("Scan", func(t *testing.T) {
		all, err := raw.Scan(callCtx(t), ks.prefix, ks.end(), 1000)
		if err != nil {
			t.Fatalf("Scan: %v", err)
		}
		assertPairs(t, all, keys, values)
		// A limit that ends inside the third region, starting in the first.
		part, err := raw.Scan(callCtx(t), keys[20], ks.end(), 40)
		if err != nil {
			t.Fatalf("Scan limit 40: %v", err)
		}
		assertPairs(t, part, keys[20:60], values[20:60])
		keysOnly, err := raw.Scan(callCtx(t), keys[10], keys[90], 1000, tikv.WithKeyOnly())
		if err != nil {
			t.Fatalf("Scan key-only: %v", err)
		}
		if len(keysOnly) != 80 || !bytes.Equal(keysOnly[0].Key, keys[10]) || !bytes.Equal(keysOnly[79].Key, keys[89]) {
			t.Fatalf("key-only Scan returned %d pairs, want keys[10:90]", len(keysOnly))
		}
		for _, kv := range keysOnly {
			if kv.Value != nil {
				t.Fatalf("key-only Scan returned value %q for %q", kv.Value, kv.Key)
			}
		}
	})

	t.Run("ReverseScan", func(t *testing.T) {
		rev, err := raw.ReverseScan(callCtx(t), ks.prefix, ks.end(), 30)
		if err != nil {
			t.Fatalf("ReverseScan: %v", err)
		}
		wantK, wantV := reversed(keys[70:]), reversed(values[70:])
		assertPairs(t, rev, wantK, wantV)
		// From inside the fourth region down across two boundaries.
		rev, err = raw.ReverseScan(callCtx(t), keys[10], keys[80], 1000)
		if err != nil {
			t.Fatalf("ReverseScan bounded: %v", err)
		}
		assertPairs(t, rev, reversed(keys[10:80]), reversed(values[10:80]))
	})

	t.Run("Checksum", func(t *testing.T) {
		sum, err := raw.Checksum(callCtx(t), ks.prefix, ks.end())
		if err != nil {
			t.Fatalf("Checksum: %v", err)
		}
		if want := checksumOf(cli, keys, values); sum != want {
			t.Fatalf("Checksum = %+v, want %+v", sum, want)
		}
		sum, err = raw.Checksum(callCtx(t), keys[30], keys[60])
		if err != nil {
			t.Fatalf("Checksum part: %v", err)
		}
		if want := checksumOf(cli, keys[30:60], values[30:60]); sum != want {
			t.Fatalf("Checksum of keys[30:60] = %+v, want %+v", sum, want)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		if err := raw.Delete(callCtx(t), keys[50]); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if err := raw.Delete(callCtx(t), ks.key("never-written")); err != nil {
			t.Fatalf("Delete of a missing key: %v", err)
		}
		batch := [][]byte{keys[1], keys[24], keys[25], keys[74], keys[75], keys[99]}
		if err := raw.BatchDelete(callCtx(t), batch); err != nil {
			t.Fatalf("BatchDelete: %v", err)
		}
		// Spans the boundary at keys[50] and ends past the one at keys[75].
		if err := raw.DeleteRange(callCtx(t), keys[40], keys[80]); err != nil {
			t.Fatalf("DeleteRange: %v", err)
		}
		gone := map[int]bool{1: true, 24: true, 25: true, 99: true}
		for i := 40; i < 80; i++ {
			gone[i] = true
		}
		var wantK, wantV [][]byte
		for i := range keys {
			if !gone[i] {
				wantK, wantV = append(wantK, keys[i]), append(wantV, values[i])
			}
		}
		left, err := raw.Scan(callCtx(t), ks.prefix, ks.end(), 1000)
		if err != nil {
			t.Fatalf("Scan after deletes: %v", err)
		}
		assertPairs(t, left, wantK, wantV)
		got, err := raw.BatchGet(callCtx(t), [][]byte{keys[25], keys[50], keys[79], keys[80]})
		if err != nil {
			t.Fatalf("BatchGet after deletes: %v", err)
		}
		if got[0] != nil || got[1] != nil || got[2] != nil || !bytes.Equal(got[3], values[80]) {
			t.Fatalf("BatchGet after deletes = %q", got)
		}
	})
}

// TestScanLargerThanRegion writes more keys than one region holds after
// splitting the range into six regions, then reads them back in pages with
// Scan and ReverseScan and with the All iterator.
func TestScanLargerThanRegion(t *testing.T) {
	cli := newClient(t)
	ks := newKeyspace(t, cli)
	raw := cli.Raw()
	const n = 1200
	keys, values := ks.numbered(n)
	var splits [][]byte
	for i := 200; i < n; i += 200 {
		splits = append(splits, keys[i])
	}
	splitAt(t, cli, splits...)
	regions, err := cli.PD().ScanRegions(callCtx(t), regionKey(cli, ks.prefix), regionKey(cli, ks.end()), 0)
	if err != nil {
		t.Fatalf("ScanRegions: %v", err)
	}
	if len(regions) < 6 {
		t.Fatalf("the prefix spans %d regions, want at least 6", len(regions))
	}
	if err := raw.BatchPut(callCtx(t), keys, values); err != nil {
		t.Fatalf("BatchPut: %v", err)
	}

	t.Run("ScanPages", func(t *testing.T) {
		const page = 97 // not a divisor of the region size: pages straddle boundaries
		var got []tikv.KV
		start := ks.prefix
		for {
			kvs, err := raw.Scan(callCtx(t), start, ks.end(), page)
			if err != nil {
				t.Fatalf("Scan from %q: %v", start, err)
			}
			got = append(got, kvs...)
			if len(kvs) < page {
				break
			}
			start = append(bytes.Clone(kvs[len(kvs)-1].Key), 0)
		}
		assertPairs(t, got, keys, values)
	})

	t.Run("ReverseScanPages", func(t *testing.T) {
		const page = 113
		var got []tikv.KV
		end := ks.end()
		for {
			kvs, err := raw.ReverseScan(callCtx(t), ks.prefix, end, page)
			if err != nil {
				t.Fatalf("ReverseScan below %q: %v", end, err)
			}
			got = append(got, kvs...)
			if len(kvs) < page {
				break
			}
			end = kvs[len(kvs)-1].Key
		}
		assertPairs(t, got, reversed(keys), reversed(values))
	})

	t.Run("OneScanOverAllRegions", func(t *testing.T) {
		kvs, err := raw.Scan(callCtx(t), ks.prefix, ks.end(), tikv.MaxScanLimit)
		if err != nil {
			t.Fatalf("Scan: %v", err)
		}
		assertPairs(t, kvs, keys, values)
	})

	t.Run("AllIterator", func(t *testing.T) {
		var got []tikv.KV
		for kv, err := range raw.All(callCtx(t), ks.prefix, ks.end()) {
			if err != nil {
				t.Fatalf("All: %v", err)
			}
			got = append(got, kv)
		}
		assertPairs(t, got, keys, values)
	})

	t.Run("AllIteratorStopsEarly", func(t *testing.T) {
		var got int
		for _, err := range raw.All(callCtx(t), keys[150], ks.end(), tikv.WithKeyOnly()) {
			if err != nil {
				t.Fatalf("All: %v", err)
			}
			if got++; got == 300 { // past the boundary at keys[200] and into the next region
				break
			}
		}
		if got != 300 {
			t.Fatalf("All yielded %d pairs before break, want 300", got)
		}
	})
}

// assertPairs checks kvs against the expected keys and values, in order.
func assertPairs(t *testing.T, kvs []tikv.KV, keys, values [][]byte) {
	t.Helper()
	if len(kvs) != len(keys) {
		t.Fatalf("got %d pairs, want %d (first %s)", len(kvs), len(keys), firstKey(kvs))
	}
	for i, kv := range kvs {
		if !bytes.Equal(kv.Key, keys[i]) || !bytes.Equal(kv.Value, values[i]) {
			t.Fatalf("pair %d = %q=%q, want %q=%q", i, kv.Key, kv.Value, keys[i], values[i])
		}
	}
}

func firstKey(kvs []tikv.KV) string {
	if len(kvs) == 0 {
		return "none"
	}
	return fmt.Sprintf("%q", kvs[0].Key)
}

func reversed[T any](s []T) []T {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}
