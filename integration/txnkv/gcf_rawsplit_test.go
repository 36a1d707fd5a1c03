package txnkv_test

import (
	"slices"
	"testing"

	"github.com/tikvgo/tikvgo/txnkv"
)

// TestScanOnClusterSplitAtRawKeys: a V1 cluster shared with raw KV is split
// at raw keys, which no transactional key encodes to. Forward and reverse
// scans over such boundaries return every key once, in order: each region
// is asked with bounds TiKV accepts, and the reverse walk finds the region
// below a raw boundary.
func TestScanOnClusterSplitAtRawKeys(t *testing.T) {
	t.Parallel()
	e := pipeStart(t, nil)
	for _, raw := range []string{"raw_key_0001", "raw_key_0002", "s\x00\x00"} {
		if _, err := e.sim.SplitRegionAt([]byte(raw)); err != nil {
			t.Fatalf("split at %q: %v", raw, err)
		}
	}
	ctx := t.Context()
	keys := []string{"a", "raw", "raw_key", "raw_key^\xff\xff\xff", "raw_key_", "raw_key_0001", "raw_key_1", "r\xff", "s", "t"}
	txn, err := e.cli.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if err := txn.Set([]byte(k), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	if err := txn.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	want := slices.Clone(keys)
	slices.Sort(want)
	snap, err := e.cli.Snapshot(ctx, 0, txnkv.WithScanBatchSize(2))
	if err != nil {
		t.Fatal(err)
	}
	collect := func(reverse bool) []string {
		var out []string
		it := snap.Iter(ctx, nil, []byte("z"))
		if reverse {
			it = snap.IterReverse(ctx, nil, []byte("z"))
		}
		for kv, err := range it {
			if err != nil {
				t.Fatalf("scan (reverse %v): %v", reverse, err)
			}
			out = append(out, string(kv.Key))
		}
		return out
	}
	if got := collect(false); !slices.Equal(got, want) {
		t.Errorf("forward scan = %q, want %q", got, want)
	}
	slices.Reverse(want)
	if got := collect(true); !slices.Equal(got, want) {
		t.Errorf("reverse scan = %q, want %q", got, want)
	}
}
