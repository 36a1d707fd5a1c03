package tikvsim_test

import (
	"testing"

	"github.com/pingcap/kvproto/pkg/errorpb"
	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/metapb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tikvgo/tikvgo/tikvsim"
)

// follower returns a store id holding a non-leader peer of ri.
func follower(t testing.TB, ri tikvsim.RegionInfo) uint64 {
	t.Helper()
	for _, p := range ri.Peers {
		if p.StoreID != ri.Leader {
			return p.StoreID
		}
	}
	t.Fatal("region has no follower")
	return 0
}

// TestContextChecks produces every region error of the Context checks
// (§4.1 of the semantics reference) through a real gRPC client.
func TestContextChecks(t *testing.T) {
	c := start(t, tikvsim.Options{Stores: 4, Replicas: 3, SplitKeys: [][]byte{[]byte("m")}})
	kv := kvClients(t, c)
	ctx := tctx(t)
	ri := rawRegionFor(t, c, []byte("a"))
	var outsider uint64
	for _, s := range c.Stores() {
		found := false
		for _, p := range ri.Peers {
			found = found || p.StoreID == s.ID
		}
		if !found {
			outsider = s.ID
		}
	}

	rawGet := func(store uint64, rc *kvrpcpb.Context, key string) *errorpb.Error {
		t.Helper()
		resp, err := kv[store].RawGet(ctx, &kvrpcpb.RawGetRequest{Context: rc, Key: []byte(key)})
		if err != nil {
			t.Fatalf("RawGet: %v", err)
		}
		return resp.GetRegionError()
	}

	t.Run("ok", func(t *testing.T) {
		if e := rawGet(ri.Leader, rctx(ri, 0), "a"); e != nil {
			t.Fatalf("unexpected %v", e)
		}
	})
	t.Run("StoreNotMatch", func(t *testing.T) {
		rc := rctx(ri, 0)
		e := rawGet(follower(t, ri), rc, "a")
		if e.GetStoreNotMatch() == nil || e.GetStoreNotMatch().GetRequestStoreId() != ri.Leader {
			t.Fatalf("got %v", e)
		}
	})
	t.Run("StoreNotMatch without peer", func(t *testing.T) {
		rc := rctx(ri, 0)
		rc.Peer = nil
		if e := rawGet(ri.Leader, rc, "a"); e.GetStoreNotMatch() == nil {
			t.Fatalf("got %v", e)
		}
	})
	t.Run("RegionNotFound unknown id", func(t *testing.T) {
		rc := rctx(ri, 0)
		rc.RegionId = 424242
		if e := rawGet(ri.Leader, rc, "a"); e.GetRegionNotFound().GetRegionId() != 424242 {
			t.Fatalf("got %v", e)
		}
	})
	t.Run("RegionNotFound no peer on store", func(t *testing.T) {
		rc := rctx(ri, 0)
		rc.Peer = &metapb.Peer{Id: 1, StoreId: outsider}
		if e := rawGet(outsider, rc, "a"); e.GetRegionNotFound() == nil {
			t.Fatalf("got %v", e)
		}
	})
	t.Run("MismatchPeerId", func(t *testing.T) {
		rc := rctx(ri, 0)
		rc.Peer.Id += 1000
		if e := rawGet(ri.Leader, rc, "a"); e.GetMismatchPeerId() == nil {
			t.Fatalf("got %v", e)
		}
	})
	t.Run("NotLeader", func(t *testing.T) {
		f := follower(t, ri)
		e := rawGet(f, rctx(ri, f), "a")
		if e.GetNotLeader() == nil || e.GetNotLeader().GetLeader().GetStoreId() != ri.Leader {
			t.Fatalf("got %v", e)
		}
	})
	t.Run("NotLeader before EpochNotMatch on a follower", func(t *testing.T) {
		f := follower(t, ri)
		rc := rctx(ri, f)
		rc.RegionEpoch.Version++
		if e := rawGet(f, rc, "a"); e.GetNotLeader() == nil {
			t.Fatalf("got %v", e)
		}
	})
	t.Run("replica read served by follower", func(t *testing.T) {
		f := follower(t, ri)
		rc := rctx(ri, f)
		rc.ReplicaRead = true
		if e := rawGet(f, rc, "a"); e != nil {
			t.Fatalf("got %v", e)
		}
	})
	t.Run("replica read never allows writes", func(t *testing.T) {
		f := follower(t, ri)
		rc := rctx(ri, f)
		rc.ReplicaRead = true
		resp, err := kv[f].RawPut(ctx, &kvrpcpb.RawPutRequest{Context: rc, Key: []byte("a"), Value: []byte("v")})
		if err != nil || resp.GetRegionError().GetNotLeader() == nil {
			t.Fatalf("got %v %v", resp, err)
		}
	})
	t.Run("StaleCommand", func(t *testing.T) {
		rc := rctx(ri, 0)
		rc.Term = 1
		if err := c.TransferLeader(ri.ID, follower(t, ri)); err != nil {
			t.Fatal(err)
		}
		if err := c.TransferLeader(ri.ID, ri.Leader); err != nil {
			t.Fatal(err)
		}
		if e := rawGet(ri.Leader, rc, "a"); e.GetStaleCommand() == nil {
			t.Fatalf("got %v", e)
		}
	})
	t.Run("missing epoch", func(t *testing.T) {
		rc := rctx(ri, 0)
		rc.RegionEpoch = nil
		if e := rawGet(ri.Leader, rc, "a"); e.GetMessage() != "missing epoch!" {
			t.Fatalf("got %v", e)
		}
	})
	t.Run("EpochNotMatch newer version", func(t *testing.T) {
		rc := rctx(ri, 0)
		rc.RegionEpoch.Version++
		e := rawGet(ri.Leader, rc, "a")
		if len(e.GetEpochNotMatch().GetCurrentRegions()) != 1 {
			t.Fatalf("got %v", e)
		}
	})
	t.Run("conf_ver is ignored", func(t *testing.T) {
		rc := rctx(ri, 0)
		rc.RegionEpoch.ConfVer += 5
		if e := rawGet(ri.Leader, rc, "a"); e != nil {
			t.Fatalf("got %v", e)
		}
	})
	t.Run("KeyNotInRegion", func(t *testing.T) {
		e := rawGet(ri.Leader, rctx(ri, 0), "z")
		if e.GetKeyNotInRegion() == nil || string(e.GetKeyNotInRegion().GetKey()) != "z" {
			t.Fatalf("got %v", e)
		}
	})
	t.Run("KeyNotInRegion txn key is encoded", func(t *testing.T) {
		resp, err := kv[ri.Leader].KvGet(ctx, &kvrpcpb.GetRequest{Context: rctx(ri, 0), Key: []byte("z"), Version: c.CurrentTS()})
		if err != nil {
			t.Fatal(err)
		}
		knr := resp.GetRegionError().GetKeyNotInRegion()
		if string(knr.GetKey()) != string(tikvsim.EncodeKey([]byte("z"))) {
			t.Fatalf("got %v", resp.GetRegionError())
		}
	})
	t.Run("DataIsNotReady", func(t *testing.T) {
		f := follower(t, ri)
		ts := c.CurrentTS()
		if err := c.SetSafeTS(ri.ID, ts-10); err != nil {
			t.Fatal(err)
		}
		defer c.SetSafeTS(ri.ID, 0)
		cur, _ := c.Region(ri.ID)
		rc := rctx(cur, f)
		rc.StaleRead = true
		resp, err := kv[f].KvGet(ctx, &kvrpcpb.GetRequest{Context: rc, Key: []byte("a"), Version: ts})
		if err != nil {
			t.Fatal(err)
		}
		if d := resp.GetRegionError().GetDataIsNotReady(); d == nil || d.GetSafeTs() != ts-10 {
			t.Fatalf("got %v", resp.GetRegionError())
		}
		// Below the safe ts the follower serves it.
		resp, err = kv[f].KvGet(ctx, &kvrpcpb.GetRequest{Context: rc, Key: []byte("a"), Version: ts - 20})
		if err != nil || resp.GetRegionError() != nil {
			t.Fatalf("stale read below safe ts: %v %v", resp, err)
		}
		// The leader falls back to a normal read.
		lrc := rctx(cur, 0)
		lrc.StaleRead = true
		resp, err = kv[cur.Leader].KvGet(ctx, &kvrpcpb.GetRequest{Context: lrc, Key: []byte("a"), Version: ts})
		if err != nil || resp.GetRegionError() != nil {
			t.Fatalf("stale read on leader: %v %v", resp, err)
		}
	})
	t.Run("cluster id mismatch", func(t *testing.T) {
		rc := rctx(ri, 0)
		rc.ClusterId = c.ClusterID() + 1
		_, err := kv[ri.Leader].RawGet(ctx, &kvrpcpb.RawGetRequest{Context: rc, Key: []byte("a")})
		if status.Code(err) != codes.InvalidArgument {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("api version mismatch", func(t *testing.T) {
		rc := rctx(ri, 0)
		rc.ApiVersion = kvrpcpb.APIVersion_V2
		resp, err := kv[ri.Leader].RawGet(ctx, &kvrpcpb.RawGetRequest{Context: rc, Key: []byte("a")})
		if err != nil || resp.GetError() == "" || resp.GetRegionError() != nil {
			t.Fatalf("got %v %v", resp, err)
		}
		tr, err := kv[ri.Leader].KvGet(ctx, &kvrpcpb.GetRequest{Context: rc, Key: []byte("a")})
		if err != nil || tr.GetError().GetAbort() == "" {
			t.Fatalf("got %v %v", tr, err)
		}
	})
	t.Run("KvGC unimplemented", func(t *testing.T) {
		_, err := kv[ri.Leader].KvGC(ctx, &kvrpcpb.GCRequest{Context: rctx(ri, 0)})
		if status.Code(err) != codes.Unimplemented {
			t.Fatalf("got %v", err)
		}
	})
}

func TestAPIV2KeyMode(t *testing.T) {
	c := start(t, tikvsim.Options{APIVersion: kvrpcpb.APIVersion_V2, Keyspaces: []string{"ks"}})
	kv := kvClients(t, c)
	ctx := tctx(t)
	key := []byte{'r', 0, 0, 1, 'k'}
	ri, err := c.RegionByKey(tikvsim.EncodeKey(key))
	if err != nil {
		t.Fatal(err)
	}
	rc := rctx(ri, 0)
	rc.ApiVersion = kvrpcpb.APIVersion_V2
	put, err := kv[ri.Leader].RawPut(ctx, &kvrpcpb.RawPutRequest{Context: rc, Key: key, Value: []byte("v")})
	if err != nil || put.GetError() != "" || put.GetRegionError() != nil {
		t.Fatalf("V2 RawPut: %v %v", put, err)
	}
	get, err := kv[ri.Leader].RawGet(ctx, &kvrpcpb.RawGetRequest{Context: rc, Key: key})
	if err != nil || string(get.GetValue()) != "v" {
		t.Fatalf("V2 RawGet: %v %v", get, err)
	}
	// A txn-mode key in a raw request fails the key-mode check.
	bad, err := kv[ri.Leader].RawGet(ctx, &kvrpcpb.RawGetRequest{Context: rc, Key: []byte{'x', 0, 0, 1, 'k'}})
	if err != nil || bad.GetError() == "" {
		t.Fatalf("key mode: %v %v", bad, err)
	}
	// A V1 request against V2 storage with a non-TiDB key is a mismatch.
	v1 := rctx(ri, 0)
	tr, err := kv[ri.Leader].KvGet(ctx, &kvrpcpb.GetRequest{Context: v1, Key: []byte("plain")})
	if err != nil || tr.GetError().GetAbort() == "" {
		t.Fatalf("V1 on V2: %v %v", tr, err)
	}
}

// TestStaleReadBlockedByLock: a pending Put lock holds the region's safe ts
// at its start ts, so a stale read above it on a follower gets
// DataIsNotReady, and one at or below it is served.
func TestStaleReadBlockedByLock(t *testing.T) {
	c := start(t, tikvsim.Options{})
	kv := kvClients(t, c)
	ctx := tctx(t)
	ri := c.Regions()[0]
	lockTS := c.CurrentTS()
	pw, err := kv[ri.Leader].KvPrewrite(ctx, &kvrpcpb.PrewriteRequest{Context: rctx(ri, 0), PrimaryLock: []byte("p"), StartVersion: lockTS, LockTtl: 60000,
		Mutations: []*kvrpcpb.Mutation{{Op: kvrpcpb.Op_Put, Key: []byte("p"), Value: []byte("v")}}})
	if err != nil || len(pw.GetErrors()) > 0 {
		t.Fatalf("prewrite: %v %v", pw, err)
	}
	f := follower(t, ri)
	rc := rctx(ri, f)
	rc.StaleRead = true
	resp, err := kv[f].KvGet(ctx, &kvrpcpb.GetRequest{Context: rc, Key: []byte("other"), Version: c.CurrentTS()})
	if err != nil || resp.GetRegionError().GetDataIsNotReady().GetSafeTs() != lockTS {
		t.Fatalf("stale read above a lock: %v %v", resp, err)
	}
	resp, err = kv[f].KvGet(ctx, &kvrpcpb.GetRequest{Context: rc, Key: []byte("other"), Version: lockTS})
	if err != nil || resp.GetRegionError() != nil {
		t.Fatalf("stale read at the lock ts: %v %v", resp, err)
	}
}
