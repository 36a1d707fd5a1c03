package tikvsim_test

import (
	"bytes"
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/pdpb"

	"github.com/tikvgo/tikvgo/tikvsim"
)

func TestScanLockIsLeaderOnly(t *testing.T) {
	c := start(t, tikvsim.Options{})
	ri := c.Regions()[0]
	f := follower(t, ri)
	rc := rctx(ri, f)
	rc.ReplicaRead = true
	resp, err := kvClients(t, c)[f].KvScanLock(tctx(t), &kvrpcpb.ScanLockRequest{Context: rc, MaxVersion: c.CurrentTS()})
	if err != nil || resp.GetRegionError().GetNotLeader() == nil {
		t.Fatalf("ScanLock on follower: %v %v", resp, err)
	}
}

func TestRawSplitKeepsRawBoundary(t *testing.T) {
	c := start(t, tikvsim.Options{})
	ri := c.Regions()[0]
	resp, err := kvClients(t, c)[ri.Leader].SplitRegion(tctx(t), &kvrpcpb.SplitRegionRequest{
		Context: rctx(ri, 0), SplitKeys: [][]byte{[]byte("raw")}, IsRawKv: true,
	})
	if err != nil || resp.GetRegionError() != nil || !bytes.Equal(resp.GetRight().GetStartKey(), []byte("raw")) {
		t.Fatalf("raw split: %v %v", resp, err)
	}
	if resp.GetLeft().GetId() == ri.ID || resp.GetRight().GetId() != ri.ID {
		t.Fatalf("left %d right %d, original %d", resp.GetLeft().GetId(), resp.GetRight().GetId(), ri.ID)
	}
}

func TestPDSplitRegions(t *testing.T) {
	c := start(t, tikvsim.Options{})
	pd := pdClient(t, c, 0)
	resp, err := pd.SplitRegions(tctx(t), &pdpb.SplitRegionsRequest{Header: hdr(c), SplitKeys: [][]byte{
		tikvsim.EncodeKey([]byte("b")), tikvsim.EncodeKey([]byte("c")),
	}})
	if err != nil || resp.GetFinishedPercentage() != 100 || len(resp.GetRegionsId()) != 2 || len(c.Regions()) != 3 {
		t.Fatalf("SplitRegions: %v %v, regions %d", resp, err, len(c.Regions()))
	}
	sc, err := pd.ScatterRegion(tctx(t), &pdpb.ScatterRegionRequest{Header: hdr(c), RegionsId: resp.GetRegionsId()})
	if err != nil || sc.GetFinishedPercentage() != 100 {
		t.Fatalf("ScatterRegion: %v %v", sc, err)
	}
}

func TestUnsafeDestroyRangeNeedsBounds(t *testing.T) {
	c := start(t, tikvsim.Options{})
	kv := kvClients(t, c)[1]
	resp, err := kv.UnsafeDestroyRange(tctx(t), &kvrpcpb.UnsafeDestroyRangeRequest{StartKey: []byte("a")})
	if err != nil || resp.GetError() == "" {
		t.Fatalf("empty end: %v %v", resp, err)
	}
	resp, err = kv.UnsafeDestroyRange(tctx(t), &kvrpcpb.UnsafeDestroyRangeRequest{StartKey: []byte("a"), EndKey: []byte("b")})
	if err != nil || resp.GetError() != "" {
		t.Fatalf("destroy: %v %v", resp, err)
	}
}

func TestStoreSafeTS(t *testing.T) {
	c := start(t, tikvsim.Options{SplitKeys: [][]byte{tikvsim.EncodeKey([]byte("m"))}})
	ri := c.Regions()[0]
	ts := c.CurrentTS()
	if err := c.SetSafeTS(ri.ID, ts-100); err != nil {
		t.Fatal(err)
	}
	resp, err := kvClients(t, c)[ri.Leader].GetStoreSafeTS(tctx(t), &kvrpcpb.StoreSafeTSRequest{KeyRange: &kvrpcpb.KeyRange{}})
	if err != nil || resp.GetSafeTs() != ts-100 {
		t.Fatalf("GetStoreSafeTS = %v %v, want %d", resp, err, ts-100)
	}
}

func TestV1TTLStorage(t *testing.T) {
	c := start(t, tikvsim.Options{APIVersion: kvrpcpb.APIVersion_V1TTL})
	ri := c.Regions()[0]
	kv := kvClients(t, c)[ri.Leader]
	ctx := tctx(t)
	put, err := kv.RawPut(ctx, &kvrpcpb.RawPutRequest{Context: rctx(ri, 0), Key: []byte("k"), Value: []byte("v"), Ttl: 100})
	if err != nil || put.GetError() != "" {
		t.Fatalf("RawPut with TTL: %v %v", put, err)
	}
	ttl, err := kv.RawGetKeyTTL(ctx, &kvrpcpb.RawGetKeyTTLRequest{Context: rctx(ri, 0), Key: []byte("k")})
	if err != nil || ttl.GetError() != "" || ttl.GetTtl() == 0 || ttl.GetTtl() > 100 {
		t.Fatalf("RawGetKeyTTL: %v %v", ttl, err)
	}
	tx, err := kv.KvGet(ctx, &kvrpcpb.GetRequest{Context: rctx(ri, 0), Key: []byte("k"), Version: c.CurrentTS()})
	if err != nil || tx.GetError().GetAbort() == "" {
		t.Fatalf("txn RPC on V1TTL storage: %v %v", tx, err)
	}
}

func TestV1StorageRejectsTTL(t *testing.T) {
	c := start(t, tikvsim.Options{})
	ri := c.Regions()[0]
	kv := kvClients(t, c)[ri.Leader]
	put, err := kv.RawPut(tctx(t), &kvrpcpb.RawPutRequest{Context: rctx(ri, 0), Key: []byte("k"), Value: []byte("v"), Ttl: 100})
	if err != nil || put.GetError() == "" {
		t.Fatalf("RawPut with TTL on V1: %v %v", put, err)
	}
	ttl, err := kv.RawGetKeyTTL(tctx(t), &kvrpcpb.RawGetKeyTTLRequest{Context: rctx(ri, 0), Key: []byte("k")})
	if err != nil || ttl.GetError() == "" {
		t.Fatalf("RawGetKeyTTL on V1: %v %v", ttl, err)
	}
}
