package tikvsim_test

import (
	"bytes"
	"context"
	"io"
	"math"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/keyspacepb"
	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/pdpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tikvgo/tikvgo/tikvsim"
)

func TestStartCloseDefaults(t *testing.T) {
	c := start(t, tikvsim.Options{})
	if got := len(c.PDAddrs()); got != 1 {
		t.Fatalf("PDs = %d, want 1", got)
	}
	if got := len(c.StoreAddrs()); got != 3 {
		t.Fatalf("stores = %d, want 3", got)
	}
	regions := c.Regions()
	if len(regions) != 1 || len(regions[0].Peers) != 3 {
		t.Fatalf("regions = %+v, want one region with 3 peers", regions)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := c.RestartStore(1); err == nil {
		t.Fatal("RestartStore after Close succeeded")
	}
}

func TestStartRejectsBadOptions(t *testing.T) {
	for name, o := range map[string]tikvsim.Options{
		"too many PDs":         {PDs: 4},
		"keyspaces without v2": {Keyspaces: []string{"a"}},
		"negative stores":      {Stores: -1},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := tikvsim.Start(t.Context(), o); err == nil {
				t.Fatal("Start succeeded")
			}
		})
	}
}

func TestGetMembersReportsLeaderFromEveryMember(t *testing.T) {
	c := start(t, tikvsim.Options{PDs: 3})
	ctx := tctx(t)
	if err := c.SetPDLeader(2); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		resp, err := pdClient(t, c, i).GetMembers(ctx, &pdpb.GetMembersRequest{})
		if err != nil {
			t.Fatalf("member %d: %v", i, err)
		}
		if resp.GetHeader().GetClusterId() != c.ClusterID() {
			t.Fatalf("cluster id %d, want %d", resp.GetHeader().GetClusterId(), c.ClusterID())
		}
		if len(resp.GetMembers()) != 3 {
			t.Fatalf("members = %d", len(resp.GetMembers()))
		}
		if got, want := resp.GetLeader().GetClientUrls()[0], "http://"+c.PDAddrs()[2]; got != want {
			t.Fatalf("member %d reports leader %s, want %s", i, got, want)
		}
	}
}

func TestPDFollowerAnswersNotLeader(t *testing.T) {
	c := start(t, tikvsim.Options{PDs: 2})
	ctx := tctx(t)
	follower := pdClient(t, c, 1)
	_, err := follower.GetAllStores(ctx, &pdpb.GetAllStoresRequest{Header: hdr(c)})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("GetAllStores on follower: %v, want Unavailable", err)
	}
	_, err = follower.GetRegion(ctx, &pdpb.GetRegionRequest{Header: hdr(c), RegionKey: []byte("a")})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("GetRegion on follower without metadata: %v, want Unavailable", err)
	}
	fctx := metadata.AppendToOutgoingContext(ctx, "pd-allow-follower-handle", "true")
	resp, err := follower.GetRegion(fctx, &pdpb.GetRegionRequest{Header: hdr(c), RegionKey: []byte("a")})
	if err != nil || resp.GetRegion() == nil {
		t.Fatalf("GetRegion on follower with metadata: %v %v", resp, err)
	}
	// Following the leader after a change.
	if err := c.SetPDLeader(1); err != nil {
		t.Fatal(err)
	}
	if _, err := follower.GetAllStores(ctx, &pdpb.GetAllStoresRequest{Header: hdr(c)}); err != nil {
		t.Fatalf("new leader: %v", err)
	}
	if _, err := pdClient(t, c, 0).GetAllStores(ctx, &pdpb.GetAllStoresRequest{Header: hdr(c)}); status.Code(err) != codes.Unavailable {
		t.Fatalf("old leader: %v, want Unavailable", err)
	}
}

func TestPDClusterIDMismatch(t *testing.T) {
	c := start(t, tikvsim.Options{})
	_, err := pdClient(t, c, 0).GetAllStores(tctx(t), &pdpb.GetAllStoresRequest{Header: &pdpb.RequestHeader{ClusterId: 42}})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("got %v, want FailedPrecondition", err)
	}
}

func tsoOf(r *pdpb.TsoResponse) uint64 {
	return uint64(r.GetTimestamp().GetPhysical())<<18 | uint64(r.GetTimestamp().GetLogical())
}

func TestTSOMonotonicAndCount(t *testing.T) {
	c := start(t, tikvsim.Options{})
	stream, err := pdClient(t, c, 0).Tso(tctx(t))
	if err != nil {
		t.Fatal(err)
	}
	var last uint64
	for i, count := range []uint32{1, 10, 1, 1000, 3} {
		if err := stream.Send(&pdpb.TsoRequest{Header: hdr(c), Count: count}); err != nil {
			t.Fatal(err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetCount() != count {
			t.Fatalf("count %d, want %d", resp.GetCount(), count)
		}
		ts := tsoOf(resp)
		first := ts - uint64(count) + 1
		if i > 0 && first <= last {
			t.Fatalf("batch %d starts at %d, not after previous end %d", i, first, last)
		}
		if resp.GetTimestamp().GetLogical() < int64(count) {
			t.Fatalf("logical %d cannot hold a batch of %d", resp.GetTimestamp().GetLogical(), count)
		}
		last = ts
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != io.EOF {
		t.Fatalf("after CloseSend: %v, want EOF", err)
	}
	if got := c.CurrentTS(); got <= last {
		t.Fatalf("CurrentTS %d not after %d", got, last)
	}
}

func TestTSOErrors(t *testing.T) {
	c := start(t, tikvsim.Options{PDs: 2})
	ctx := tctx(t)
	t.Run("zero count", func(t *testing.T) {
		s, err := pdClient(t, c, 0).Tso(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_ = s.Send(&pdpb.TsoRequest{Header: hdr(c)})
		if _, err := s.Recv(); err == nil {
			t.Fatal("count 0 answered")
		}
	})
	t.Run("follower", func(t *testing.T) {
		s, err := pdClient(t, c, 1).Tso(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_ = s.Send(&pdpb.TsoRequest{Header: hdr(c), Count: 1})
		if _, err := s.Recv(); status.Code(err) != codes.Unavailable {
			t.Fatalf("got %v, want Unavailable", err)
		}
	})
	t.Run("broken", func(t *testing.T) {
		s, err := pdClient(t, c, 0).Tso(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_ = s.Send(&pdpb.TsoRequest{Header: hdr(c), Count: 1})
		if _, err := s.Recv(); err != nil {
			t.Fatal(err)
		}
		c.BreakTSOStreams()
		if _, err := s.Recv(); status.Code(err) != codes.Unavailable {
			t.Fatalf("got %v, want Unavailable", err)
		}
	})
	t.Run("paused", func(t *testing.T) {
		s, err := pdClient(t, c, 0).Tso(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c.PauseTSO()
		// While paused, a request hangs until its deadline.
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if _, err := pdClient(t, c, 0).GetMinTS(short, &pdpb.GetMinTSRequest{Header: hdr(c)}); status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("GetMinTS while paused: %v, want DeadlineExceeded", err)
		}
		if err := s.Send(&pdpb.TsoRequest{Header: hdr(c), Count: 1}); err != nil {
			t.Fatal(err)
		}
		c.ResumeTSO()
		if _, err := s.Recv(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRegionQueries(t *testing.T) {
	keys := [][]byte{tikvsim.EncodeKey([]byte("b")), tikvsim.EncodeKey([]byte("d"))}
	c := start(t, tikvsim.Options{SplitKeys: keys})
	pd := pdClient(t, c, 0)
	ctx := tctx(t)
	regions := c.Regions()
	if len(regions) != 3 {
		t.Fatalf("%d regions", len(regions))
	}
	get, err := pd.GetRegion(ctx, &pdpb.GetRegionRequest{Header: hdr(c), RegionKey: tikvsim.EncodeKey([]byte("c"))})
	if err != nil || get.GetRegion().GetId() != regions[1].ID || get.GetLeader().GetStoreId() != regions[1].Leader {
		t.Fatalf("GetRegion(c) = %v, %v; want region %d", get, err, regions[1].ID)
	}
	prev, err := pd.GetPrevRegion(ctx, &pdpb.GetRegionRequest{Header: hdr(c), RegionKey: tikvsim.EncodeKey([]byte("c"))})
	if err != nil || prev.GetRegion().GetId() != regions[0].ID {
		t.Fatalf("GetPrevRegion(c) = %v, %v", prev, err)
	}
	byID, err := pd.GetRegionByID(ctx, &pdpb.GetRegionByIDRequest{Header: hdr(c), RegionId: regions[2].ID})
	if err != nil || !bytes.Equal(byID.GetRegion().GetStartKey(), keys[1]) {
		t.Fatalf("GetRegionByID = %v, %v", byID, err)
	}
	missing, err := pd.GetRegionByID(ctx, &pdpb.GetRegionByIDRequest{Header: hdr(c), RegionId: 999999})
	if err != nil || missing.GetRegion() != nil {
		t.Fatalf("GetRegionByID(unknown) = %v, %v", missing, err)
	}
	scan, err := pd.ScanRegions(ctx, &pdpb.ScanRegionsRequest{Header: hdr(c), StartKey: tikvsim.EncodeKey([]byte("a")), Limit: 2})
	if err != nil || len(scan.GetRegions()) != 2 || len(scan.GetRegionMetas()) != 2 || scan.GetRegions()[1].GetRegion().GetId() != regions[1].ID {
		t.Fatalf("ScanRegions = %v, %v", scan, err)
	}
	scanEnd, err := pd.ScanRegions(ctx, &pdpb.ScanRegionsRequest{Header: hdr(c), StartKey: tikvsim.EncodeKey([]byte("c")), EndKey: keys[1]})
	if err != nil || len(scanEnd.GetRegions()) != 1 {
		t.Fatalf("ScanRegions to end key = %v, %v", scanEnd, err)
	}
	batch, err := pd.BatchScanRegions(ctx, &pdpb.BatchScanRegionsRequest{Header: hdr(c), Ranges: []*pdpb.KeyRange{
		{StartKey: nil, EndKey: tikvsim.EncodeKey([]byte("a"))},
		{StartKey: tikvsim.EncodeKey([]byte("a1")), EndKey: tikvsim.EncodeKey([]byte("c"))},
	}})
	if err != nil || len(batch.GetRegions()) != 2 {
		t.Fatalf("BatchScanRegions = %v, %v", batch, err)
	}
	bad, err := pd.BatchScanRegions(ctx, &pdpb.BatchScanRegionsRequest{Header: hdr(c), Ranges: []*pdpb.KeyRange{
		{StartKey: []byte("z"), EndKey: []byte("a")},
	}})
	if err != nil || bad.GetHeader().GetError().GetType() != pdpb.ErrorType_UNKNOWN {
		t.Fatalf("BatchScanRegions(invalid) = %v, %v", bad, err)
	}
}

func TestStores(t *testing.T) {
	c := start(t, tikvsim.Options{Stores: 2})
	pd := pdClient(t, c, 0)
	ctx := tctx(t)
	all, err := pd.GetAllStores(ctx, &pdpb.GetAllStoresRequest{Header: hdr(c)})
	if err != nil || len(all.GetStores()) != 2 {
		t.Fatalf("GetAllStores = %v, %v", all, err)
	}
	one, err := pd.GetStore(ctx, &pdpb.GetStoreRequest{Header: hdr(c), StoreId: 2})
	if err != nil || one.GetStore().GetAddress() != c.StoreAddrs()[1] {
		t.Fatalf("GetStore(2) = %v, %v", one, err)
	}
	unknown, err := pd.GetStore(ctx, &pdpb.GetStoreRequest{Header: hdr(c), StoreId: 9})
	if err != nil || unknown.GetHeader().GetError().GetType() != pdpb.ErrorType_UNKNOWN {
		t.Fatalf("GetStore(9) = %v, %v", unknown, err)
	}
}

func TestGCSafePoints(t *testing.T) {
	c := start(t, tikvsim.Options{})
	pd := pdClient(t, c, 0)
	ctx := tctx(t)
	bar, err := pd.SetGCBarrier(ctx, &pdpb.SetGCBarrierRequest{Header: hdr(c), BarrierId: "br", BarrierTs: 50, TtlSeconds: math.MaxInt64})
	if err != nil || bar.GetHeader().GetError() != nil || bar.GetNewBarrierInfo().GetBarrierTs() != 50 {
		t.Fatalf("SetGCBarrier = %v, %v", bar, err)
	}
	adv, err := pd.AdvanceTxnSafePoint(ctx, &pdpb.AdvanceTxnSafePointRequest{Header: hdr(c), Target: 100})
	if err != nil || adv.GetNewTxnSafePoint() != 50 || adv.GetBlockerDescription() == "" {
		t.Fatalf("AdvanceTxnSafePoint blocked = %v, %v", adv, err)
	}
	if _, err := pd.UpdateGCSafePoint(ctx, &pdpb.UpdateGCSafePointRequest{Header: hdr(c), SafePoint: 60}); err == nil {
		t.Fatal("UpdateGCSafePoint above txn safe point succeeded")
	}
	if _, err := pd.DeleteGCBarrier(ctx, &pdpb.DeleteGCBarrierRequest{Header: hdr(c), BarrierId: "br"}); err != nil {
		t.Fatal(err)
	}
	adv, err = pd.AdvanceTxnSafePoint(ctx, &pdpb.AdvanceTxnSafePointRequest{Header: hdr(c), Target: 100})
	if err != nil || adv.GetNewTxnSafePoint() != 100 || adv.GetOldTxnSafePoint() != 50 {
		t.Fatalf("AdvanceTxnSafePoint = %v, %v", adv, err)
	}
	up, err := pd.UpdateGCSafePoint(ctx, &pdpb.UpdateGCSafePointRequest{Header: hdr(c), SafePoint: 80})
	if err != nil || up.GetNewSafePoint() != 80 {
		t.Fatalf("UpdateGCSafePoint = %v, %v", up, err)
	}
	back, err := pd.UpdateGCSafePoint(ctx, &pdpb.UpdateGCSafePointRequest{Header: hdr(c), SafePoint: 70})
	if err != nil || back.GetNewSafePoint() != 80 {
		t.Fatalf("UpdateGCSafePoint backwards = %v, %v", back, err)
	}
	st, err := pd.GetGCState(ctx, &pdpb.GetGCStateRequest{Header: hdr(c)})
	if err != nil || st.GetGcState().GetTxnSafePoint() != 100 || st.GetGcState().GetGcSafePoint() != 80 {
		t.Fatalf("GetGCState = %v, %v", st, err)
	}
	svc, err := pd.UpdateServiceGCSafePoint(ctx, &pdpb.UpdateServiceGCSafePointRequest{Header: hdr(c), ServiceId: []byte("gc_worker"), TTL: math.MaxInt64, SafePoint: 120})
	if err != nil || svc.GetMinSafePoint() != 120 {
		t.Fatalf("UpdateServiceGCSafePoint(gc_worker) = %v, %v", svc, err)
	}
}

func TestKeyspaces(t *testing.T) {
	c := start(t, tikvsim.Options{APIVersion: kvrpcpb.APIVersion_V2, Keyspaces: []string{"ks1"}})
	ks := keyspacepb.NewKeyspaceClient(dial(t, c.PDAddrs()[0]))
	ctx := tctx(t)
	resp, err := ks.LoadKeyspace(ctx, &keyspacepb.LoadKeyspaceRequest{Header: hdr(c), Name: "ks1"})
	if err != nil || resp.GetKeyspace().GetId() != 1 || resp.GetKeyspace().GetState() != keyspacepb.KeyspaceState_ENABLED {
		t.Fatalf("LoadKeyspace = %v, %v", resp, err)
	}
	missing, err := ks.LoadKeyspace(ctx, &keyspacepb.LoadKeyspaceRequest{Header: hdr(c), Name: "nope"})
	if err != nil || missing.GetHeader().GetError().GetType() != pdpb.ErrorType_ENTRY_NOT_FOUND {
		t.Fatalf("LoadKeyspace(missing) = %v, %v", missing, err)
	}
	// The keyspace's txn range starts a region.
	start := tikvsim.EncodeKey([]byte{'x', 0, 0, 1})
	ri, err := c.RegionByKey(start)
	if err != nil || !bytes.Equal(ri.StartKey, start) {
		t.Fatalf("region at keyspace start = %+v, %v", ri, err)
	}
	all, err := ks.GetAllKeyspaces(ctx, &keyspacepb.GetAllKeyspacesRequest{Header: hdr(c)})
	if err != nil || len(all.GetKeyspaces()) != 2 {
		t.Fatalf("GetAllKeyspaces = %v, %v", all, err)
	}
}

func TestQueryRegion(t *testing.T) {
	c := start(t, tikvsim.Options{SplitKeys: [][]byte{tikvsim.EncodeKey([]byte("m"))}})
	regions := c.Regions()
	stream, err := pdClient(t, c, 0).QueryRegion(tctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&pdpb.QueryRegionRequest{
		Header:   hdr(c),
		Keys:     [][]byte{tikvsim.EncodeKey([]byte("a")), tikvsim.EncodeKey([]byte("z"))},
		PrevKeys: [][]byte{tikvsim.EncodeKey([]byte("z")), tikvsim.EncodeKey([]byte("a"))},
		Ids:      []uint64{regions[1].ID, 99999},
	}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.GetKeyIdMap(); len(got) != 2 || got[0] != regions[0].ID || got[1] != regions[1].ID {
		t.Fatalf("key_id_map %v", got)
	}
	if got := resp.GetPrevKeyIdMap(); len(got) != 2 || got[0] != regions[0].ID || got[1] != 0 {
		t.Fatalf("prev_key_id_map %v", got)
	}
	if len(resp.GetRegionsById()) != 2 {
		t.Fatalf("regions_by_id %v", resp.GetRegionsById())
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != io.EOF {
		t.Fatalf("after CloseSend: %v", err)
	}
}

func TestInjectPDFault(t *testing.T) {
	c := start(t, tikvsim.Options{})
	pd := pdClient(t, c, 0)
	ctx := tctx(t)
	c.InjectPDFault(tikvsim.PDFault{Method: "GetRegion", Count: 1, HeaderError: pdpb.ErrorType_NOT_BOOTSTRAPPED})
	resp, err := pd.GetRegion(ctx, &pdpb.GetRegionRequest{Header: hdr(c), RegionKey: []byte("a")})
	if err != nil || resp.GetHeader().GetError().GetType() != pdpb.ErrorType_NOT_BOOTSTRAPPED || resp.GetRegion() != nil {
		t.Fatalf("header fault: %v %v", resp, err)
	}
	resp, err = pd.GetRegion(ctx, &pdpb.GetRegionRequest{Header: hdr(c), RegionKey: []byte("a")})
	if err != nil || resp.GetRegion() == nil {
		t.Fatalf("after the fault: %v %v", resp, err)
	}
	remove := c.InjectPDFault(tikvsim.PDFault{Method: "Tso", AnyMember: true, GRPCCode: codes.Unavailable})
	s, err := pd.Tso(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Send(&pdpb.TsoRequest{Header: hdr(c), Count: 1})
	if _, err := s.Recv(); status.Code(err) != codes.Unavailable {
		t.Fatalf("tso fault: %v", err)
	}
	remove()
	if _, err := pd.GetMembers(ctx, &pdpb.GetMembersRequest{}); err != nil {
		t.Fatal(err)
	}
}

func TestPDFollowerRegionNotFound(t *testing.T) {
	c := start(t, tikvsim.Options{PDs: 2})
	fctx := metadata.AppendToOutgoingContext(tctx(t), "pd-allow-follower-handle", "1")
	resp, err := pdClient(t, c, 1).GetRegionByID(fctx, &pdpb.GetRegionByIDRequest{Header: hdr(c), RegionId: 123456})
	if err != nil || resp.GetHeader().GetError().GetType() != pdpb.ErrorType_REGION_NOT_FOUND {
		t.Fatalf("follower, unknown region: %v %v", resp, err)
	}
}

func TestStopRestartPD(t *testing.T) {
	c := start(t, tikvsim.Options{PDs: 3})
	ctx := tctx(t)
	addr := c.PDAddrs()[0]
	if err := c.StopPD(0); err != nil {
		t.Fatal(err)
	}
	if got := c.PDLeader(); got != 1 {
		t.Fatalf("leader after stopping member 0: %d, want 1", got)
	}
	if _, err := pdClient(t, c, 0).GetMembers(ctx, &pdpb.GetMembersRequest{}); status.Code(err) != codes.Unavailable {
		t.Fatalf("stopped member answered: %v", err)
	}
	members, err := pdClient(t, c, 2).GetMembers(ctx, &pdpb.GetMembersRequest{})
	if err != nil || members.GetLeader().GetMemberId() != 2 {
		t.Fatalf("GetMembers from member 2: %v %v", members, err)
	}
	if err := c.SetPDLeader(0); err == nil {
		t.Fatal("stopped member became leader")
	}
	if err := c.RestartPD(0); err != nil {
		t.Fatal(err)
	}
	if c.PDAddrs()[0] != addr || c.PDLeader() != 1 {
		t.Fatalf("after restart: addr %s (was %s), leader %d", c.PDAddrs()[0], addr, c.PDLeader())
	}
	if _, err := pdClient(t, c, 0).GetAllStores(ctx, &pdpb.GetAllStoresRequest{Header: hdr(c)}); status.Code(err) != codes.Unavailable {
		t.Fatalf("restarted follower: %v, want Unavailable", err)
	}
}
