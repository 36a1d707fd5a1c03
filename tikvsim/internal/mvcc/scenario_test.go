package mvcc_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
)

func TestScenario_OptimisticTxn(t *testing.T) {
	e := newEngine(t)
	long := strings.Repeat("v", 300) // goes to the default CF
	mustPrewrite(t, e, "a", 10, putMut("a", "1"), putMut("b", long), delMut("c"))
	// Before commit a reader at a later ts meets the lock.
	if r := get(t, e, "a", 20); r.Error.GetLocked().GetLockVersion() != 10 {
		t.Fatalf("read of locked key: %v", r)
	}
	// A reader below the lock's start ts ignores it.
	mustNotFound(t, e, "a", 9)
	mustCommit(t, e, 10, 15, "a", "b", "c")
	mustGet(t, e, "a", 15, "1")
	mustGet(t, e, "b", 16, long)
	mustNotFound(t, e, "c", 16)
	mustNotFound(t, e, "a", 14)
	// Commit is idempotent.
	mustCommit(t, e, 10, 15, "a", "b")
	// A second txn overwrites and deletes.
	mustPrewrite(t, e, "a", 20, putMut("a", "2"), delMut("b"))
	mustCommit(t, e, 20, 25, "a", "b")
	mustGet(t, e, "a", 25, "2")
	mustGet(t, e, "a", 24, "1")
	mustNotFound(t, e, "b", 30)
	mustGet(t, e, "b", 24, long)
	mustInvariants(t, e)
	if n := e.Keys(); n != 3 {
		t.Fatalf("Keys() = %d, want 3", n)
	}
}

func TestScenario_ScanAndBatchGet(t *testing.T) {
	e := newEngine(t)
	for i, k := range []string{"a", "b", "c", "d", "e"} {
		mustPut(t, e, k, "v"+k, uint64(10+2*i), uint64(11+2*i))
	}
	mustPrewrite(t, e, "c", 30, putMut("c", "new"))
	scan := func(req *kvrpcpb.ScanRequest) string {
		t.Helper()
		var sb strings.Builder
		for _, p := range e.KvScan(t.Context(), req).Pairs {
			if p.Error != nil {
				sb.WriteString("!" + string(p.Error.Locked.Key) + " ")
				continue
			}
			sb.WriteString(string(p.Key) + "=" + string(p.Value) + " ")
		}
		return sb.String()
	}
	tests := []struct {
		name string
		req  *kvrpcpb.ScanRequest
		want string
	}{
		{"forward", &kvrpcpb.ScanRequest{StartKey: []byte("a"), Limit: 10, Version: 40}, "a=va b=vb !c d=vd e=ve "},
		{"forward bounded", &kvrpcpb.ScanRequest{StartKey: []byte("b"), EndKey: []byte("d"), Limit: 10, Version: 40}, "b=vb !c "},
		{"limit counts errors", &kvrpcpb.ScanRequest{StartKey: []byte("b"), Limit: 2, Version: 40}, "b=vb !c "},
		{"below lock", &kvrpcpb.ScanRequest{StartKey: []byte("a"), Limit: 10, Version: 29}, "a=va b=vb c=vc d=vd e=ve "},
		{"old snapshot", &kvrpcpb.ScanRequest{StartKey: []byte("a"), Limit: 10, Version: 13}, "a=va b=vb "},
		{"key only", &kvrpcpb.ScanRequest{StartKey: []byte("d"), Limit: 10, Version: 40, KeyOnly: true}, "d= e= "},
		{"reverse", &kvrpcpb.ScanRequest{StartKey: []byte("e"), EndKey: []byte("a"), Limit: 10, Version: 29, Reverse: true}, "d=vd c=vc b=vb a=va "},
		{"reverse empty start", &kvrpcpb.ScanRequest{EndKey: []byte("a"), Limit: 10, Version: 29, Reverse: true}, ""},
		{"reverse limit", &kvrpcpb.ScanRequest{StartKey: []byte("z"), Limit: 2, Version: 29, Reverse: true}, "e=ve d=vd "},
		{"limit zero", &kvrpcpb.ScanRequest{StartKey: []byte("a"), Version: 29}, ""},
		{"sample step", &kvrpcpb.ScanRequest{StartKey: []byte("a"), Limit: 10, Version: 29, SampleStep: 2}, "a=va c=vc e=ve "},
		{"resolved lock", &kvrpcpb.ScanRequest{Context: &kvrpcpb.Context{ResolvedLocks: []uint64{30}}, StartKey: []byte("c"), EndKey: []byte("d"), Limit: 10, Version: 40}, "c=vc "},
		{"committed lock", &kvrpcpb.ScanRequest{Context: &kvrpcpb.Context{CommittedLocks: []uint64{30}}, StartKey: []byte("c"), EndKey: []byte("d"), Limit: 10, Version: 40}, "c=new "},
		{"read committed", &kvrpcpb.ScanRequest{Context: &kvrpcpb.Context{IsolationLevel: kvrpcpb.IsolationLevel_RC}, StartKey: []byte("c"), EndKey: []byte("d"), Limit: 10, Version: 40}, "c=vc "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := scan(tt.req); got != tt.want {
				t.Fatalf("scan = %q, want %q", got, tt.want)
			}
		})
	}
	bg := e.KvBatchGet(t.Context(), &kvrpcpb.BatchGetRequest{Keys: bkeys("e", "zz", "c", "a"), Version: 40, NeedCommitTs: true})
	if len(bg.Pairs) != 3 || string(bg.Pairs[0].Key) != "e" || bg.Pairs[0].CommitTs != 19 ||
		bg.Pairs[1].Error.GetLocked() == nil || string(bg.Pairs[2].Value) != "va" {
		t.Fatalf("batch get = %v", bg.Pairs)
	}
}

func TestScenario_AsyncCommitResolvedBySecondaries(t *testing.T) {
	e := newEngine(t)
	e.UpdateMaxTS(50)
	r := e.KvPrewrite(t.Context(), &kvrpcpb.PrewriteRequest{
		Mutations:   []*kvrpcpb.Mutation{putMut("p", "1"), putMut("s1", "2"), putMut("s2", "3")},
		PrimaryLock: []byte("p"), StartVersion: 40, LockTtl: 10, UseAsyncCommit: true,
		Secondaries: bkeys("s1", "s2"),
	})
	if len(r.Errors) > 0 || r.MinCommitTs != 51 {
		t.Fatalf("async prewrite: %v, min_commit_ts %d (want 51)", r.Errors, r.MinCommitTs)
	}
	// A reader at 45 < min_commit_ts ignores the locks even at the primary.
	mustNotFound(t, e, "p", 45)
	// The client died; a resolver looks at the primary. Async locks are not rolled back.
	cs := e.KvCheckTxnStatus(t.Context(), &kvrpcpb.CheckTxnStatusRequest{
		PrimaryKey: []byte("p"), LockTs: 40, CallerStartTs: 100, CurrentTs: ts(1<<20, 0), VerifyIsPrimary: true,
	})
	if cs.LockTtl == 0 || cs.Action != kvrpcpb.Action_NoAction || len(cs.LockInfo.GetSecondaries()) != 2 {
		t.Fatalf("check txn status of async primary: %v", cs)
	}
	sec := e.KvCheckSecondaryLocks(t.Context(), &kvrpcpb.CheckSecondaryLocksRequest{Keys: bkeys("s1", "s2"), StartVersion: 40})
	if sec.Error != nil || len(sec.Locks) != 2 || sec.CommitTs != 0 {
		t.Fatalf("check secondaries: %v", sec)
	}
	commitTS := uint64(0)
	for _, l := range append(sec.Locks, cs.LockInfo) {
		commitTS = max(commitTS, l.MinCommitTs)
	}
	rl := e.KvResolveLock(t.Context(), &kvrpcpb.ResolveLockRequest{StartVersion: 40, CommitVersion: commitTS})
	if rl.Error != nil {
		t.Fatal(rl.Error)
	}
	mustGet(t, e, "s2", commitTS, "3")
	mustGet(t, e, "p", commitTS, "1")
	// A second async txn whose secondary never got prewritten is rolled back.
	r = e.KvPrewrite(t.Context(), &kvrpcpb.PrewriteRequest{
		Mutations: []*kvrpcpb.Mutation{putMut("p", "x")}, PrimaryLock: []byte("p"), StartVersion: 200,
		LockTtl: 10, UseAsyncCommit: true, Secondaries: bkeys("s3"),
	})
	if len(r.Errors) > 0 {
		t.Fatal(r.Errors)
	}
	sec = e.KvCheckSecondaryLocks(t.Context(), &kvrpcpb.CheckSecondaryLocksRequest{Keys: bkeys("s3"), StartVersion: 200})
	if len(sec.Locks) != 0 || sec.CommitTs != 0 {
		t.Fatalf("missing secondary: %v", sec)
	}
	// The protected rollback now blocks the late prewrite of s3.
	late := e.KvPrewrite(t.Context(), &kvrpcpb.PrewriteRequest{
		Mutations: []*kvrpcpb.Mutation{putMut("s3", "x")}, PrimaryLock: []byte("p"), StartVersion: 200, LockTtl: 10, UseAsyncCommit: true,
	})
	if len(late.Errors) != 1 || late.Errors[0].GetConflict().GetReason() != kvrpcpb.WriteConflict_SelfRolledBack {
		t.Fatalf("late prewrite: %v", late.Errors)
	}
	mustInvariants(t, e)
}

func TestScenario_OnePC(t *testing.T) {
	e := newEngine(t)
	e.UpdateMaxTS(70)
	long := bytes.Repeat([]byte("x"), 400)
	r := e.KvPrewrite(t.Context(), &kvrpcpb.PrewriteRequest{
		Mutations:   []*kvrpcpb.Mutation{putMut("a", "1"), {Op: kvrpcpb.Op_Put, Key: []byte("b"), Value: long}},
		PrimaryLock: []byte("a"), StartVersion: 60, LockTtl: 10, TryOnePc: true,
	})
	if len(r.Errors) > 0 || r.OnePcCommitTs != 71 || r.MinCommitTs != 0 {
		t.Fatalf("1pc: %v one_pc_commit_ts=%d min_commit_ts=%d", r.Errors, r.OnePcCommitTs, r.MinCommitTs)
	}
	mustGet(t, e, "a", 71, "1")
	mustGet(t, e, "b", 80, string(long))
	mustNotFound(t, e, "a", 70)
	if sl := e.KvScanLock(t.Context(), &kvrpcpb.ScanLockRequest{MaxVersion: 1000}); len(sl.Locks) != 0 {
		t.Fatalf("1pc left locks: %v", sl.Locks)
	}
	// max_commit_ts below the computed commit ts falls back to 2PC.
	r = e.KvPrewrite(t.Context(), &kvrpcpb.PrewriteRequest{
		Mutations: []*kvrpcpb.Mutation{putMut("c", "1")}, PrimaryLock: []byte("c"), StartVersion: 90,
		LockTtl: 10, TryOnePc: true, MaxCommitTs: 80,
	})
	if len(r.Errors) > 0 || r.OnePcCommitTs != 0 || r.MinCommitTs != 0 {
		t.Fatalf("fallback: %v %d %d", r.Errors, r.OnePcCommitTs, r.MinCommitTs)
	}
	if sl := e.KvScanLock(t.Context(), &kvrpcpb.ScanLockRequest{MaxVersion: 1000}); len(sl.Locks) != 1 || sl.Locks[0].UseAsyncCommit {
		t.Fatalf("fallback locks: %v", sl.Locks)
	}
	// A failed 1PC writes nothing.
	r = e.KvPrewrite(t.Context(), &kvrpcpb.PrewriteRequest{
		Mutations: []*kvrpcpb.Mutation{putMut("d", "1"), putMut("c", "2")}, PrimaryLock: []byte("d"), StartVersion: 95,
		LockTtl: 10, TryOnePc: true,
	})
	if len(r.Errors) != 1 || r.Errors[0].Locked == nil || r.OnePcCommitTs != 0 {
		t.Fatalf("blocked 1pc: %v", r)
	}
	mustNotFound(t, e, "d", 1000)
	mustInvariants(t, e)
}

func TestScenario_PipelinedFlushAndCommit(t *testing.T) {
	e := newEngine(t)
	mustPut(t, e, "k2", "old", 5, 6)
	flush := func(gen uint64, muts ...*kvrpcpb.Mutation) *kvrpcpb.FlushResponse {
		return e.KvFlush(t.Context(), &kvrpcpb.FlushRequest{
			Mutations: muts, PrimaryKey: []byte("k1"), StartTs: 10, Generation: gen, LockTtl: 100,
		})
	}
	if r := flush(1, putMut("k1", "a"), putMut("k2", "b")); len(r.Errors) > 0 {
		t.Fatal(r.Errors)
	}
	// A newer generation overwrites, an older one is ignored.
	if r := flush(2, putMut("k2", "c"), delMut("k3")); len(r.Errors) > 0 {
		t.Fatal(r.Errors)
	}
	if r := flush(1, putMut("k2", "stale")); len(r.Errors) > 0 {
		t.Fatal(r.Errors)
	}
	bb := e.KvBufferBatchGet(t.Context(), &kvrpcpb.BufferBatchGetRequest{Keys: bkeys("k3", "k2", "k1", "k2", "zz"), Version: 10})
	var got []string
	for _, p := range bb.Pairs {
		got = append(got, string(p.Key)+"="+string(p.Value))
	}
	if strings.Join(got, ",") != "k1=a,k2=c,k3=" {
		t.Fatalf("buffer batch get = %v", got)
	}
	// Insert over this txn's own flushed Put is AlreadyExist.
	if r := flush(3, &kvrpcpb.Mutation{Op: kvrpcpb.Op_Insert, Key: []byte("k1"), Value: []byte("z")}); len(r.Errors) != 1 || r.Errors[0].AlreadyExist == nil {
		t.Fatalf("insert over flushed put: %v", r.Errors)
	}
	// Another txn's lock is reported, but the other keys are written.
	mustPrewrite(t, e, "x", 11, putMut("x", "1"))
	if r := flush(4, putMut("x", "2"), putMut("k4", "d")); len(r.Errors) != 1 || r.Errors[0].Locked == nil {
		t.Fatalf("flush over foreign lock: %v", r.Errors)
	}
	// The primary lock is pipelined: heart beat can raise its min_commit_ts.
	hb := e.KvTxnHeartBeat(t.Context(), &kvrpcpb.TxnHeartBeatRequest{PrimaryLock: []byte("k1"), StartVersion: 10, AdviseLockTtl: 500, MinCommitTs: 30})
	if hb.Error != nil || hb.LockTtl != 500 {
		t.Fatalf("heart beat: %v", hb)
	}
	if c := e.KvCommit(t.Context(), &kvrpcpb.CommitRequest{StartVersion: 10, CommitVersion: 20, Keys: bkeys("k1")}); c.Error.GetCommitTsExpired() == nil {
		t.Fatalf("commit below pushed min_commit_ts: %v", c)
	}
	mustCommit(t, e, 10, 31, "k1", "k2", "k3", "k4")
	mustGet(t, e, "k2", 31, "c")
	mustNotFound(t, e, "k3", 31)
	mustGet(t, e, "k4", 31, "d")
	mustInvariants(t, e)
}

func TestScenario_GC(t *testing.T) {
	e := newEngine(t)
	long := strings.Repeat("L", 500)
	mustPut(t, e, "a", long, 10, 11)
	mustPut(t, e, "a", "2", 20, 21)
	mustPrewrite(t, e, "a", 30, &kvrpcpb.Mutation{Op: kvrpcpb.Op_Lock, Key: []byte("a")})
	mustCommit(t, e, 30, 31, "a")
	mustPut(t, e, "a", "4", 40, 41)
	mustPut(t, e, "b", "1", 10, 11)
	mustPrewrite(t, e, "b", 20, delMut("b"))
	mustCommit(t, e, 20, 21, "b")
	mustPrewrite(t, e, "c", 50, putMut("c", "locked"))

	e.GC(35)
	mustGet(t, e, "a", 41, "4")
	mustGet(t, e, "a", 35, "2")  // the Put below the safe point survives
	mustNotFound(t, e, "a", 15)  // older versions are gone
	mustNotFound(t, e, "b", 100) // Delete and everything older dropped
	if n := e.Keys(); n != 2 {
		t.Fatalf("Keys() after GC = %d, want 2 (b is gone)", n)
	}
	if sl := e.KvScanLock(t.Context(), &kvrpcpb.ScanLockRequest{MaxVersion: 100}); len(sl.Locks) != 1 {
		t.Fatalf("GC touched locks: %v", sl.Locks)
	}
	mustInvariants(t, e)
}

// TestScenario_PipelinedFlushConflictAndRollback checks the parts of
// TiKV's Flush that abort the whole request (a newer commit: nothing of the
// request is written) and that a flush landing after the transaction was
// rolled back by ResolveLock meets its protected rollback record.
func TestScenario_PipelinedFlushConflictAndRollback(t *testing.T) {
	e := newEngine(t)
	mustPut(t, e, "b", "newer", 15, 16)
	flush := func(gen uint64, muts ...*kvrpcpb.Mutation) *kvrpcpb.FlushResponse {
		return e.KvFlush(t.Context(), &kvrpcpb.FlushRequest{
			Mutations: muts, PrimaryKey: []byte("a"), StartTs: 10, Generation: gen, LockTtl: 100,
		})
	}
	if r := flush(1, putMut("a", "1"), putMut("b", "2"), putMut("c", "3")); len(r.Errors) != 1 || r.Errors[0].Conflict == nil {
		t.Fatalf("flush over a newer commit: %v", r.Errors)
	}
	if sl := e.KvScanLock(t.Context(), &kvrpcpb.ScanLockRequest{MaxVersion: 100}); len(sl.Locks) != 0 {
		t.Fatalf("a conflicting flush wrote locks: %v", sl.Locks)
	}
	if r := flush(2, putMut("a", "1"), putMut("c", "3")); len(r.Errors) > 0 {
		t.Fatal(r.Errors)
	}
	if r := e.KvResolveLock(t.Context(), &kvrpcpb.ResolveLockRequest{StartVersion: 10}); r.Error != nil {
		t.Fatal(r.Error)
	}
	if sl := e.KvScanLock(t.Context(), &kvrpcpb.ScanLockRequest{MaxVersion: 100}); len(sl.Locks) != 0 {
		t.Fatalf("locks left after a region-wide rollback: %v", sl.Locks)
	}
	// A late resend of generation 2 (or a newer flush) finds the rollback.
	if r := flush(3, putMut("c", "late")); len(r.Errors) != 1 || r.Errors[0].Conflict == nil {
		t.Fatalf("flush after rollback: %v", r.Errors)
	}
	mustNotFound(t, e, "a", 100)
	mustNotFound(t, e, "c", 100)
	mustInvariants(t, e)
}
