package tikv_test

import (
	"errors"
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/tikv"
	"github.com/tikvgo/tikvgo/tikvsim"
)

// TestGCInKeyspace: through the facade, GC works in an API V2 keyspace
// that runs keyspace-level GC, and the GC client and the transactional
// client share one txn safe point cache: a snapshot at an old ts that was
// readable before a round fails right after it, without waiting for the
// cache's TTL. A keyspace under unified GC refuses a round.
func TestGCInKeyspace(t *testing.T) {
	t.Parallel()
	sim := startSim(t, tikvsim.Options{APIVersion: kvrpcpb.APIVersion_V2, Keyspaces: []string{"own", "shared"}, KeyspaceLevelGC: []string{"own"}})
	cli := newClient(t, sim, tikv.WithAPIVersion(tikv.V2), tikv.WithKeyspace("own"))
	ctx := t.Context()
	txn, err := cli.Txn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := txn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Set([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	old, err := cli.CurrentTS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := txn.Snapshot(ctx, old); err != nil {
		t.Fatalf("snapshot before the round: %v", err)
	}

	g, err := cli.GC(ctx)
	if err != nil {
		t.Fatalf("GC: %v", err)
	}
	target, err := cli.CurrentTS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err := g.Run(ctx, target)
	if err != nil || res.GCSafePoint != target {
		t.Fatalf("Run = %+v, %v; want the GC safe point at %d", res, err, target)
	}
	st, err := g.State(ctx)
	if err != nil || !st.KeyspaceLevelGC || st.KeyspaceID != txn.KeyspaceID() {
		t.Errorf("State = %+v, %v; want the keyspace's own state", st, err)
	}
	if _, err := txn.Snapshot(ctx, old); !errors.Is(err, tikv.ErrGCTooEarly) {
		t.Errorf("snapshot below the new txn safe point: %v, want ErrGCTooEarly", err)
	}
	snap, err := txn.Snapshot(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := snap.Get(ctx, []byte("k")); err != nil || string(v) != "v" {
		t.Errorf("Get(k) at the safe point = %q, %v", v, err)
	}

	shared := newClient(t, sim, tikv.WithAPIVersion(tikv.V2), tikv.WithKeyspace("shared"))
	sg, err := shared.GC(ctx)
	if err != nil {
		t.Fatalf("GC: %v", err)
	}
	if _, err := sg.Run(ctx, target); !errors.Is(err, tikv.ErrUnifiedGC) {
		t.Errorf("Run in a keyspace under unified GC: %v, want ErrUnifiedGC", err)
	}
}
