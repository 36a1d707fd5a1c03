package pdclient_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/pdpb"

	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/retry"
	"github.com/tikvgo/tikvgo/tikvsim"
)

func startSim(t *testing.T, opts tikvsim.Options) (*tikvsim.Cluster, *pdclient.Client) {
	t.Helper()
	sim, err := tikvsim.Start(t.Context(), opts)
	if err != nil {
		t.Fatalf("tikvsim.Start: %v", err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	cli, err := pdclient.New(ctx, sim.PDAddrs(),
		pdclient.WithBackoff(retry.Backoff{Base: time.Millisecond, Max: 50 * time.Millisecond}))
	if err != nil {
		t.Fatalf("pdclient.New: %v", err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return sim, cli
}

func TestSimRegionsAndStores(t *testing.T) {
	b, d := tikvsim.EncodeKey([]byte("b")), tikvsim.EncodeKey([]byte("d"))
	sim, cli := startSim(t, tikvsim.Options{PDs: 3, Stores: 3, SplitKeys: [][]byte{b, d}})
	ctx := t.Context()
	if cli.ClusterID() != sim.ClusterID() {
		t.Fatalf("cluster id %d, sim %d", cli.ClusterID(), sim.ClusterID())
	}
	key := tikvsim.EncodeKey([]byte("c"))
	r, err := cli.GetRegion(ctx, key, pdclient.WithBuckets())
	if err != nil {
		t.Fatal(err)
	}
	want, err := sim.RegionByKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if r.Meta.Id != want.ID || r.Leader == nil || r.Leader.StoreId != want.Leader || len(r.Meta.Peers) != len(want.Peers) {
		t.Fatalf("GetRegion = %+v, sim %+v", r, want)
	}
	if byID, err := cli.GetRegionByID(ctx, want.ID); err != nil || byID.Meta.Id != want.ID {
		t.Fatalf("GetRegionByID = %v, %v", byID, err)
	}
	prev, err := cli.GetPrevRegion(ctx, key)
	if err != nil || string(prev.Meta.EndKey) != string(b) {
		t.Fatalf("GetPrevRegion = %v, %v", prev, err)
	}
	all, err := cli.ScanRegions(ctx, nil, nil, 0)
	if err != nil || len(all) != 3 {
		t.Fatalf("ScanRegions = %d regions, %v", len(all), err)
	}
	batch, err := cli.BatchScanRegions(ctx, []pdclient.KeyRange{{Start: nil, End: b}, {Start: d, End: nil}}, 0)
	if err != nil || len(batch) != 2 || batch[0].Meta.Id != all[0].Meta.Id || batch[1].Meta.Id != all[2].Meta.Id {
		t.Fatalf("BatchScanRegions = %v, %v", regionIDs(batch), err)
	}
	if _, err := cli.GetRegionByID(ctx, 1<<40); !errors.Is(err, pdclient.ErrRegionNotFound) {
		t.Fatalf("missing region: %v", err)
	}

	stores, err := cli.GetAllStores(ctx, pdclient.WithExcludeTombstones())
	if err != nil || len(stores) != 3 {
		t.Fatalf("GetAllStores = %v, %v", stores, err)
	}
	for _, si := range sim.Stores() {
		s, err := cli.GetStore(ctx, si.ID)
		if err != nil || s.Address != si.Addr {
			t.Fatalf("GetStore(%d) = %v, %v", si.ID, s, err)
		}
	}
	if _, err := cli.GetStore(ctx, 999); !errors.Is(err, pdclient.ErrStoreNotFound) {
		t.Fatalf("GetStore(999): %v", err)
	}
	ts, err := cli.GetMinTS(ctx)
	if err != nil || ts == 0 || ts > sim.CurrentTS() {
		t.Fatalf("GetMinTS = %d, %v (sim %d)", ts, err, sim.CurrentTS())
	}
}

func TestSimGCAndKeyspaces(t *testing.T) {
	_, cli := startSim(t, tikvsim.Options{APIVersion: kvrpcpb.APIVersion_V2, Keyspaces: []string{"ks1"}})
	ctx := t.Context()
	ks, err := cli.LoadKeyspace(ctx, "ks1")
	if err != nil || ks.ID != 1 || ks.Name != "ks1" {
		t.Fatalf("LoadKeyspace = %+v, %v", ks, err)
	}
	if _, err := cli.LoadKeyspace(ctx, "nope"); !errors.Is(err, pdclient.ErrKeyspaceNotFound) {
		t.Fatalf("LoadKeyspace(nope): %v", err)
	}
	now, err := cli.GetMinTS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	target := now - 1000
	b, err := cli.SetGCBarrier(ctx, pdclient.NullKeyspaceID, "br", target-10, time.Hour)
	if err != nil || b.TS != target-10 {
		t.Fatalf("SetGCBarrier = %+v, %v", b, err)
	}
	adv, err := cli.AdvanceTxnSafePoint(ctx, pdclient.NullKeyspaceID, target)
	if err != nil || adv.New != target-10 || adv.BlockerDescription == "" {
		t.Fatalf("AdvanceTxnSafePoint blocked = %+v, %v", adv, err)
	}
	if _, err := cli.DeleteGCBarrier(ctx, pdclient.NullKeyspaceID, "br"); err != nil {
		t.Fatal(err)
	}
	if adv, err = cli.AdvanceTxnSafePoint(ctx, pdclient.NullKeyspaceID, target); err != nil || adv.New != target {
		t.Fatalf("AdvanceTxnSafePoint = %+v, %v", adv, err)
	}
	if _, newSP, err := cli.AdvanceGCSafePoint(ctx, pdclient.NullKeyspaceID, target-5); err != nil || newSP != target-5 {
		t.Fatalf("AdvanceGCSafePoint = %d, %v", newSP, err)
	}
	st, err := cli.GetGCState(ctx, pdclient.NullKeyspaceID, true)
	if err != nil || st.TxnSafePoint != target || st.GCSafePoint != target-5 {
		t.Fatalf("GetGCState = %+v, %v", st, err)
	}
	if sp, err := cli.GetGCSafePoint(ctx); err != nil || sp != target-5 {
		t.Fatalf("GetGCSafePoint = %d, %v", sp, err)
	}
	states, err := cli.GetAllKeyspacesGCStates(ctx)
	if err != nil || len(states.States) == 0 {
		t.Fatalf("GetAllKeyspacesGCStates = %+v, %v", states, err)
	}
	// Moving the GC safe point back is refused by PD with a header error.
	_, _, err = cli.AdvanceGCSafePoint(ctx, pdclient.NullKeyspaceID, 1)
	var pe *pdclient.PDError
	if !errors.As(err, &pe) || pe.Type != pdpb.ErrorType_UNKNOWN {
		t.Fatalf("AdvanceGCSafePoint backwards: %v", err)
	}
}

func TestSimLeaderChangeAndOutage(t *testing.T) {
	sim, cli := startSim(t, tikvsim.Options{PDs: 3})
	ctx := t.Context()
	l0, _ := cli.Leader()
	if err := sim.SetPDLeader(2); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.GetRegion(ctx, nil); err != nil {
		t.Fatalf("after SetPDLeader: %v", err)
	}
	<-l0.Changed()
	if l, _ := cli.Leader(); l.Addr != sim.PDAddrs()[2] {
		t.Fatalf("leader %s, want %s", l.Addr, sim.PDAddrs()[2])
	}
	if err := sim.StopPD(2); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.GetAllStores(ctx); err != nil {
		t.Fatalf("after stopping the leader: %v", err)
	}
	for i := range 2 {
		if err := sim.StopPD(i); err != nil {
			t.Fatal(err)
		}
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err := cli.GetRegion(short, nil)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("all PDs down: %v", err)
	}
	for i := range 3 {
		if err := sim.RestartPD(i); err != nil {
			t.Fatal(err)
		}
	}
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	if _, err := cli.GetRegion(wctx, nil); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}
