package tikvsim

import (
	"bytes"
	"log/slog"
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/metapb"
)

func testRegion(start, end []byte) *region {
	return &region{meta: &metapb.Region{Id: 1, StartKey: start, EndKey: end, RegionEpoch: &metapb.RegionEpoch{Version: 1, ConfVer: 1}}}
}

// FuzzScanBounds checks that clamped scan bounds never leave the region and
// that the api-version check never panics, for arbitrary keys.
func FuzzScanBounds(f *testing.F) {
	f.Add([]byte("b"), []byte("m"), []byte("c"), []byte("d"), false)
	f.Add([]byte{}, []byte{}, []byte{}, []byte("z"), true)
	f.Add([]byte("x\x00\x00\x01"), []byte("x\x00\x00\x02"), []byte("x\x00\x00\x01a"), []byte{}, false)
	f.Fuzz(func(t *testing.T, rs, re, start, end []byte, reverse bool) {
		if len(re) > 0 && bytes.Compare(rs, re) >= 0 {
			return
		}
		r := testRegion(EncodeKey(rs), nil)
		if len(re) > 0 {
			r.meta.EndKey = EncodeKey(re)
		}
		s, e, abort := clampTxnScan(r, start, end, reverse)
		if abort == "" {
			lower, upper := s, e
			if reverse {
				lower, upper = e, s
			}
			if len(lower) > 0 && !emptyRange(lower, upper) && !r.contains(EncodeKey(lower)) {
				t.Fatalf("lower %x outside region [%x, %x)", lower, rs, re)
			}
			if len(re) > 0 && len(upper) > 0 && bytes.Compare(upper, re) > 0 {
				t.Fatalf("upper %x above region end %x", upper, re)
			}
		}
		lo, hi := clampRange(r, kindTxn, kvrpcpb.APIVersion_V1, start, end)
		if !emptyRange(lo, hi) && !r.contains(EncodeKey(lo)) {
			t.Fatalf("clamped lower %x below region start", lo)
		}
		if len(re) > 0 && (len(hi) == 0 || bytes.Compare(hi, re) > 0) {
			t.Fatalf("clamped upper %x not within region end %x", hi, re)
		}
		c := &Cluster{opts: Options{APIVersion: kvrpcpb.APIVersion_V2}}
		for _, v := range []kvrpcpb.APIVersion{kvrpcpb.APIVersion_V1, kvrpcpb.APIVersion_V2, kvrpcpb.APIVersion_V1TTL} {
			_ = c.apiCheck("Fuzz", kindRaw, v, [][]byte{start}, [][2][]byte{{start, end}})
			_ = c.apiCheck("Fuzz", kindTxn, v, [][]byte{end}, [][2][]byte{{start, end}})
		}
	})
}

// TestRegionTableSplits checks that splits keep the table
// sorted, indexed and gap-free.
func TestRegionTableSplits(t *testing.T) {
	c := &Cluster{regions: regionTable{byID: map[uint64]*region{}}, opts: Options{Replicas: 1}, log: slog.New(slog.DiscardHandler)}
	c.stores = []*store{{id: 1}}
	c.tso = newTSOAllocator(nil)
	c.bootstrapRegions(nil)
	check := func() {
		t.Helper()
		rs := c.regions.sorted
		if len(rs[0].meta.GetStartKey()) != 0 || len(rs[len(rs)-1].meta.GetEndKey()) != 0 {
			t.Fatal("key space not covered")
		}
		for i, r := range rs {
			if c.regions.byID[r.meta.GetId()] != r {
				t.Fatalf("index out of date for region %d", r.meta.GetId())
			}
			if i > 0 && !bytes.Equal(rs[i-1].meta.GetEndKey(), r.meta.GetStartKey()) {
				t.Fatalf("gap before region %d", r.meta.GetId())
			}
		}
		if len(c.regions.byID) != len(rs) {
			t.Fatalf("%d indexed, %d regions", len(c.regions.byID), len(rs))
		}
	}
	for _, k := range []string{"m", "c", "x", "d"} {
		if _, err := c.splitAt([][]byte{[]byte(k)}); err != nil {
			t.Fatal(err)
		}
		check()
	}
	if len(c.regions.sorted) != 5 {
		t.Fatalf("%d regions", len(c.regions.sorted))
	}
}

// FuzzFirstKeyEncodedFrom checks the region-bound mapping on any boundary
// bytes: the key it returns encodes at or after the boundary, and a probe
// key sorts at or after it exactly when the probe's encoding does.
func FuzzFirstKeyEncodedFrom(f *testing.F) {
	f.Add([]byte("raw_key_0001"), []byte("raw_key^\xff\xff"))
	f.Add(EncodeKey([]byte("abc")), []byte("abc"))
	f.Add(append(EncodeKey([]byte("abc")), 1, 2, 3), []byte("abc\x00"))
	f.Add([]byte("abcdefgh\xf8\x00"), []byte("abcdefg"))
	f.Add([]byte("a\x00\x00"), []byte("a"))
	f.Fuzz(func(t *testing.T, b, probe []byte) {
		k := firstKeyEncodedFrom(b)
		if bytes.Compare(EncodeKey(k), b) < 0 {
			t.Fatalf("bound %q of %q encodes below it", k, b)
		}
		at := bytes.Compare(EncodeKey(probe), b) >= 0
		if after := bytes.Compare(probe, k) >= 0; at != after {
			t.Fatalf("boundary %q, bound %q, probe %q: encoding at or after %v, probe at or after %v", b, k, probe, at, after)
		}
	})
}
