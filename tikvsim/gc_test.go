package tikvsim_test

import (
	"math"
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/pdpb"

	"github.com/tikvgo/tikvgo/tikvsim"
)

// TestGCSafePointRunsEngineGC writes two versions of a key, advances the GC
// safe point past both and checks that the older version is gone.
func TestGCSafePointRunsEngineGC(t *testing.T) {
	c := start(t, tikvsim.Options{})
	ri := c.Regions()[0]
	kv := kvClients(t, c)[ri.Leader]
	ctx := tctx(t)
	write := func(val string) uint64 {
		t.Helper()
		start := c.CurrentTS()
		pw, err := kv.KvPrewrite(ctx, &kvrpcpb.PrewriteRequest{Context: rctx(ri, 0), PrimaryLock: []byte("k"), StartVersion: start, LockTtl: 3000,
			Mutations: []*kvrpcpb.Mutation{{Op: kvrpcpb.Op_Put, Key: []byte("k"), Value: []byte(val)}}})
		if err != nil || len(pw.GetErrors()) > 0 {
			t.Fatalf("prewrite: %v %v", pw, err)
		}
		commit := c.CurrentTS()
		cm, err := kv.KvCommit(ctx, &kvrpcpb.CommitRequest{Context: rctx(ri, 0), Keys: [][]byte{[]byte("k")}, StartVersion: start, CommitVersion: commit})
		if err != nil || cm.GetError() != nil {
			t.Fatalf("commit: %v %v", cm, err)
		}
		return commit
	}
	first := write("v1")
	between := c.CurrentTS()
	write("v2")
	read := func(ts uint64) *kvrpcpb.GetResponse {
		resp, err := kv.KvGet(ctx, &kvrpcpb.GetRequest{Context: rctx(ri, 0), Key: []byte("k"), Version: ts})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if got := read(between); string(got.GetValue()) != "v1" {
		t.Fatalf("before GC read at %d (first commit %d): %v", between, first, got)
	}
	sp := c.CurrentTS()
	pd := pdClient(t, c, 0)
	if _, err := pd.UpdateServiceGCSafePoint(ctx, &pdpb.UpdateServiceGCSafePointRequest{Header: hdr(c), ServiceId: []byte("gc_worker"), TTL: math.MaxInt64, SafePoint: sp}); err != nil {
		t.Fatal(err)
	}
	if up, err := pd.UpdateGCSafePoint(ctx, &pdpb.UpdateGCSafePointRequest{Header: hdr(c), SafePoint: sp}); err != nil || up.GetNewSafePoint() != sp {
		t.Fatalf("UpdateGCSafePoint: %v %v", up, err)
	}
	if got := read(between); !got.GetNotFound() {
		t.Fatalf("after GC the old version is still readable: %v", got)
	}
	if got := read(c.CurrentTS()); string(got.GetValue()) != "v2" {
		t.Fatalf("after GC latest = %v", got)
	}
}

// TestKeyspaceGCScopes: a keyspace with keyspace-level GC has a GC state of
// its own; a unified keyspace reads and sets barriers in the null
// keyspace's state and may not advance safe points; GetAllKeyspacesGCStates
// lists both scopes.
func TestKeyspaceGCScopes(t *testing.T) {
	c := start(t, tikvsim.Options{APIVersion: kvrpcpb.APIVersion_V2, Keyspaces: []string{"own", "shared"}, KeyspaceLevelGC: []string{"own"}})
	pd := pdClient(t, c, 0)
	ctx := tctx(t)
	scope := func(id uint32) *pdpb.KeyspaceScope {
		return &pdpb.KeyspaceScope{Keyspace: &pdpb.KeyspaceScope_KeyspaceId{KeyspaceId: id}}
	}
	sp := c.CurrentTS()
	adv, err := pd.AdvanceTxnSafePoint(ctx, &pdpb.AdvanceTxnSafePointRequest{Header: hdr(c), KeyspaceScope: scope(1), Target: sp})
	if err != nil || adv.GetHeader().GetError() != nil || adv.GetNewTxnSafePoint() != sp {
		t.Fatalf("AdvanceTxnSafePoint(own) = %v, %v", adv, err)
	}
	refused, err := pd.AdvanceTxnSafePoint(ctx, &pdpb.AdvanceTxnSafePointRequest{Header: hdr(c), KeyspaceScope: scope(2), Target: sp})
	if err != nil || refused.GetHeader().GetError() == nil {
		t.Fatalf("AdvanceTxnSafePoint(shared) = %v, %v; want a header error", refused, err)
	}
	if _, err := pd.SetGCBarrier(ctx, &pdpb.SetGCBarrierRequest{Header: hdr(c), KeyspaceScope: scope(2), BarrierId: "b", BarrierTs: sp, TtlSeconds: 60}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id                 uint32
		wantID             uint32
		levelGC            bool
		txnSP, barrierTSes int
	}{{1, 1, true, 1, 0}, {2, math.MaxUint32, false, 0, 1}} {
		st, err := pd.GetGCState(ctx, &pdpb.GetGCStateRequest{Header: hdr(c), KeyspaceScope: scope(tc.id)})
		if err != nil {
			t.Fatal(err)
		}
		g := st.GetGcState()
		want := uint64(0)
		if tc.txnSP == 1 {
			want = sp
		}
		if g.GetKeyspaceScope().GetKeyspaceId() != tc.wantID || g.GetIsKeyspaceLevelGc() != tc.levelGC || g.GetTxnSafePoint() != want || len(g.GetGcBarriers()) != tc.barrierTSes {
			t.Errorf("GetGCState(%d) = %v", tc.id, g)
		}
	}
	all, err := pd.GetAllKeyspacesGCStates(ctx, &pdpb.GetAllKeyspacesGCStatesRequest{Header: hdr(c)})
	if err != nil || len(all.GetGcStates()) != 2 || all.GetGcStates()[1].GetKeyspaceScope().GetKeyspaceId() != 1 {
		t.Fatalf("GetAllKeyspacesGCStates = %v, %v", all, err)
	}
}
