package tikvsim_test

import (
	"strings"
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/tikvsim"
)

// TestTxnAcrossRegions commits a transaction whose keys live in two regions
// through each region's leader, then reads and scans it back.
func TestTxnAcrossRegions(t *testing.T) {
	c := start(t, tikvsim.Options{SplitKeys: [][]byte{tikvsim.EncodeKey([]byte("m"))}})
	kv := kvClients(t, c)
	ctx := tctx(t)
	left, right := regionFor(t, c, []byte("a")), regionFor(t, c, []byte("x"))
	if left.ID == right.ID {
		t.Fatal("keys in one region")
	}
	startTS := c.CurrentTS()
	for _, m := range []struct {
		ri  tikvsim.RegionInfo
		key string
	}{{left, "a"}, {left, "b"}, {right, "x"}} {
		resp, err := kv[m.ri.Leader].KvPrewrite(ctx, &kvrpcpb.PrewriteRequest{
			Context:      rctx(m.ri, 0),
			Mutations:    []*kvrpcpb.Mutation{{Op: kvrpcpb.Op_Put, Key: []byte(m.key), Value: []byte("v" + m.key)}},
			PrimaryLock:  []byte("a"),
			StartVersion: startTS,
			LockTtl:      3000,
		})
		if err != nil || resp.GetRegionError() != nil || len(resp.GetErrors()) > 0 {
			t.Fatalf("prewrite %s: %v %v", m.key, resp, err)
		}
	}
	commitTS := c.CurrentTS()
	for _, g := range []struct {
		ri   tikvsim.RegionInfo
		keys []string
	}{{left, []string{"a", "b"}}, {right, []string{"x"}}} {
		var keys [][]byte
		for _, k := range g.keys {
			keys = append(keys, []byte(k))
		}
		resp, err := kv[g.ri.Leader].KvCommit(ctx, &kvrpcpb.CommitRequest{Context: rctx(g.ri, 0), Keys: keys, StartVersion: startTS, CommitVersion: commitTS})
		if err != nil || resp.GetRegionError() != nil || resp.GetError() != nil {
			t.Fatalf("commit %v: %v %v", g.keys, resp, err)
		}
	}
	readTS := c.CurrentTS()
	got, err := kv[right.Leader].KvGet(ctx, &kvrpcpb.GetRequest{Context: rctx(right, 0), Key: []byte("x"), Version: readTS})
	if err != nil || string(got.GetValue()) != "vx" {
		t.Fatalf("get x: %v %v", got, err)
	}
	// A scan with no end stops at the region end.
	scan, err := kv[left.Leader].KvScan(ctx, &kvrpcpb.ScanRequest{Context: rctx(left, 0), StartKey: []byte("a"), Limit: 10, Version: readTS})
	if err != nil || scan.GetRegionError() != nil || len(scan.GetPairs()) != 2 {
		t.Fatalf("scan left: %v %v", scan, err)
	}
	// A reverse scan with no end starts from the region start.
	rev, err := kv[left.Leader].KvScan(ctx, &kvrpcpb.ScanRequest{Context: rctx(left, 0), StartKey: []byte("c"), Limit: 10, Version: readTS, Reverse: true})
	if err != nil || len(rev.GetPairs()) != 2 || string(rev.GetPairs()[0].GetKey()) != "b" {
		t.Fatalf("reverse scan left: %v %v", rev, err)
	}
	// A bound beyond the region is refused.
	over, err := kv[left.Leader].KvScan(ctx, &kvrpcpb.ScanRequest{Context: rctx(left, 0), StartKey: []byte("a"), EndKey: []byte("z"), Limit: 10, Version: readTS})
	if err != nil || !strings.Contains(over.GetError().GetAbort(), "exceeds bound") {
		t.Fatalf("scan over bound: %v %v", over, err)
	}
}

// TestRawScanClamped checks that raw scans never leave the region and that
// raw delete-range must stay inside it.
func TestRawScanClamped(t *testing.T) {
	c := start(t, tikvsim.Options{SplitKeys: [][]byte{[]byte("m")}})
	kv := kvClients(t, c)
	ctx := tctx(t)
	for _, k := range []string{"a", "b", "n", "o"} {
		rawPut(t, c, kv, k, "v")
	}
	left := rawRegionFor(t, c, []byte("a"))
	scan, err := kv[left.Leader].RawScan(ctx, &kvrpcpb.RawScanRequest{Context: rctx(left, 0), StartKey: []byte("a"), EndKey: []byte("z"), Limit: 10})
	if err != nil || len(scan.GetKvs()) != 2 {
		t.Fatalf("raw scan: %v %v", scan, err)
	}
	right := rawRegionFor(t, c, []byte("n"))
	rev, err := kv[right.Leader].RawScan(ctx, &kvrpcpb.RawScanRequest{Context: rctx(right, 0), StartKey: []byte("z"), Limit: 10, Reverse: true})
	if err != nil || len(rev.GetKvs()) != 2 || string(rev.GetKvs()[0].GetKey()) != "o" {
		t.Fatalf("reverse raw scan: %v %v", rev, err)
	}
	batch, err := kv[left.Leader].RawBatchScan(ctx, &kvrpcpb.RawBatchScanRequest{Context: rctx(left, 0), EachLimit: 10,
		Ranges: []*kvrpcpb.KeyRange{{StartKey: []byte("a"), EndKey: []byte("b")}, {StartKey: []byte("b")}}})
	if err != nil || len(batch.GetKvs()) != 2 {
		t.Fatalf("raw batch scan: %v %v", batch, err)
	}
	dr, err := kv[left.Leader].RawDeleteRange(ctx, &kvrpcpb.RawDeleteRangeRequest{Context: rctx(left, 0), StartKey: []byte("a"), EndKey: []byte("z")})
	if err != nil || dr.GetRegionError().GetKeyNotInRegion() == nil {
		t.Fatalf("raw delete range over bound: %v %v", dr, err)
	}
	dr, err = kv[left.Leader].RawDeleteRange(ctx, &kvrpcpb.RawDeleteRangeRequest{Context: rctx(left, 0), StartKey: []byte("a"), EndKey: []byte("m")})
	if err != nil || dr.GetRegionError() != nil || dr.GetError() != "" {
		t.Fatalf("raw delete range: %v %v", dr, err)
	}
}

// TestResolveLockStaysInRegion resolves a transaction whose locks span two
// regions through one region: only that region's lock is resolved.
func TestResolveLockStaysInRegion(t *testing.T) {
	c := start(t, tikvsim.Options{SplitKeys: [][]byte{tikvsim.EncodeKey([]byte("m"))}})
	kv := kvClients(t, c)
	ctx := tctx(t)
	left, right := regionFor(t, c, []byte("a")), regionFor(t, c, []byte("x"))
	startTS := c.CurrentTS()
	for _, m := range []struct {
		ri  tikvsim.RegionInfo
		key string
	}{{left, "a"}, {right, "x"}} {
		resp, err := kv[m.ri.Leader].KvPrewrite(ctx, &kvrpcpb.PrewriteRequest{
			Context: rctx(m.ri, 0), PrimaryLock: []byte("a"), StartVersion: startTS, LockTtl: 3000,
			Mutations: []*kvrpcpb.Mutation{{Op: kvrpcpb.Op_Put, Key: []byte(m.key), Value: []byte("v")}},
		})
		if err != nil || len(resp.GetErrors()) > 0 || resp.GetRegionError() != nil {
			t.Fatalf("prewrite %s: %v %v", m.key, resp, err)
		}
	}
	res, err := kv[left.Leader].KvResolveLock(ctx, &kvrpcpb.ResolveLockRequest{Context: rctx(left, 0), StartVersion: startTS})
	if err != nil || res.GetError() != nil || res.GetRegionError() != nil {
		t.Fatalf("resolve: %v %v", res, err)
	}
	maxTS := c.CurrentTS()
	for _, g := range []struct {
		ri    tikvsim.RegionInfo
		locks int
	}{{left, 0}, {right, 1}} {
		sl, err := kv[g.ri.Leader].KvScanLock(ctx, &kvrpcpb.ScanLockRequest{Context: rctx(g.ri, 0), MaxVersion: maxTS})
		if err != nil || len(sl.GetLocks()) != g.locks {
			t.Fatalf("region %d: %d locks, want %d (%v)", g.ri.ID, len(sl.GetLocks()), g.locks, err)
		}
	}
}

// TestMaxExecutionDuration: a lock wait that outlives the request's
// max_execution_duration_ms is answered with ServerIsBusy.
func TestMaxExecutionDuration(t *testing.T) {
	c := start(t, tikvsim.Options{})
	ri := c.Regions()[0]
	kv := kvClients(t, c)[ri.Leader]
	ctx := tctx(t)
	lock := func(startTS uint64, rc *kvrpcpb.Context, wait int64) *kvrpcpb.PessimisticLockResponse {
		t.Helper()
		resp, err := kv.KvPessimisticLock(ctx, &kvrpcpb.PessimisticLockRequest{
			Context: rc, PrimaryLock: []byte("k"), StartVersion: startTS, ForUpdateTs: startTS, LockTtl: 60000, WaitTimeout: wait,
			Mutations: []*kvrpcpb.Mutation{{Op: kvrpcpb.Op_PessimisticLock, Key: []byte("k")}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if r := lock(c.CurrentTS(), rctx(ri, 0), 0); r.GetRegionError() != nil || len(r.GetErrors()) > 0 {
		t.Fatalf("first lock: %v", r)
	}
	rc := rctx(ri, 0)
	rc.MaxExecutionDurationMs = 30
	r := lock(c.CurrentTS(), rc, 20000)
	if r.GetRegionError().GetServerIsBusy().GetReason() != "deadline is exceeded" {
		t.Fatalf("waiting lock past the deadline: %v", r)
	}
}
