package tikvsim_test

import (
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/keyspacepb"
	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	msp "github.com/pingcap/kvproto/pkg/meta_storagepb"
	"github.com/pingcap/kvproto/pkg/pdpb"
	rmpb "github.com/pingcap/kvproto/pkg/resource_manager"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tikvgo/tikvgo/tikvsim"
)

func TestGetOperatorAfterScatter(t *testing.T) {
	t.Parallel()
	c := start(t, tikvsim.Options{SplitKeys: [][]byte{[]byte("m")}})
	ctx := tctx(t)
	pd := pdClient(t, c, 0)
	regions := c.Regions()
	r0, r1 := regions[0].ID, regions[1].ID

	op, err := pd.GetOperator(ctx, &pdpb.GetOperatorRequest{Header: hdr(c), RegionId: r0})
	if err != nil || op.GetHeader().GetError().GetType() != pdpb.ErrorType_REGION_NOT_FOUND {
		t.Fatalf("no operator: %v, %v", op, err)
	}

	sc, err := pd.ScatterRegion(ctx, &pdpb.ScatterRegionRequest{Header: hdr(c), RegionsId: []uint64{r0, 999999}})
	if err != nil || sc.GetHeader().GetError() != nil {
		t.Fatalf("ScatterRegion: %v, %v", sc, err)
	}
	if sc.GetFinishedPercentage() != 50 || len(sc.GetFailedRegionsId()) != 1 || sc.GetFailedRegionsId()[0] != 999999 {
		t.Fatalf("scatter with an unknown region = %v", sc)
	}
	// The legacy single-region form fails on an unknown region.
	if sc, err := pd.ScatterRegion(ctx, &pdpb.ScatterRegionRequest{Header: hdr(c), RegionId: 999999}); err != nil ||
		sc.GetHeader().GetError().GetType() != pdpb.ErrorType_REGION_NOT_FOUND {
		t.Fatalf("scatter of unknown region: %v, %v", sc, err)
	}

	for _, want := range []pdpb.OperatorStatus{pdpb.OperatorStatus_RUNNING, pdpb.OperatorStatus_SUCCESS, pdpb.OperatorStatus_SUCCESS} {
		op, err := pd.GetOperator(ctx, &pdpb.GetOperatorRequest{Header: hdr(c), RegionId: r0})
		if err != nil || op.GetHeader().GetError() != nil {
			t.Fatalf("GetOperator: %v, %v", op, err)
		}
		if op.GetStatus() != want || string(op.GetDesc()) != "scatter-region" || op.GetRegionId() != r0 {
			t.Fatalf("operator = %v, want status %v", op, want)
		}
	}
	if op, err := pd.GetOperator(ctx, &pdpb.GetOperatorRequest{Header: hdr(c), RegionId: r1}); err != nil ||
		op.GetHeader().GetError().GetType() != pdpb.ErrorType_REGION_NOT_FOUND {
		t.Fatalf("other region: %v, %v", op, err)
	}
}

func TestExternalTimestamp(t *testing.T) {
	t.Parallel()
	c := start(t, tikvsim.Options{})
	ctx := tctx(t)
	pd := pdClient(t, c, 0)

	get := func() uint64 {
		t.Helper()
		r, err := pd.GetExternalTimestamp(ctx, &pdpb.GetExternalTimestampRequest{Header: hdr(c)})
		if err != nil || r.GetHeader().GetError() != nil {
			t.Fatalf("GetExternalTimestamp: %v, %v", r, err)
		}
		return r.GetTimestamp()
	}
	set := func(ts uint64) *pdpb.Error {
		t.Helper()
		r, err := pd.SetExternalTimestamp(ctx, &pdpb.SetExternalTimestampRequest{Header: hdr(c), Timestamp: ts})
		if err != nil {
			t.Fatalf("SetExternalTimestamp: %v", err)
		}
		return r.GetHeader().GetError()
	}
	if got := get(); got != 0 {
		t.Fatalf("initial external ts = %d", got)
	}
	m, err := pd.GetMinTS(ctx, &pdpb.GetMinTSRequest{Header: hdr(c)})
	if err != nil {
		t.Fatal(err)
	}
	now := uint64(m.GetTimestamp().GetPhysical())<<18 | uint64(m.GetTimestamp().GetLogical())

	if e := set(now + 1<<30); e.GetType() != pdpb.ErrorType_INVALID_VALUE {
		t.Fatalf("above the global ts: %v", e)
	}
	if e := set(now); e != nil {
		t.Fatalf("valid set: %v", e)
	}
	if got := get(); got != now {
		t.Fatalf("external ts = %d, want %d", got, now)
	}
	for _, ts := range []uint64{now, now - 1} {
		if e := set(ts); e.GetType() != pdpb.ErrorType_INVALID_VALUE || !strings.Contains(e.GetMessage(), "larger than current") {
			t.Fatalf("set %d not above current: %v", ts, e)
		}
	}
}

func TestGlobalConfig(t *testing.T) {
	t.Parallel()
	c := start(t, tikvsim.Options{PDs: 2})
	ctx := tctx(t)
	pd := pdClient(t, c, 0)

	if _, err := pd.StoreGlobalConfig(ctx, &pdpb.StoreGlobalConfigRequest{Changes: []*pdpb.GlobalConfigItem{
		{Name: "a", Payload: []byte("1"), Kind: pdpb.EventType_PUT},
		{Name: "b", Value: "2", Kind: pdpb.EventType_PUT}, // CDC's form
	}}); err != nil {
		t.Fatal(err)
	}
	byName, err := pd.LoadGlobalConfig(ctx, &pdpb.LoadGlobalConfigRequest{Names: []string{"a", "b", "missing"}})
	if err != nil {
		t.Fatal(err)
	}
	it := byName.GetItems()
	if len(it) != 3 || string(it[0].GetPayload()) != "1" || string(it[1].GetPayload()) != "2" ||
		it[2].GetError().GetType() != pdpb.ErrorType_GLOBAL_CONFIG_NOT_FOUND {
		t.Fatalf("load by name = %v", it)
	}
	// A follower serves global config too: it is etcd, not the PD leader.
	all, err := pdClient(t, c, 1).LoadGlobalConfig(ctx, &pdpb.LoadGlobalConfigRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.GetItems()) != 2 || all.GetItems()[0].GetName() != "/global/config/a" || all.GetRevision() == 0 {
		t.Fatalf("load all = %v", all)
	}
	// The same data is visible through etcd.
	if g, err := etcdClient(t, c.PDAddrs()[0]).Get(ctx, "/global/config/b"); err != nil || string(g.Kvs[0].Value) != "2" {
		t.Fatalf("etcd view: %v, %v", g, err)
	}

	if _, err := pd.LoadGlobalConfig(ctx, &pdpb.LoadGlobalConfigRequest{ConfigPath: "/pd/secret"}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("path outside global config: %v", err)
	}
	if r, err := pd.LoadGlobalConfig(ctx, &pdpb.LoadGlobalConfigRequest{ConfigPath: "resource_group/controller"}); err != nil || len(r.GetItems()) != 0 {
		t.Fatalf("controller config path: %v, %v", r, err)
	}

	ws, err := pd.WatchGlobalConfig(ctx, &pdpb.WatchGlobalConfigRequest{Revision: all.GetRevision() + 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pd.StoreGlobalConfig(ctx, &pdpb.StoreGlobalConfigRequest{Changes: []*pdpb.GlobalConfigItem{
		{Name: "a", Kind: pdpb.EventType_DELETE},
		{Name: "c", Payload: []byte("3"), Kind: pdpb.EventType_PUT},
	}}); err != nil {
		t.Fatal(err)
	}
	wr, err := ws.Recv()
	if err != nil {
		t.Fatal(err)
	}
	ch := wr.GetChanges()
	if len(ch) != 2 || ch[0].GetKind() != pdpb.EventType_DELETE || ch[0].GetName() != "/global/config/a" || string(ch[0].GetPayload()) != "1" ||
		ch[1].GetKind() != pdpb.EventType_PUT || string(ch[1].GetPayload()) != "3" || wr.GetRevision() != all.GetRevision()+1 {
		t.Fatalf("watched changes = %v rev %d", ch, wr.GetRevision())
	}

	// A compacted start revision ends the watch with DATA_COMPACTED.
	if _, err := etcdClient(t, c.PDAddrs()[0]).Compact(ctx, wr.GetRevision()); err != nil {
		t.Fatal(err)
	}
	old, err := pd.WatchGlobalConfig(ctx, &pdpb.WatchGlobalConfigRequest{Revision: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := old.Recv(); err != nil || r.GetHeader().GetError().GetType() != pdpb.ErrorType_DATA_COMPACTED {
		t.Fatalf("compacted watch: %v, %v", r, err)
	}
	if _, err := old.Recv(); err != io.EOF {
		t.Fatalf("compacted watch did not end: %v", err)
	}
}

func TestDefaultKeyspaceUnderEveryAPIVersion(t *testing.T) {
	t.Parallel()
	for _, v := range []kvrpcpb.APIVersion{kvrpcpb.APIVersion_V1, kvrpcpb.APIVersion_V1TTL, kvrpcpb.APIVersion_V2} {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			c := start(t, tikvsim.Options{APIVersion: v})
			ctx := tctx(t)
			ks := keyspacepb.NewKeyspaceClient(dial(t, c.PDAddrs()[0]))
			byName, err := ks.LoadKeyspace(ctx, &keyspacepb.LoadKeyspaceRequest{Header: hdr(c), Name: "DEFAULT"})
			if err != nil || byName.GetHeader().GetError() != nil {
				t.Fatalf("LoadKeyspace: %v, %v", byName, err)
			}
			if m := byName.GetKeyspace(); m.GetId() != 0 || m.GetState() != keyspacepb.KeyspaceState_ENABLED {
				t.Fatalf("DEFAULT = %v", m)
			}
			byID, err := ks.LoadKeyspaceByID(ctx, &keyspacepb.LoadKeyspaceByIDRequest{Header: hdr(c), Keyspace: &keyspacepb.LoadKeyspaceByIDRequest_Id{Id: 0}})
			if err != nil || byID.GetKeyspace().GetName() != "DEFAULT" {
				t.Fatalf("LoadKeyspaceByID(0): %v, %v", byID, err)
			}
		})
	}
}

// fakeClock is a settable clock for Options.Clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func TestResourceGroups(t *testing.T) {
	t.Parallel()
	c := start(t, tikvsim.Options{})
	ctx := tctx(t)
	rm := rmpb.NewResourceManagerClient(dial(t, c.PDAddrs()[0]))

	list, err := rm.ListResourceGroups(ctx, &rmpb.ListResourceGroupsRequest{})
	if err != nil || len(list.GetGroups()) != 1 || list.GetGroups()[0].GetName() != "default" {
		t.Fatalf("initial groups: %v, %v", list, err)
	}
	def := list.GetGroups()[0]
	if def.GetRUSettings().GetRU().GetSettings().GetBurstLimit() != -1 || def.GetPriority() != 8 {
		t.Fatalf("default group = %v", def)
	}

	g := &rmpb.ResourceGroup{Name: "batch", Mode: rmpb.GroupMode_RUMode, Priority: 4, RUSettings: &rmpb.GroupRequestUnitSettings{
		RU: &rmpb.TokenBucket{Settings: &rmpb.TokenLimitSettings{FillRate: 100}},
	}}
	if _, err := rm.AddResourceGroup(ctx, &rmpb.PutResourceGroupRequest{Group: g}); err != nil {
		t.Fatal(err)
	}
	if _, err := rm.AddResourceGroup(ctx, &rmpb.PutResourceGroupRequest{Group: &rmpb.ResourceGroup{Name: strings.Repeat("n", 33)}}); err == nil {
		t.Fatal("a 33-byte group name was accepted")
	}
	if _, err := rm.ModifyResourceGroup(ctx, &rmpb.PutResourceGroupRequest{Group: &rmpb.ResourceGroup{Name: "batch", Priority: 16}}); err != nil {
		t.Fatal(err)
	}
	got, err := rm.GetResourceGroup(ctx, &rmpb.GetResourceGroupRequest{ResourceGroupName: "batch"})
	if err != nil || got.GetGroup().GetPriority() != 16 || got.GetGroup().GetRUSettings().GetRU().GetSettings().GetFillRate() != 100 {
		t.Fatalf("modified group: %v, %v", got, err)
	}
	if _, err := rm.ModifyResourceGroup(ctx, &rmpb.PutResourceGroupRequest{Group: &rmpb.ResourceGroup{Name: "nope"}}); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("modify missing group: %v", err)
	}
	if _, err := rm.DeleteResourceGroup(ctx, &rmpb.DeleteResourceGroupRequest{ResourceGroupName: "default"}); err == nil {
		t.Fatal("deleted the default group")
	}
	if _, err := rm.DeleteResourceGroup(ctx, &rmpb.DeleteResourceGroupRequest{ResourceGroupName: "batch"}); err != nil {
		t.Fatal(err)
	}
	if _, err := rm.GetResourceGroup(ctx, &rmpb.GetResourceGroupRequest{ResourceGroupName: "batch"}); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("deleted group: %v", err)
	}
}

func TestAcquireTokenBuckets(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	c := start(t, tikvsim.Options{Clock: clock.Now})
	ctx := tctx(t)
	rm := rmpb.NewResourceManagerClient(dial(t, c.PDAddrs()[0]))
	g := &rmpb.ResourceGroup{Name: "slow", Mode: rmpb.GroupMode_RUMode, RUSettings: &rmpb.GroupRequestUnitSettings{
		RU: &rmpb.TokenBucket{Settings: &rmpb.TokenLimitSettings{FillRate: 10, BurstLimit: 20}},
	}}
	if _, err := rm.AddResourceGroup(ctx, &rmpb.PutResourceGroupRequest{Group: g}); err != nil {
		t.Fatal(err)
	}
	stream, err := rm.AcquireTokenBuckets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ask := func(group string, ru float64) *rmpb.TokenBucketsResponse {
		t.Helper()
		req := &rmpb.TokenBucketsRequest{TargetRequestPeriodMs: 5000, ClientUniqueId: 1, Requests: []*rmpb.TokenBucketRequest{{
			ResourceGroupName: group,
			Request: &rmpb.TokenBucketRequest_RuItems{RuItems: &rmpb.TokenBucketRequest_RequestRU{
				RequestRU: []*rmpb.RequestUnitItem{{Type: rmpb.RequestUnitType_RU, Value: ru}},
			}},
		}}}
		if err := stream.Send(req); err != nil {
			t.Fatal(err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	grant := func(r *rmpb.TokenBucketsResponse) (float64, int64) {
		t.Helper()
		if len(r.GetResponses()) != 1 || len(r.GetResponses()[0].GetGrantedRUTokens()) != 1 {
			t.Fatalf("response = %v", r)
		}
		b := r.GetResponses()[0].GetGrantedRUTokens()[0]
		return b.GetGrantedTokens().GetTokens(), b.GetTrickleTimeMs()
	}

	// The default group is unlimited.
	if n, trickle := grant(ask("default", 1e6)); n != 1e6 || trickle != 0 {
		t.Fatalf("default grant = %v over %d ms", n, trickle)
	}
	// An empty bucket filling at 10 RU/s grants 5 RU spread over 500 ms.
	if n, trickle := grant(ask("slow", 5)); n != 5 || trickle != 500 {
		t.Fatalf("first grant = %v over %d ms", n, trickle)
	}
	// 10 s later the bucket holds its burst limit (20), the trickle's 0.5 s
	// of fill having been spent in advance.
	clock.Advance(10 * time.Second)
	if n, trickle := grant(ask("slow", 20)); n != 20 || trickle != 0 {
		t.Fatalf("burst grant = %v over %d ms", n, trickle)
	}
	// More than the target period can fill is capped at it.
	if n, trickle := grant(ask("slow", 1000)); n != 50 || trickle != 5000 {
		t.Fatalf("capped grant = %v over %d ms", n, trickle)
	}
	// Unknown groups get no entry.
	if r := ask("unknown", 1); len(r.GetResponses()) != 0 {
		t.Fatalf("unknown group = %v", r)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != io.EOF {
		t.Fatalf("stream end: %v", err)
	}
}

func TestMetaStorage(t *testing.T) {
	t.Parallel()
	c := start(t, tikvsim.Options{PDs: 2})
	ctx := tctx(t)
	ms := msp.NewMetaStorageClient(dial(t, c.PDAddrs()[0]))
	const prefix = "resource_group/controller"

	if _, err := msp.NewMetaStorageClient(dial(t, c.PDAddrs()[1])).Get(ctx, &msp.GetRequest{Key: []byte(prefix)}); status.Code(err) != codes.Unavailable {
		t.Fatalf("follower Get: %v", err)
	}
	put, err := ms.Put(ctx, &msp.PutRequest{Key: []byte(prefix), Value: []byte(`{"v":1}`)})
	if err != nil || put.GetHeader().GetError() != nil {
		t.Fatalf("Put: %v, %v", put, err)
	}
	get, err := ms.Get(ctx, &msp.GetRequest{Key: []byte(prefix), RangeEnd: []byte(prefix + "\xff")})
	if err != nil || get.GetCount() != 1 || string(get.GetKvs()[0].GetValue()) != `{"v":1}` {
		t.Fatalf("Get: %v, %v", get, err)
	}
	w, err := ms.Watch(ctx, &msp.WatchRequest{Key: []byte(prefix), StartRevision: put.GetHeader().GetRevision(), PrevKv: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ms.Put(ctx, &msp.PutRequest{Key: []byte(prefix), Value: []byte(`{"v":2}`)}); err != nil {
		t.Fatal(err)
	}
	var evs []*msp.Event
	for len(evs) < 2 {
		r, err := w.Recv()
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, r.GetEvents()...)
	}
	if string(evs[0].GetKv().GetValue()) != `{"v":1}` || string(evs[1].GetKv().GetValue()) != `{"v":2}` ||
		string(evs[1].GetPrevKv().GetValue()) != `{"v":1}` || evs[1].GetKv().GetVersion() != 2 {
		t.Fatalf("events = %v", evs)
	}
	del, err := ms.Delete(ctx, &msp.DeleteRequest{Key: []byte(prefix), PrevKv: true})
	if err != nil || del.GetDeleted() != 1 || string(del.GetPrevKvs()[0].GetValue()) != `{"v":2}` {
		t.Fatalf("Delete: %v, %v", del, err)
	}

	if _, err := etcdClient(t, c.PDAddrs()[0]).Compact(ctx, del.GetHeader().GetRevision()); err != nil {
		t.Fatal(err)
	}
	old, err := ms.Watch(ctx, &msp.WatchRequest{Key: []byte(prefix), StartRevision: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := old.Recv(); err != nil || r.GetHeader().GetError().GetType() != msp.ErrorType_DATA_COMPACTED || r.GetCompactRevision() != del.GetHeader().GetRevision() {
		t.Fatalf("compacted watch: %v, %v", r, err)
	}
}
