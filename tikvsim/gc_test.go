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
