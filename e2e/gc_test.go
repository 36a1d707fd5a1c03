package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/tikv"
)

// gcClient returns the facade's GC client; GC through the facade is API V1
// only today (tikv.Client.GC says why), so other API versions skip, saying
// so.
func gcClient(t *testing.T, cli *tikv.Client) *tikv.GCClient {
	t.Helper()
	if cli.APIVersion() != tikv.V1 {
		t.Skipf("GC through the facade needs API V1; the suite runs %v", cli.APIVersion())
	}
	g, err := cli.GC(callCtx(t))
	if err != nil {
		t.Fatalf("GC: %v", err)
	}
	return g
}

// TestGCRoundAndBarrier runs GC rounds on the cluster: a barrier a long
// reader set holds the safe points back at its ts, and once it is deleted
// the next round reaches the target; reads below the new txn safe point
// then fail with ErrGCTooEarly.
func TestGCRoundAndBarrier(t *testing.T) {
	cli := newClient(t)
	g := gcClient(t, cli)
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
// several regions and checks every region of it was visited.
func TestDeleteRangeAcrossRegions(t *testing.T) {
	cli := newClient(t)
	g := gcClient(t, cli)
	ctx := callCtx(t)
	ts, err := cli.CurrentTS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	prefix := fmt.Appendf(nil, "e2e-delrange-%d/", ts)
	var splits [][]byte
	for _, s := range []string{"b", "d", "f"} {
		splits = append(splits, encodeBytes(append(bytes.Clone(prefix), s...)))
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
	var reports int
	prog, err := g.DeleteRange(ctx, append(bytes.Clone(prefix), 'a'), append(bytes.Clone(prefix), 'z'),
		tikv.WithGCProgress(func(tikv.GCProgress) { reports++ }))
	if err != nil {
		t.Fatalf("DeleteRange: %v", err)
	}
	if prog.Done != prog.Total || prog.Regions < 4 || reports != prog.Total+1 {
		t.Fatalf("DeleteRange progress %+v after %d reports, want at least 4 regions, all done", prog, reports)
	}
}
