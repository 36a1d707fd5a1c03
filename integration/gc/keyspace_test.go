package gc_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/gc"
	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate/keycodec"
	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/tikvsim"
	"github.com/tikvgo/tikvgo/tso"
)

// gcfKeyspaceEnvs starts an API V2 cluster with keyspace own (id 1, its
// own keyspace-level GC) and keyspace shared (id 2, unified GC), and a
// client stack scoped to each.
func gcfKeyspaceEnvs(t *testing.T) (own, shared *env) {
	t.Helper()
	sim, err := tikvsim.Start(t.Context(), tikvsim.Options{
		Stores:          3,
		APIVersion:      kvrpcpb.APIVersion_V2,
		Keyspaces:       []string{"own", "shared"},
		KeyspaceLevelGC: []string{"own"},
	})
	if err != nil {
		t.Fatalf("tikvsim.Start: %v", err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	scoped := func(id uint32) *env {
		codec, err := keycodec.NewV2(keycodec.Txn, id)
		if err != nil {
			t.Fatal(err)
		}
		return attachCodec(t, sim, codec, gc.WithScanLockLimit(2))
	}
	return scoped(1), scoped(2)
}

// TestRunInKeyspaceWithItsOwnGC: a round in a keyspace with keyspace-level
// GC advances that keyspace's safe points only and resolves that
// keyspace's locks only; the other keyspace's locks and PD's unified state
// are untouched.
func TestRunInKeyspaceWithItsOwnGC(t *testing.T) {
	own, shared := gcfKeyspaceEnvs(t)
	// Two versions of v in each keyspace: the round's GC safe point
	// collects the older one in this keyspace only.
	for _, e := range []*env{own, shared} {
		e.put("v", "1")
	}
	between := own.now()
	for _, e := range []*env{own, shared} {
		e.put("v", "2")
	}
	old := tso.Compose(own.now().Physical()-60_000, 0)
	keys := []string{"a", "k", "z"}
	for i, k := range keys {
		own.lock(k, old+tso.Timestamp(i))
		shared.lock(k, old+tso.Timestamp(i))
	}
	target := own.now()
	res, err := own.gc.Run(t.Context(), target)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.TxnSafePoint != target || res.GCSafePoint != target || res.Locks != len(keys) {
		t.Errorf("Run = %+v, want both safe points at %d and %d locks", res, target, len(keys))
	}
	if got := own.locks(target); len(got) != 0 {
		t.Errorf("locks left in the keyspace: %q", got)
	}
	if got := shared.locks(target); !slices.Equal(got, keys) {
		t.Errorf("the other keyspace's locks = %q, want %q untouched", got, keys)
	}

	st, err := own.gc.State(t.Context())
	if err != nil || st.KeyspaceID != 1 || !st.KeyspaceLevelGC || st.TxnSafePoint != uint64(target) {
		t.Errorf("keyspace state = %+v, %v; want keyspace 1's own state at %d", st, err, target)
	}
	null, err := own.pd.GetGCState(t.Context(), pdclient.NullKeyspaceID, false)
	if err != nil || null.TxnSafePoint != 0 || null.GCSafePoint != 0 {
		t.Errorf("unified state = %+v, %v; want it untouched", null, err)
	}

	if _, ok := gcfGet(own, "v", between); ok {
		t.Errorf("the keyspace's old version of v survived its GC safe point")
	}
	if v, ok := gcfGet(shared, "v", between); !ok || v != "1" {
		t.Errorf("the other keyspace's old version of v = %q, %v; want it kept", v, ok)
	}

	// Reads check the scope's own safe point.
	if err := own.gc.CheckReadTS(t.Context(), old); !errors.Is(err, gc.ErrTooEarly) {
		t.Errorf("CheckReadTS below the keyspace's safe point: %v, want ErrTooEarly", err)
	}
	if err := shared.gc.CheckReadTS(t.Context(), old); err != nil {
		t.Errorf("CheckReadTS in the unified keyspace: %v", err)
	}
}

// TestRunInKeyspaceUnderUnifiedGC: a keyspace-scoped client must not move
// the cluster's safe points after looking at one keyspace's locks; its
// state and barriers are the unified ones.
func TestRunInKeyspaceUnderUnifiedGC(t *testing.T) {
	_, shared := gcfKeyspaceEnvs(t)
	shared.lock("a", tso.Compose(shared.now().Physical()-60_000, 0))
	if _, err := shared.gc.Run(t.Context(), shared.now()); !errors.Is(err, gc.ErrUnifiedGC) {
		t.Fatalf("Run: %v, want ErrUnifiedGC", err)
	}
	if got := shared.locks(shared.now()); len(got) != 1 {
		t.Errorf("locks after the refused round = %q, want the one lock", got)
	}
	ts := shared.now()
	if _, err := shared.gc.SetBarrier(t.Context(), "gcf-reader", ts, time.Hour); err != nil {
		t.Fatalf("SetBarrier: %v", err)
	}
	st, err := shared.gc.State(t.Context())
	if err != nil || st.KeyspaceID != pdclient.NullKeyspaceID || len(st.Barriers) != 1 || st.Barriers[0].TS != uint64(ts) {
		t.Errorf("state = %+v, %v; want the unified state with the barrier", st, err)
	}
}

// TestDeleteRangeStaysInKeyspace: DeleteRange over the whole keyspace
// leaves every other keyspace's keys alone.
func TestDeleteRangeStaysInKeyspace(t *testing.T) {
	own, shared := gcfKeyspaceEnvs(t)
	keys := []string{"a", "k", "z"}
	for _, k := range keys {
		own.put(k, "v")
		shared.put(k, "v")
	}
	if _, err := own.gc.DeleteRange(t.Context(), nil, nil); err != nil {
		t.Fatalf("DeleteRange: %v", err)
	}
	if got := own.keys("", ""); len(got) != 0 {
		t.Errorf("keys left in the keyspace: %q", got)
	}
	if got := shared.keys("", ""); !slices.Equal(got, keys) {
		t.Errorf("the other keyspace's keys = %q, want %q", got, keys)
	}
}

// gcfGet reads key at ts, as TiKV serves it whatever the client's safe point.
func gcfGet(e *env, key string, ts tso.Timestamp) (string, bool) {
	e.t.Helper()
	w := e.codec.EncodeKey([]byte(key))
	resp := e.send(w, kvrpc.NewGet(&kvrpcpb.GetRequest{Context: e.codec.Context(), Key: w, Version: uint64(ts)}))
	r := resp.Message().(*kvrpcpb.GetResponse)
	if r.GetError() != nil {
		e.t.Fatalf("get %q: %v", key, r.GetError())
	}
	return string(r.GetValue()), !r.GetNotFound()
}
