package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/e2e/cluster"
	"github.com/tikvgo/tikvgo/tikv"
)

// gcCluster returns a facade client for the GC tests and its GC client,
// on the shared suite cluster whenever a round can run there:
//
//   - API V1: the raw tests split the shared cluster at raw keys (no
//     memcomparable encodings, and a round walks every region); gcCluster
//     adds such a boundary itself, so the round meets one whatever ran
//     before.
//   - API V2: the round is scoped to the suite's keyspace, which needs
//     keyspace-level GC (the sim backend creates the DEFAULT keyspace so).
//
// Otherwise (a keyspace under unified GC, V1TTL) the tests start a V1 sim
// cluster of their own on the sim backend and skip, saying why, on others.
func gcCluster(t *testing.T) (*tikv.Client, *tikv.GCClient) {
	t.Helper()
	switch suiteCluster.APIVersion() {
	case cluster.APIV1:
		cli := newClient(t)
		gcfSplitAtRawKey(t, cli)
		return cli, gcClientOf(t, cli)
	case cluster.APIV2:
		cli := newClient(t)
		g := gcClientOf(t, cli)
		st, err := g.State(callCtx(t))
		if err != nil {
			t.Fatalf("GC state: %v", err)
		}
		if st.KeyspaceLevelGC {
			return cli, g
		}
	}
	if suiteCluster.Kind() != cluster.KindSim {
		t.Skipf("no GC round on the shared %s cluster (%s): it needs API V1 or a keyspace with keyspace-level GC", suiteCluster.Kind(), suiteCluster.APIVersion())
	}
	ctx, cancel := context.WithTimeout(t.Context(), startTimeout)
	defer cancel()
	c, err := cluster.Start(ctx, cluster.WithBackend(cluster.KindSim), cluster.WithAPIVersion(cluster.APIV1))
	if err != nil {
		t.Fatalf("start a V1 sim cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close the V1 cluster: %v", err)
		}
	})
	cli, err := tikv.New(ctx, c.PDAddrs())
	if err != nil {
		t.Fatalf("tikv.New: %v", err)
	}
	t.Cleanup(func() {
		if err := cli.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return cli, gcClientOf(t, cli)
}

func gcClientOf(t *testing.T, cli *tikv.Client) *tikv.GCClient {
	t.Helper()
	g, err := cli.GC(callCtx(t))
	if err != nil {
		t.Fatalf("GC: %v", err)
	}
	return g
}

// gcfSplitAtRawKey splits a V1 cluster at a raw key, whose ninth byte is no
// group marker, as raw KV's splits are.
func gcfSplitAtRawKey(t *testing.T, cli *tikv.Client) {
	t.Helper()
	ctx := callCtx(t)
	ts, err := cli.CurrentTS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw := fmt.Appendf(nil, "e2e-gc-raw-split/%d", ts)
	if _, err := cli.PD().SplitRegions(ctx, [][]byte{raw}); err != nil {
		t.Fatalf("SplitRegions at a raw key: %v", err)
	}
	eventually(t, ctx, "a region starts at the raw key", func(ctx context.Context) error {
		r, err := cli.PD().GetRegion(ctx, raw)
		if err != nil {
			return err
		}
		if !bytes.Equal(r.Meta.GetStartKey(), raw) {
			return fmt.Errorf("%q is not a region start yet", raw)
		}
		return nil
	})
}

// TestGCRoundAndBarrier runs GC rounds on the cluster: a barrier a long
// reader set holds the safe points back at its ts, and once it is deleted
// the next round reaches the target; reads below the new txn safe point
// then fail with ErrGCTooEarly.
func TestGCRoundAndBarrier(t *testing.T) {
	cli, g := gcCluster(t)
	ctx := callCtx(t)
	reader, err := cli.CurrentTS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("e2e-reader-%d", reader)
	if _, err := g.SetBarrier(ctx, id, reader, time.Hour); err != nil {
		t.Fatalf("SetBarrier: %v", err)
	}
	t.Cleanup(func() { _, _ = g.DeleteBarrier(context.WithoutCancel(ctx), id) })
	target, err := cli.CurrentTS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err := g.Run(ctx, target)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.TxnSafePoint != reader || res.GCSafePoint != reader || res.Blocker == "" || res.Regions == 0 {
		t.Fatalf("Run with a barrier = %+v, want both safe points at %d, a blocker and regions scanned", res, reader)
	}
	if err := g.CheckReadTS(ctx, reader); err != nil {
		t.Fatalf("CheckReadTS(reader) under its barrier: %v", err)
	}
	if _, err := g.DeleteBarrier(ctx, id); err != nil {
		t.Fatalf("DeleteBarrier: %v", err)
	}
	res, err = g.Run(ctx, target)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.GCSafePoint < target {
		t.Fatalf("Run after the barrier went = %+v, want the GC safe point at %d or later", res, target)
	}
	var tooEarly *tikv.GCTooEarlyError
	if err := g.CheckReadTS(ctx, reader); !errors.Is(err, tikv.ErrGCTooEarly) || !errors.As(err, &tooEarly) || tooEarly.StartTS != reader {
		t.Fatalf("CheckReadTS(reader) after GC = %v, want a GCTooEarlyError", err)
	}
	st, err := g.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.GCSafePoint < uint64(target) || st.TxnSafePoint < st.GCSafePoint {
		t.Fatalf("state %+v after GC to %d", st, target)
	}
}

// TestDeleteRangeAcrossRegions deletes a transactional range split over
// several regions: every region of it is visited, the committed keys in
// it are gone at a fresh snapshot, and the key at its end stays.
func TestDeleteRangeAcrossRegions(t *testing.T) {
	cli, g := gcCluster(t)
	ctx := callCtx(t)
	ts, err := cli.CurrentTS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	txc, err := cli.Txn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	prefix := fmt.Appendf(nil, "e2e-delrange-%d/", ts)
	var splits [][]byte
	for _, s := range []string{"b", "d", "f"} {
		k := append(bytes.Clone(prefix), s...)
		if cli.APIVersion() == tikv.V2 {
			id := txc.KeyspaceID()
			k = append([]byte{'x', byte(id >> 16), byte(id >> 8), byte(id)}, k...)
		}
		splits = append(splits, encodeBytes(k))
	}
	if _, err := cli.PD().SplitRegions(ctx, splits); err != nil {
		t.Fatalf("SplitRegions: %v", err)
	}
	eventually(t, ctx, "regions split at the requested keys", func(ctx context.Context) error {
		for _, rk := range splits {
			r, err := cli.PD().GetRegion(ctx, rk)
			if err != nil {
				return err
			}
			if !bytes.Equal(r.Meta.GetStartKey(), rk) {
				return fmt.Errorf("%q is not a region start yet", rk)
			}
		}
		return nil
	})
	key := func(s string) []byte { return append(bytes.Clone(prefix), s...) }
	// The key outside the range is written by a transaction of its own:
	// DeleteRange bypasses MVCC, so deleting a primary whose secondaries
	// are still being committed in the background would roll back a
	// secondary outside the range when a reader resolves its lock.
	for _, keys := range [][]string{{"a", "c", "e", "g"}, {"z"}} {
		txn, err := txc.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if err := txn.Set(key(k), []byte("v")); err != nil {
				t.Fatal(err)
			}
		}
		if err := txn.Commit(ctx); err != nil {
			t.Fatalf("Commit: %v", err)
		}
	}
	var reports int
	prog, err := g.DeleteRange(ctx, append(bytes.Clone(prefix), 'a'), append(bytes.Clone(prefix), 'z'),
		tikv.WithGCProgress(func(tikv.GCProgress) { reports++ }))
	if err != nil {
		t.Fatalf("DeleteRange: %v", err)
	}
	if prog.Done != prog.Total || prog.Regions < 4 || reports != prog.Total+1 {
		t.Fatalf("DeleteRange progress %+v after %d reports, want at least 4 regions, all done", prog, reports)
	}
	snap, err := txc.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "c", "e", "g"} {
		if _, err := snap.Get(ctx, key(k)); !errors.Is(err, tikv.ErrNotFound) {
			t.Errorf("Get(%q) after DeleteRange: %v, want ErrNotFound", k, err)
		}
	}
	if v, err := snap.Get(ctx, key("z")); err != nil || string(v) != "v" {
		t.Errorf("Get(%q) outside the range = %q, %v", "z", v, err)
	}
}
