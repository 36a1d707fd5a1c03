package gc_test

import (
	"slices"
	"testing"

	"github.com/tikvgo/tikvgo/gc"
	"github.com/tikvgo/tikvgo/tikvsim"
	"github.com/tikvgo/tikvgo/tso"
)

// gcfRawSplitEnv starts a V1 cluster shared with raw KV: besides
// transactional boundaries it is split at raw keys, which are not
// memcomparable encodings (raw_key_0001 has a group marker of '0'), and at
// a raw key that is a truncated encoding.
func gcfRawSplitEnv(t *testing.T, opts ...gc.Option) *env {
	t.Helper()
	sk := [][]byte{
		tikvsim.EncodeKey([]byte("c")),
		[]byte("raw_key_0001"),
		[]byte("raw_key_0002"), // no transactional key lies between these two
		[]byte("raw_key_0003z"),
		[]byte("s\x00\x00"),
		tikvsim.EncodeKey([]byte("u")),
	}
	sim, err := tikvsim.Start(t.Context(), tikvsim.Options{Stores: 3, SplitKeys: sk})
	if err != nil {
		t.Fatalf("tikvsim.Start: %v", err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return attach(t, sim, opts...)
}

// gcfRawSplitKeys are transactional keys on both sides of every raw
// boundary, among them keys that sort just below where a raw boundary
// falls among transactional keys (raw_key^ followed by 0xFF bytes).
var gcfRawSplitKeys = []string{
	"a", "raw", "raw_key", "raw_key^\xff\xff\xff\xff\xff\xff", "raw_key_", "raw_key_0001",
	"raw_key_0002", "raw_key_0003z", "raw_key_1", "s", "s\x00", "s\x00\x00", "t", "v",
}

func TestRunOnClusterSplitAtRawKeys(t *testing.T) {
	e := gcfRawSplitEnv(t, gc.WithScanLockLimit(2))
	old := tso.Compose(e.now().Physical()-60_000, 0)
	for i, k := range gcfRawSplitKeys {
		e.lock(k, old+tso.Timestamp(i))
	}
	target := e.now()
	res, err := e.gc.Run(t.Context(), target)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.GCSafePoint != target {
		t.Errorf("GC safe point %d, want %d", res.GCSafePoint, target)
	}
	// Each lock is found once: the spans of the regions do not overlap.
	if res.Locks != len(gcfRawSplitKeys) {
		t.Errorf("Run found %d locks, want %d", res.Locks, len(gcfRawSplitKeys))
	}
	if got := e.locks(target); len(got) != 0 {
		t.Errorf("locks left below the safe point: %q", got)
	}
}

func TestDeleteRangeOnClusterSplitAtRawKeys(t *testing.T) {
	e := gcfRawSplitEnv(t, gc.WithConcurrency(2))
	for _, k := range gcfRawSplitKeys {
		e.put(k, "v")
	}
	e.lock("raw_key_09", e.now())
	prog, err := e.gc.DeleteRange(t.Context(), []byte("raw"), []byte("t"))
	if err != nil {
		t.Fatalf("DeleteRange: %v", err)
	}
	if prog.Done != prog.Total {
		t.Errorf("progress %+v: not every piece done", prog)
	}
	if got, want := e.keys("", ""), []string{"a", "t", "v"}; !slices.Equal(got, want) {
		t.Errorf("keys after DeleteRange = %q, want %q", got, want)
	}
	if got := e.locks(e.now()); len(got) != 0 {
		t.Errorf("locks after DeleteRange: %q", got)
	}
}
