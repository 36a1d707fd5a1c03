package tikvsim_test

import (
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/tikvsim"
)

// TestSharedLocksOverGRPC takes shared pessimistic locks from two txns on one
// key through the TiKV service, sees an exclusive request refused with the
// holders listed, and commits one holder with a SharedLock prewrite.
func TestSharedLocksOverGRPC(t *testing.T) {
	c := start(t, tikvsim.Options{})
	ri := regionFor(t, c, []byte("k"))
	kv := kvClients(t, c)[ri.Leader]
	ctx := tctx(t)
	lock := func(start uint64, op kvrpcpb.Op) *kvrpcpb.PessimisticLockResponse {
		t.Helper()
		resp, err := kv.KvPessimisticLock(ctx, &kvrpcpb.PessimisticLockRequest{
			Context:   rctx(ri, 0),
			Mutations: []*kvrpcpb.Mutation{{Op: op, Key: []byte("k")}}, PrimaryLock: []byte("k"),
			StartVersion: start, ForUpdateTs: start, LockTtl: 3000, WaitTimeout: -1,
		})
		if err != nil || resp.GetRegionError() != nil {
			t.Fatalf("pessimistic lock: %v %v", resp, err)
		}
		return resp
	}
	t1, t2, t3 := c.CurrentTS(), c.CurrentTS(), c.CurrentTS()
	for _, ts := range []uint64{t1, t2} {
		if resp := lock(ts, kvrpcpb.Op_SharedPessimisticLock); len(resp.GetErrors()) > 0 {
			t.Fatalf("shared lock at %d: %v", ts, resp.GetErrors())
		}
	}
	resp := lock(t3, kvrpcpb.Op_PessimisticLock)
	if li := resp.GetErrors()[0].GetLocked(); li.GetLockType() != kvrpcpb.Op_SharedLock || len(li.GetSharedLockInfos()) != 2 {
		t.Fatalf("exclusive lock over shared holders: %v", resp.GetErrors())
	}
	pw, err := kv.KvPrewrite(ctx, &kvrpcpb.PrewriteRequest{
		Context:   rctx(ri, 0),
		Mutations: []*kvrpcpb.Mutation{{Op: kvrpcpb.Op_SharedLock, Key: []byte("k")}}, PrimaryLock: []byte("k"),
		StartVersion: t1, ForUpdateTs: t1, LockTtl: 3000,
		PessimisticActions: []kvrpcpb.PrewriteRequest_PessimisticAction{kvrpcpb.PrewriteRequest_DO_PESSIMISTIC_CHECK},
	})
	if err != nil || pw.GetRegionError() != nil || len(pw.GetErrors()) > 0 {
		t.Fatalf("shared prewrite: %v %v", pw, err)
	}
	cm, err := kv.KvCommit(ctx, &kvrpcpb.CommitRequest{Context: rctx(ri, 0), Keys: [][]byte{[]byte("k")}, StartVersion: t1, CommitVersion: c.CurrentTS()})
	if err != nil || cm.GetRegionError() != nil || cm.GetError() != nil {
		t.Fatalf("commit: %v %v", cm, err)
	}
	scan, err := kv.KvScanLock(ctx, &kvrpcpb.ScanLockRequest{Context: rctx(ri, 0), MaxVersion: c.CurrentTS()})
	if err != nil || len(scan.GetLocks()) != 1 || len(scan.GetLocks()[0].GetSharedLockInfos()) != 1 ||
		scan.GetLocks()[0].GetSharedLockInfos()[0].GetLockVersion() != t2 {
		t.Fatalf("scan lock after the commit: %v %v", scan, err)
	}
}
